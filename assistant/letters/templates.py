"""Letter templates: docxtpl Word files with YAML sidecars, loaded and validated from a folder.

A folder holds ``<name>.docx`` + ``<name>.yaml`` pairs (see ``tools/build_letter_templates.py``).
Loading never fails as a whole: every broken template becomes a :class:`TemplateProblem`
with a German message (damaged Word file, unknown placeholder, missing or invalid sidecar
fields, missing partner file) and the others keep working.
"""

from __future__ import annotations

import logging
import threading
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from connectors.catalog import catalog

from .calendar import RULE_RE

log = logging.getLogger(__name__)

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"

FIELD_SOURCES = ("efile", "user", "generated", "computed", "static")
FIELD_TYPES = ("text", "date", "money", "list", "address", "case", "person", "organisation", "reasons")
#: kinds of a ``reasons`` field (blocks of the reason catalog, see :mod:`.reasons`)
REASON_KINDS = ("ablehnung", "aufhebung", "weiterleitung")
#: case types a template may name in ``case_types`` (from the procedure catalog)
CASE_TYPES = catalog().case_types
REQUIRED_KEYS = ("title", "description", "case_types", "four_eyes", "legal_basis", "fields")


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: str
    source: str
    required: bool
    hint: str = ""
    query: str | None = None
    rule: str | None = None
    reasons: str | None = None  # kind of the reason blocks of a ``reasons`` field


    def as_dict(self) -> dict[str, Any]:
        d = {"name": self.name, "type": self.type, "source": self.source, "required": self.required,
             "hint": self.hint}
        if self.query:
            d["query"] = self.query
        if self.rule:
            d["rule"] = self.rule
        if self.reasons:
            d["reasons"] = self.reasons
        return d


@dataclass(frozen=True)
class LetterTemplate:
    name: str
    title: str
    description: str
    case_types: tuple[str, ...]
    four_eyes: bool
    legal_basis: tuple[str, ...]
    fields: tuple[FieldSpec, ...]
    docx_path: Path
    sidecar_path: Path
    placeholders: frozenset[str] = frozenset()

    def field(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "title": self.title, "description": self.description,
                "case_types": list(self.case_types), "four_eyes": self.four_eyes,
                "legal_basis": list(self.legal_basis), "fields": [f.as_dict() for f in self.fields]}


@dataclass(frozen=True)
class TemplateProblem:
    """Something wrong with a template; ``severity`` 'fehler' makes it unusable, 'hinweis' does not."""

    template: str
    file: str
    message: str
    severity: str = "fehler"

    def as_dict(self) -> dict[str, str]:
        return {"template": self.template, "file": self.file, "message": self.message, "severity": self.severity}


@dataclass
class _Loaded:
    templates: dict[str, LetterTemplate] = field(default_factory=dict)
    problems: list[TemplateProblem] = field(default_factory=list)


class TemplateRegistry:
    """All templates of a folder; ``reload()`` re-reads it (e.g. after an administrator changed a file)."""

    def __init__(self, folder: Path | None = None):
        self.folder = Path(folder) if folder else TEMPLATES_DIR
        self._lock = threading.Lock()
        self._data = self._load()

    def reload(self) -> None:
        data = self._load()
        with self._lock:
            self._data = data

    @property
    def templates(self) -> dict[str, LetterTemplate]:
        return dict(self._data.templates)

    @property
    def problems(self) -> list[TemplateProblem]:
        return list(self._data.problems)

    def names(self) -> list[str]:
        return sorted(self._data.templates)

    def broken(self) -> dict[str, list[TemplateProblem]]:
        out: dict[str, list[TemplateProblem]] = {}
        for p in self._data.problems:
            if p.severity == "fehler":
                out.setdefault(p.template, []).append(p)
        return out

    def get(self, name: str) -> LetterTemplate:
        from .errors import TemplateUnavailable

        tpl = self._data.templates.get(name)
        if tpl is not None:
            return tpl
        problems = self.broken().get(name)
        if problems:
            raise TemplateUnavailable(f"Die Vorlage '{name}' ist fehlerhaft und kann nicht verwendet werden: "
                                      + " ".join(p.message for p in problems))
        known = ", ".join(self.names()) or "keine"
        raise TemplateUnavailable(f"Die Vorlage '{name}' gibt es nicht. Verfügbare Vorlagen: {known}.")

    def listing(self) -> dict[str, Any]:
        """Usable templates and all problems (for the API and the CLI)."""
        return {"templates": [t.as_dict() for _, t in sorted(self._data.templates.items())],
                "problems": [p.as_dict() for p in self._data.problems]}

    # -- loading -----------------------------------------------------------------
    def _load(self) -> _Loaded:
        out = _Loaded()
        if not self.folder.is_dir():
            out.problems.append(TemplateProblem("*", str(self.folder),
                                                f"Der Vorlagenordner {self.folder} existiert nicht."))
            return out
        docx = {p.stem: p for p in self.folder.glob("*.docx") if not p.name.startswith("~$")}
        sidecars = {p.stem: p for p in self.folder.glob("*.yaml")}
        sidecars.update({p.stem: p for p in self.folder.glob("*.yml") if p.stem not in sidecars})
        for name in sorted(set(docx) | set(sidecars)):
            if name not in sidecars:
                out.problems.append(TemplateProblem(name, docx[name].name, f"Zur Word-Vorlage '{docx[name].name}' "
                                                    f"fehlt die Beschreibungsdatei '{name}.yaml'."))
                continue
            if name not in docx:
                out.problems.append(TemplateProblem(name, sidecars[name].name, f"Zur Beschreibungsdatei "
                                                    f"'{sidecars[name].name}' fehlt die Word-Vorlage '{name}.docx'."))
                continue
            tpl, problems = load_template(name, docx[name], sidecars[name])
            out.problems.extend(problems)
            if tpl is not None:
                out.templates[name] = tpl
        for p in out.problems:
            log.warning("letter template %s: %s", p.template, p.message)
        return out


def _sidecar_problems(name: str, file: str, data: Any) -> tuple[list[TemplateProblem], list[FieldSpec]]:
    problems: list[TemplateProblem] = []

    def bad(msg: str) -> None:
        problems.append(TemplateProblem(name, file, msg))

    if not isinstance(data, dict):
        bad(f"Die Beschreibungsdatei {file} enthält keine Zuordnung (title, fields, ...).")
        return problems, []
    missing = [k for k in REQUIRED_KEYS if k not in data]
    if missing:
        bad(f"In {file} fehlen die Angaben: {', '.join(missing)}.")
    if "title" in data and not (isinstance(data["title"], str) and data["title"].strip()):
        bad(f"In {file} ist 'title' leer oder kein Text.")
    if "four_eyes" in data and not isinstance(data["four_eyes"], bool):
        bad(f"In {file} muss 'four_eyes' true oder false sein.")
    ct = data.get("case_types", [])
    if not isinstance(ct, list) or not ct:
        if "case_types" in data:
            bad(f"In {file} muss 'case_types' eine nicht leere Liste sein.")
    else:
        unknown = sorted(set(map(str, ct)) - set(CASE_TYPES))
        if unknown:
            bad(f"In {file} sind unbekannte Verfahrensarten angegeben: {', '.join(unknown)} "
                f"(erlaubt: {', '.join(CASE_TYPES)}).")
    if "legal_basis" in data and not isinstance(data["legal_basis"], list):
        bad(f"In {file} muss 'legal_basis' eine Liste sein.")
    specs: list[FieldSpec] = []
    fields = data.get("fields")
    if "fields" in data and not isinstance(fields, list):
        bad(f"In {file} muss 'fields' eine Liste sein.")
        fields = []
    seen: set[str] = set()
    for i, f in enumerate(fields or [], 1):
        if not isinstance(f, dict) or not f.get("name"):
            bad(f"In {file} hat das {i}. Feld keinen Namen.")
            continue
        fname = str(f["name"])
        if fname in seen:
            bad(f"In {file} ist das Feld '{fname}' doppelt angegeben.")
        seen.add(fname)
        src, typ, req = f.get("source"), f.get("type"), f.get("required")
        ok = True
        if src not in FIELD_SOURCES:
            bad(f"Feld '{fname}' in {file}: ungültige Herkunft (source) {src!r}; erlaubt: {', '.join(FIELD_SOURCES)}.")
            ok = False
        if typ not in FIELD_TYPES:
            bad(f"Feld '{fname}' in {file}: ungültiger Typ {typ!r}; erlaubt: {', '.join(FIELD_TYPES)}.")
            ok = False
        if not isinstance(req, bool):
            bad(f"Feld '{fname}' in {file}: 'required' muss true oder false sein.")
            ok = False
        if src == "generated" and not f.get("query"):
            bad(f"Feld '{fname}' in {file}: ein generiertes Feld braucht eine Suchanfrage (query).")
            ok = False
        if src == "computed" and not RULE_RE.match(str(f.get("rule", ""))):
            bad(f"Feld '{fname}' in {file}: ungültige Berechnungsregel {f.get('rule')!r} "
                "(erlaubt: today, days:N, workdays:N, months:N, briefanrede).")
            ok = False
        if typ == "reasons" and f.get("reasons") not in REASON_KINDS:
            bad(f"Feld '{fname}' in {file}: ein Begründungsfeld braucht 'reasons' "
                f"({', '.join(REASON_KINDS)}).")
            ok = False
        if ok:
            specs.append(FieldSpec(fname, typ, src, req, str(f.get("hint") or ""),
                                   str(f["query"]) if f.get("query") else None,
                                   str(f["rule"]) if f.get("rule") else None,
                                   str(f["reasons"]) if f.get("reasons") else None))
    return problems, specs


def load_template(name: str, docx_path: Path,
                  sidecar_path: Path) -> tuple[LetterTemplate | None, list[TemplateProblem]]:
    """Load and check one template; ``None`` when it has errors (the problems say why)."""
    problems: list[TemplateProblem] = []
    try:
        data = yaml.safe_load(sidecar_path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, OSError) as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" (Zeile {mark.line + 1})"
        return None, [TemplateProblem(name, sidecar_path.name, f"Die Beschreibungsdatei {sidecar_path.name} ist "
                                      f"kein gültiges YAML{where}.")]
    sidecar_problems, specs = _sidecar_problems(name, sidecar_path.name, data)
    problems.extend(sidecar_problems)

    placeholders: set[str] = set()
    try:
        if not zipfile.is_zipfile(docx_path):
            raise zipfile.BadZipFile("not a zip")
        from docxtpl import DocxTemplate

        placeholders = set(DocxTemplate(str(docx_path)).get_undeclared_template_variables())
    except Exception as exc:  # noqa: BLE001 - any failure means: the Word file cannot be used
        import jinja2

        if isinstance(exc, jinja2.TemplateSyntaxError):
            msg = (f"Die Word-Vorlage {docx_path.name} enthält einen fehlerhaften Platzhalter "
                   f"(Jinja-Syntaxfehler: {exc.message}).")
        else:
            msg = (f"Die Word-Vorlage {docx_path.name} ist beschädigt oder keine Word-Datei (.docx) "
                   "und kann nicht geöffnet werden.")
        problems.append(TemplateProblem(name, docx_path.name, msg))
        return None, problems

    if isinstance(data, dict) and isinstance(data.get("fields"), list):
        declared = {str(f.get("name")) for f in data["fields"] if isinstance(f, dict)}
        unknown = sorted(placeholders - declared)
        if unknown:
            problems.append(TemplateProblem(
                name, docx_path.name,
                f"Die Word-Vorlage {docx_path.name} enthält Platzhalter, die in {sidecar_path.name} nicht "
                f"beschrieben sind: {', '.join(unknown)}."))
        unused = sorted(f.name for f in specs if f.name not in placeholders)
        required_unused = [n for n in unused if next(s for s in specs if s.name == n).required]
        if required_unused:
            problems.append(TemplateProblem(
                name, sidecar_path.name,
                f"Pflichtfelder aus {sidecar_path.name} kommen in der Word-Vorlage nicht vor: "
                f"{', '.join(required_unused)}."))
        optional_unused = [n for n in unused if n not in required_unused]
        if optional_unused:
            problems.append(TemplateProblem(
                name, sidecar_path.name,
                f"Optionale Felder aus {sidecar_path.name} werden in der Word-Vorlage nicht verwendet: "
                f"{', '.join(optional_unused)}.", severity="hinweis"))

    if any(p.severity == "fehler" for p in problems):
        return None, problems
    tpl = LetterTemplate(
        name=name, title=str(data["title"]).strip(), description=str(data.get("description") or ""),
        case_types=tuple(str(c) for c in data["case_types"]), four_eyes=bool(data["four_eyes"]),
        legal_basis=tuple(str(x) for x in data.get("legal_basis") or ()), fields=tuple(specs),
        docx_path=docx_path, sidecar_path=sidecar_path, placeholders=frozenset(placeholders))
    return tpl, problems
