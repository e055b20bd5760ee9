"""Document loaders by file extension. ``load(path_name, data)`` -> ParsedDocument."""

from __future__ import annotations

from ..errors import LoaderError
from .base import Block, ParsedDocument

SUPPORTED_SUFFIXES = (".md", ".markdown", ".html", ".htm", ".docx", ".pdf", ".txt")


def load(name: str, data: bytes) -> ParsedDocument:
    """Parse one file's bytes; raises LoaderError with a German reason."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if not data.strip():
        raise LoaderError(name, "Die Datei ist leer.")
    if suffix in (".md", ".markdown"):
        from .markdown import parse_markdown
        from .text import decode_bytes

        return parse_markdown(decode_bytes(data, name), name)
    if suffix in (".html", ".htm"):
        from .html import parse_html
        from .text import decode_bytes

        return parse_html(decode_bytes(data, name), name)
    if suffix == ".docx":
        from .docx import parse_docx

        return parse_docx(data, name)
    if suffix == ".pdf":
        from .pdf import parse_pdf

        if not data.startswith(b"%PDF"):
            raise LoaderError(name, "Die Datei ist kein gültiges PDF (Kopfzeile fehlt).")
        return parse_pdf(data, name)
    if suffix == ".txt":
        from .text import decode_bytes, parse_text

        return parse_text(decode_bytes(data, name), name)
    raise LoaderError(name, f"Dateityp {suffix or '(ohne Endung)'} wird nicht unterstützt.")


__all__ = ["Block", "ParsedDocument", "LoaderError", "SUPPORTED_SUFFIXES", "load"]
