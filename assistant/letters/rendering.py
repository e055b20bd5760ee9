"""Rendering letters: the template filled with a version's values as DOCX (docxtpl), as HTML preview,
the paragraphs that differ between two edits, and PDF via LibreOffice when installed. Part of
:class:`~assistant.letters.workflow.LetterService` (a mixin)."""

from __future__ import annotations

import io
import logging
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ..identity import Principal
from .errors import (
    FeatureUnavailable,
    LetterError,
    LetterNotFound,
)
from .labels import field_label
from .models import Letter, LetterVersion
from .prefill import with_case_defaults
from .templates import LetterTemplate
from .versions import DICT_TYPES

log = logging.getLogger(__name__)

#: what an empty required field prints in a draft or preview (submit refuses the letter while one is left)
PLACEHOLDER = "[bitte ergänzen: {}]"


def placeholder(field: str) -> str:
    """``zustaendiger_traeger.name`` -> "[bitte ergänzen: Zuständiger Träger: Name]"."""
    return PLACEHOLDER.format(field_label(field))


class LetterRendering:
    """DOCX, preview, comparison and PDF of a letter (part of ``LetterService``)."""

    def _render(self, tpl: LetterTemplate, values: dict[str, Any]) -> bytes:
        import jinja2
        from docxtpl import DocxTemplate

        context = self._context(tpl, values)
        try:
            doc = DocxTemplate(str(tpl.docx_path))
            doc.render(context, jinja_env=jinja2.Environment(), autoescape=True)
            buf = io.BytesIO()
            doc.save(buf)
        except Exception as exc:  # noqa: BLE001 - template errors become a German message
            log.error("rendering template %s failed: %s", tpl.name, type(exc).__name__)
            raise LetterError(f"Das Word-Dokument aus der Vorlage „{tpl.title}“ konnte nicht erstellt werden "
                              f"({type(exc).__name__}). Bitte die Vorlage prüfen lassen.") from exc
        return buf.getvalue()

    def _context(self, tpl: LetterTemplate, values: dict[str, Any]) -> dict[str, Any]:
        """The values as the template sees them. A required field (or required part) still empty prints as
        :data:`PLACEHOLDER` ("[bitte ergänzen: Frist]"), never as a broken sentence ("Schreiben vom ");
        submit refuses the letter while one is empty (the same fields, :meth:`_missing`)."""
        context = {f.name: values.get(f.name, [] if f.type in ("list", "reasons")
                                      else ({} if f.type in DICT_TYPES else ""))
                   for f in tpl.fields}
        if isinstance(context.get("akte"), dict):
            context["akte"] = with_case_defaults(context["akte"])
        for name in self._missing(tpl, values):
            head, _, key = name.partition(".")
            spec = tpl.field(head)
            if spec is None:
                continue
            if key:
                context[head] = {**(context.get(head) or {}), key: placeholder(name)}
            elif spec.type == "list":
                context[head] = [placeholder(name)]
            else:
                context[head] = placeholder(name)
        for spec in tpl.fields:  # a Bescheid without any reason (§ 35 SGB X, refused at submit)
            if (spec.type == "reasons" and spec.required and not context.get(spec.name)
                    and not str(values.get("begruendung") or "").strip()):
                context[spec.name] = [{"text": PLACEHOLDER.format("Begründung (Gründe aus dem Katalog wählen und "
                                                                  "die Tatsachen des Einzelfalls ausfüllen)")}]
        return context

    def render_docx(self, letter: str | dict | Letter, principal: Principal | None = None) -> bytes:
        """The letter (current version) as a Word document."""
        letter_id = letter if isinstance(letter, str) else (letter["id"] if isinstance(letter, dict) else letter.id)
        with self.Session() as s:
            row = self._letter(s, letter_id, principal)
            tpl = self.templates.get(row.template)
            values = self._current(s, row).fields
            if principal is not None:
                self._audit(s, principal, "letter_download", row.id, "docx")
                s.commit()
        return self._render(tpl, values)

    def _version_docx(self, s, row: Letter, seq: int | None) -> bytes:
        tpl = self.templates.get(row.template)
        if seq is None:
            version = self._current(s, row)
        else:
            version = s.scalars(select(LetterVersion).where(LetterVersion.letter_id == row.id,
                                                            LetterVersion.seq == seq)).first()
            if version is None:
                raise LetterNotFound(f"Die Bearbeitung Nr. {seq} gibt es zu diesem Schreiben nicht.")
        return self._render(tpl, version.fields)

    def preview(self, principal: Principal, letter_id: str, seq: int | None = None) -> dict[str, Any]:
        """The rendered letter as HTML (made from the DOCX, as printed and filed); ``seq``: an earlier edit."""
        from .preview import docx_to_html

        with self.Session() as s:
            row = self._letter(s, letter_id, principal)
            data = self._version_docx(s, row, seq)
            version = row.version
        return {"id": letter_id, "version": version, "seq": seq, "html": docx_to_html(data),
                "pdf_available": bool(shutil.which("soffice") or shutil.which("libreoffice"))}

    def compare_versions(self, principal: Principal, letter_id: str, seq_a: int, seq_b: int) -> dict[str, Any]:
        """The paragraphs of the rendered letter that differ between two edits (by sequence number)."""
        from .preview import compare, paragraphs

        with self.Session() as s:
            row = self._letter(s, letter_id, principal)
            before = paragraphs(self._version_docx(s, row, seq_a))
            after = paragraphs(self._version_docx(s, row, seq_b))
        return {"id": letter_id, "a": seq_a, "b": seq_b, "changes": compare(before, after)}

    def file_name(self, letter: dict[str, Any], ext: str = "docx") -> str:
        az = re.sub(r"[^A-Za-z0-9-]+", "_", letter["aktenzeichen"]).strip("_")
        return f"{letter['template']}_{az}_v{letter['version']}.{ext}"

    def render_pdf(self, letter: str | dict | Letter, principal: Principal | None = None) -> bytes:
        """PDF via LibreOffice (``soffice --headless``) if installed; else :class:`FeatureUnavailable`."""
        soffice = shutil.which("soffice") or shutil.which("libreoffice")
        if soffice is None:
            raise FeatureUnavailable("PDF-Erzeugung nicht verfügbar: LibreOffice (soffice) ist auf diesem Rechner "
                                     "nicht installiert. Bitte das Word-Dokument (DOCX) verwenden.")
        data = self.render_docx(letter, principal)
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "schreiben.docx"
            src.write_bytes(data)
            try:
                subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation=file://{tmp}/profile",
                                "--convert-to", "pdf", "--outdir", tmp, str(src)], check=True, timeout=120,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                return (Path(tmp) / "schreiben.pdf").read_bytes()
            except (subprocess.SubprocessError, OSError) as exc:
                raise FeatureUnavailable("PDF-Erzeugung nicht verfügbar: LibreOffice konnte das Dokument nicht "
                                         "umwandeln. Bitte das Word-Dokument (DOCX) verwenden.") from exc

