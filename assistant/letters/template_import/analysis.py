"""Step 1 of the template import: the placeholders of an uploaded Word letter with a suggested mapping
for each, the broken ones (reported, never dropped) and a mapping file to edit."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from connectors.catalog import catalog

from .docx_parts import _Hit, _open, _Part
from .mapping import CASE_FIELDS, KIND_LABELS, USER_TYPES, ImportOptions, Mapping, normalise_key, suggest, suggest_name

log = logging.getLogger(__name__)

STYLE_LABELS = {"jinja": "{{ … }} (docxtpl)", "phpword": "${…} (PHPWord)", "mergefield": "Seriendruckfeld",
                "bracket": "Text in Klammern", "highlight": "hervorgehobener Text",
                "expression": "docxtpl-Ausdruck", "statement": "docxtpl-Steueranweisung"}


@dataclass
class Occurrence:
    where: str  # German: "Brieftext", "Tabelle in der Kopfzeile", ...
    text: str  # the placeholder as written in the document


@dataclass
class Placeholder:
    key: str  # normalised name, e.g. "aktenzeichen", "datum_der_anhoerung"
    label: str  # as written, without brackets
    style: str
    occurrences: list[Occurrence] = field(default_factory=list)
    suggestion: Mapping | None = None
    confident: bool = False  # the suggestion is a known synonym, not a guess

    def as_dict(self) -> dict[str, Any]:
        return {"key": self.key, "label": self.label, "style": self.style, "style_label": STYLE_LABELS[self.style],
                "count": len(self.occurrences), "where": sorted({o.where for o in self.occurrences}),
                "text": self.occurrences[0].text if self.occurrences else "",
                "suggestion": self.suggestion.as_dict() if self.suggestion else None,
                "suggestion_label": self.suggestion.label() if self.suggestion else "",
                "confident": self.confident}


@dataclass
class Finding:
    """A broken or unsupported placeholder; it stays in the document as visible text."""

    text: str
    where: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"text": self.text, "where": self.where, "message": self.message}


@dataclass
class Analysis:
    file_name: str
    placeholders: list[Placeholder]
    problems: list[Finding]
    statements: list[str]  # docxtpl control tags / expressions taken over unchanged

    def placeholder(self, key_or_label: str) -> Placeholder | None:
        for p in self.placeholders:
            if key_or_label in (p.key, p.label):
                return p
        norm = normalise_key(key_or_label)
        return next((p for p in self.placeholders if p.key == norm), None)

    def suggested_mapping(self) -> dict[str, Mapping]:
        return {p.key: p.suggestion for p in self.placeholders if p.suggestion is not None}

    def as_dict(self) -> dict[str, Any]:
        return {"file_name": self.file_name, "placeholders": [p.as_dict() for p in self.placeholders],
                "problems": [f.as_dict() for f in self.problems], "statements": list(self.statements),
                "suggested_name": suggest_name(self.file_name),
                "choices": {"case_fields": CASE_FIELDS, "kinds": KIND_LABELS, "user_types": list(USER_TYPES),
                            "case_types": list(catalog().case_types)}}



def _key_of(hit: _Hit) -> str:
    return normalise_key(hit.name)


def _collect(parts: list[_Part]) -> tuple[list[Placeholder], list[Finding], list[str]]:
    placeholders: dict[str, Placeholder] = {}
    problems: list[Finding] = []
    statements: list[str] = []
    for part in parts:
        for h in part.hits:
            if h.broken:
                problems.append(Finding(h.raw, h.where, h.broken))
            elif h.style in ("statement", "expression"):
                if h.raw not in statements:
                    statements.append(h.raw)
            else:
                key = _key_of(h)
                p = placeholders.get(key)
                if p is None:
                    m, sure = suggest(key, h.name)
                    p = placeholders[key] = Placeholder(key, h.name, h.style, suggestion=m, confident=sure)
                p.occurrences.append(Occurrence(h.where, h.raw))
    return list(placeholders.values()), problems, statements


def analyze(data: bytes, file_name: str = "vorlage.docx") -> Analysis:
    """Placeholders of an uploaded Word letter, with a suggested mapping for each, and what is broken."""
    _, parts = _open(data)
    for p in parts:
        p.scan()
    placeholders, problems, statements = _collect(parts)
    log.info("template import analysed: %d placeholders, %d problems", len(placeholders), len(problems))
    return Analysis(Path(file_name).name, placeholders, problems, statements)



def mapping_template(analysis: Analysis, options: ImportOptions) -> str:
    """A mapping file to edit (``--write-mapping``): the suggestions, comments say which are guesses."""
    lines = [f"# Zuordnung der Platzhalter aus {analysis.file_name} (lotse letter import-template --mapping)",
             f"# Aktenfelder: {', '.join(CASE_FIELDS)}",
             "# Sonst: {kind: user, type: text|date|money, hint: ...} | {kind: computed, target: today|workdays:14} |",
             "#        {kind: generated, target: <Suchanfrage>} | keep (kein Platzhalter)",
             yaml.safe_dump({"name": options.name, "title": options.title, "case_types": options.case_types
                             or list(catalog().case_types), "four_eyes": options.four_eyes},
                            allow_unicode=True, sort_keys=False).rstrip(),
             "fields:"]
    for p in analysis.placeholders:
        m = p.suggestion.as_dict() if p.suggestion else {"kind": "user"}
        flow = yaml.safe_dump(m, allow_unicode=True, default_flow_style=True, width=10_000).strip()
        note = "" if p.confident else "  # Vorschlag, bitte prüfen"
        lines.append(f"  {yaml.safe_dump(p.key, allow_unicode=True).splitlines()[0]}: {flow}{note}")
    return "\n".join(lines) + "\n"
