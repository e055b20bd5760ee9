"""Step 3 of the template import: convert the Word letter into a docxtpl template with its YAML
sidecar and the German report, check both with the letters' own loader and a test render, and
install them into the templates folder."""

from __future__ import annotations

import io
import logging
import re
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from connectors.catalog import catalog

from ...import_report import ImportReport
from ..errors import TemplateImportError
from .analysis import STYLE_LABELS, Placeholder, _key_of, analyze
from .docx_parts import _clear_highlight, _is_highlighted, _literal, _open, _Part, _q
from .mapping import _RESERVED, CASE_FIELDS, NAME_RE, ROOT_FIELDS, ImportOptions, Mapping, parse_mapping

log = logging.getLogger(__name__)


@dataclass
class ImportResult:
    name: str
    docx: bytes
    sidecar: str
    report: ImportReport
    fields: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "fields": self.fields, "report": self.report.as_dict()}



def _field_name(key: str, taken: set[str]) -> str:
    name = key.replace(".", "_")
    if name in _RESERVED or not re.match(r"^[a-z_][a-z0-9_]*$", name):
        name = f"{name}_feld" if re.match(r"^[a-z_][a-z0-9_]*$", name) else "feld"
    base, i = name, 2
    while name in taken:
        name = f"{base}_{i}"
        i += 1
    return name


def _describe(p: Placeholder) -> str:
    where = ", ".join(sorted({o.where for o in p.occurrences}))
    n = len(p.occurrences)
    times = f", {n}×" if n > 1 else ""
    return f"„{p.occurrences[0].text}“ ({STYLE_LABELS[p.style]}, {where}{times})"


def convert(data: bytes, file_name: str, options: ImportOptions,
            mapping: dict[str, Any] | None = None) -> ImportResult:
    """The docxtpl template, its sidecar and the German report; ``mapping`` keys are placeholder keys
    or labels as written; placeholders without one get the suggestion (and are reported to check)."""
    if not NAME_RE.match(options.name):
        raise TemplateImportError(f"Der Vorlagenname „{options.name}“ ist ungültig: Kleinbuchstaben, Ziffern und _ "
                                  "(2 bis 61 Zeichen, am Anfang ein Buchstabe).")
    if not options.title.strip():
        raise TemplateImportError("Bitte einen Titel für die Vorlage angeben.")
    case_types = options.case_types or list(catalog().case_types)
    unknown_ct = sorted(set(case_types) - set(catalog().case_types))
    if unknown_ct:
        raise TemplateImportError(f"Unbekannte Verfahrensarten: {', '.join(unknown_ct)} "
                                  f"(erlaubt: {', '.join(catalog().case_types)}).")
    analysis = analyze(data, file_name)
    given: dict[str, Mapping] = {}
    errors: list[str] = []
    for k, spec in (mapping or {}).items():
        p = analysis.placeholder(str(k))
        if p is None:
            errors.append(f"„{k}“ kommt in der Vorlage nicht als Platzhalter vor")
            continue
        try:
            m = parse_mapping(spec, p.label)
        except TemplateImportError as exc:
            errors.append(exc.message)
            continue
        bad = m.problem()
        if bad:
            errors.append(f"„{p.label}“: {bad}")
        given[p.key] = m
    if errors:
        raise TemplateImportError("Die Zuordnung ist fehlerhaft: " + "; ".join(errors) + ".")

    report = ImportReport(f"Vorlage „{analysis.file_name}“ als „{options.name}“")
    final: dict[str, Mapping] = {}
    for p in analysis.placeholders:
        if p.key in given:
            final[p.key] = given[p.key]
        else:
            final[p.key] = p.suggestion or Mapping("user", hint=p.label)
            if not p.confident:
                report.decide(f"{_describe(p)}: ohne Zuordnung, übernommen als {final[p.key].label()}. "
                              "Bitte prüfen.")

    # replacement text per placeholder key, and the sidecar fields in order of first use
    taken_names: set[str] = set()
    fields: dict[str, dict[str, Any]] = {}
    replacement: dict[str, str | None] = {}
    for p in analysis.placeholders:
        m = final[p.key]
        if m.kind == "keep":
            replacement[p.key] = None
            report.skip(f"{_describe(p)}: kein Platzhalter, der Text bleibt stehen.")
            continue
        if m.kind == "case":
            root = m.target.split(".")[0]
            replacement[p.key] = "{{ " + m.target + " }}"
            if root == "briefanrede":
                fields.setdefault("briefanrede", {"name": "briefanrede", "type": "text", "source": "computed",
                                                  "required": True, "rule": "briefanrede",
                                                  "hint": "aus empfaenger abgeleitet"})
            else:
                typ, src, hint = ROOT_FIELDS[root]
                fields.setdefault(root, {"name": root, "type": typ, "source": src, "required": True,
                                         **({"hint": hint} if hint else {})})
            taken_names.add(root)
        else:
            name = _field_name(p.key, taken_names)
            taken_names.add(name)
            replacement[p.key] = "{{ " + name + " }}"
            f: dict[str, Any] = {"name": name}
            if m.kind == "user":
                f.update(type=m.type, source="user", required=m.required)
            elif m.kind == "generated":
                f.update(type="text", source="generated", required=m.required, query=m.target)
            else:
                f.update(type="date", source="computed", required=True, rule=m.target)
            f["hint"] = m.hint or f"„{p.label}“ aus der Vorlage"
            fields[name] = f
        report.take(f"{_describe(p)} → {m.label()}")

    # rewrite the parts
    zf, parts = _open(data)
    for part in parts:
        part.scan()
        # right to left: an edit changes the length of its segment, never what lies before it
        for h in reversed(part.hits):
            if h.apply is None:
                continue
            if h.broken:
                h.apply(_literal(h.raw))
                continue
            if h.style == "statement":
                h.apply(h.raw)  # merged into one run; docxtpl reads it as is
                continue
            if h.style == "expression":
                h.apply(h.raw)
                continue
            new = replacement.get(_key_of(h))
            h.apply(_literal(h.raw) if new is None else new)
    for f in analysis.problems:
        report.skip(f"„{f.text}“ ({f.where}): {f.message} Der Text bleibt sichtbar im Schreiben stehen.")
        report.decide(f"„{f.text}“ ({f.where}) in Word korrigieren und die Vorlage erneut hochladen, oder so "
                      "belassen.")
    for s in analysis.statements:
        report.take(f"„{s}“: docxtpl-Anweisung unverändert übernommen")
    docx = _rebuild(zf, parts)

    # variables used by docxtpl statements/expressions that no placeholder declared
    undeclared = _undeclared(docx)
    for var in sorted(undeclared - set(fields)):
        if var in ROOT_FIELDS:
            typ, src, hint = ROOT_FIELDS[var]
            fields[var] = {"name": var, "type": typ, "source": src, "required": True, **({"hint": hint} if hint
                                                                                           else {})}
            continue
        fields[var] = {"name": var, "type": "text", "source": "user", "required": False,
                       "hint": "in einer docxtpl-Anweisung der Vorlage verwendet"}
        report.decide(f"„{var}“ wird in einer docxtpl-Anweisung verwendet und ist jetzt eine Eingabe der "
                      "Sachbearbeitung; bitte prüfen.")
    order = {"behoerde": 0, "sachbearbeitung": 1, "empfaenger": 2, "akte": 3}
    field_list = sorted(fields.values(), key=lambda f: order.get(f["name"], 9))
    sidecar = _sidecar_text(analysis.file_name, options, case_types, field_list)
    if not analysis.placeholders and not analysis.statements:
        report.decide("In der Vorlage wurde kein Platzhalter gefunden; das Schreiben wäre immer gleich.")
    report.headline = (f"{len(analysis.placeholders)} Platzhalter erkannt, {len(field_list)} Felder in der "
                       f"Beschreibungsdatei, {len(analysis.problems)} fehlerhafte Stellen.")
    return ImportResult(options.name, docx, sidecar, report, field_list)


def _rebuild(zf: zipfile.ZipFile, parts: list[_Part]) -> bytes:
    changed = {p.member: p for p in parts if p.changed}
    # a highlight marked a placeholder: the run that now holds only the placeholder loses it
    for p in changed.values():
        for run in p.root.iter(_q("r")):
            texts = run.findall(_q("t"))
            if len(texts) == 1 and re.fullmatch(r"\{\{ [\w.]+ \}\}", texts[0].text or "") and _is_highlighted(run):
                _clear_highlight(run)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in zf.infolist():
            data = changed[info.filename].serialise() if info.filename in changed else zf.read(info.filename)
            dst.writestr(info, data, compress_type=info.compress_type)
    return out.getvalue()


def _undeclared(docx: bytes) -> set[str]:
    import jinja2
    from docxtpl import DocxTemplate

    try:
        return set(DocxTemplate(io.BytesIO(docx)).get_undeclared_template_variables(jinja_env=jinja2.Environment()))
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateImportError(f"Die umgewandelte Vorlage enthält eine fehlerhafte docxtpl-Anweisung "
                                  f"({exc.message}). Bitte in Word korrigieren.") from exc


def _sidecar_text(file_name: str, options: ImportOptions, case_types: list[str], fields: list[dict]) -> str:
    body = {"title": options.title.strip(), "description": options.description.strip() or
            f"Aus der Word-Vorlage {file_name} des Amts übernommen.", "case_types": case_types,
            "four_eyes": options.four_eyes, "legal_basis": options.legal_basis, "fields": fields}
    head = (f"# Importiert aus {file_name} am {date.today().isoformat()} (lotse letter import-template).\n"
            "# Darf von Hand bearbeitet werden; 'lotse letter templates' prüft die Datei.\n")
    return head + yaml.safe_dump(body, allow_unicode=True, sort_keys=False, width=120)


# -- install --------------------------------------------------------------------------------------------

def sample_values(fields: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """A context with a visible value in every field (check renders, tests)."""
    out: dict[str, Any] = {}
    for f in fields:
        n = f["name"]
        if n in ROOT_FIELDS:
            out[n] = {k.split(".", 1)[1]: f"<{k}>" for k in CASE_FIELDS if k.startswith(n + ".")}
        elif f["type"] == "date":
            out[n] = "01.01.2030"
        else:
            out[n] = f"<{n}>"
    return out


def install(result: ImportResult, folder: Path, replace: bool = False) -> Path:
    """Check the converted template with the letters' own loader and a test render, then write
    ``<name>.docx`` and ``<name>.yaml`` into ``folder``. Returns the docx path."""
    from ..templates import load_template

    folder = Path(folder)
    docx_path, yaml_path = folder / f"{result.name}.docx", folder / f"{result.name}.yaml"
    if not replace and (docx_path.exists() or yaml_path.exists()):
        raise TemplateImportError(f"Eine Vorlage „{result.name}“ gibt es bereits. Bitte einen anderen Namen wählen "
                                  "oder ausdrücklich ersetzen.")
    with tempfile.TemporaryDirectory() as tmp:
        td, ty = Path(tmp) / docx_path.name, Path(tmp) / yaml_path.name
        td.write_bytes(result.docx)
        ty.write_text(result.sidecar, encoding="utf-8")
        tpl, problems = load_template(result.name, td, ty)
        errors = [p.message for p in problems if p.severity == "fehler"]
        if tpl is None or errors:
            raise TemplateImportError("Die umgewandelte Vorlage ist nicht verwendbar: " + " ".join(errors))
        render_docx(result.docx, sample_values(result.fields))
    folder.mkdir(parents=True, exist_ok=True)
    for path, content in ((docx_path, result.docx), (yaml_path, result.sidecar.encode("utf-8"))):
        part = path.with_name(f".{path.name}.part")
        part.write_bytes(content)
        part.replace(path)
    log.info("template %s imported into %s", result.name, folder)
    return docx_path


def render_docx(docx: bytes, context: dict[str, Any]) -> bytes:
    """Render a template as the letter workflow does (autoescape; see workflow._render)."""
    import jinja2
    from docxtpl import DocxTemplate

    try:
        doc = DocxTemplate(io.BytesIO(docx))
        doc.render(context, jinja_env=jinja2.Environment(), autoescape=True)
        buf = io.BytesIO()
        doc.save(buf)
    except Exception as exc:  # noqa: BLE001 - any failure: the template cannot be used
        raise TemplateImportError(f"Die umgewandelte Vorlage lässt sich nicht ausfüllen ({type(exc).__name__}).") \
            from exc
    return buf.getvalue()


def import_template(data: bytes, file_name: str, folder: Path, options: ImportOptions,
                    mapping: dict[str, Any] | None = None, replace: bool = False) -> ImportResult:
    """convert + install; the report says where the template went."""
    result = convert(data, file_name, options, mapping)
    path = install(result, folder, replace)
    result.report.take(f"Gespeichert als {path.name} mit Beschreibungsdatei {path.stem}.yaml im Vorlagenordner.")
    return result
