"""Document loaders by file extension. ``load(path_name, data)`` -> ParsedDocument."""

from __future__ import annotations

from ..errors import LoaderError
from .base import Block, ParsedDocument
from .limits import DEFAULT_LIMITS, LoadLimits, check_sizes, check_text, longest_line

SUPPORTED_SUFFIXES = (".md", ".markdown", ".html", ".htm", ".docx", ".pdf", ".txt")


def load(name: str, data: bytes, limits: LoadLimits | None = None) -> ParsedDocument:
    """Parse one file's bytes; raises LoaderError with a German reason (also for files over a limit)."""
    limits = limits or DEFAULT_LIMITS
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if not data.strip():
        raise LoaderError(name, "Die Datei ist leer.")
    if suffix in (".md", ".markdown"):
        from .markdown import parse_markdown
        from .text import decode_bytes

        text = decode_bytes(data, name)
        check_text(text, name, limits)  # before parsing: over-long lines are what makes it slow
        doc = parse_markdown(text, name)
    elif suffix in (".html", ".htm"):
        from .html import parse_html
        from .text import decode_bytes

        text = decode_bytes(data, name)
        if len(text) > 4 * limits.max_chars:  # markup included; the extracted text is checked below
            check_text(text, name, limits)
        doc = parse_html(text, name)
    elif suffix == ".docx":
        from .docx import parse_docx

        doc = parse_docx(data, name, limits)
    elif suffix == ".pdf":
        from .pdf import parse_pdf

        if not data.startswith(b"%PDF"):
            raise LoaderError(name, "Die Datei ist kein gültiges PDF (Kopfzeile fehlt).")
        doc = parse_pdf(data, name, limits)
    elif suffix == ".txt":
        from .text import decode_bytes, parse_text

        text = decode_bytes(data, name)
        check_text(text, name, limits)
        doc = parse_text(text, name)
    else:
        raise LoaderError(name, f"Dateityp {suffix or '(ohne Endung)'} wird nicht unterstützt.")
    check_blocks(doc, name, limits)
    return doc


def check_blocks(doc: ParsedDocument, name: str, limits: LoadLimits) -> None:
    """The same bounds on the extracted text, whatever the format (HTML, DOCX, PDF)."""
    check_sizes(name, limits, chars=sum(len(b.text) for b in doc.blocks),
                longest=max((longest_line(b.text) for b in doc.blocks), default=0))


__all__ = ["Block", "ParsedDocument", "LoaderError", "SUPPORTED_SUFFIXES", "LoadLimits", "DEFAULT_LIMITS", "load"]
