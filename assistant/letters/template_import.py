"""Import an office's existing Word letter as a Lotse template (issue 15, item 3).

Three steps, each usable alone (CLI ``lotse letter import-template``, admin API, tests):

1. :func:`analyze` reads the ``.docx`` and lists its placeholders: ``{{ name }}`` (docxtpl),
   ``${name}`` (PHPWord), Word MERGEFIELD fields (``w:fldSimple`` and complex ``w:fldChar``
   fields), ``[Name]`` / ``«Name»`` in brackets and highlighted text. Body, tables, headers and
   footers are read; a placeholder split over several runs (Word does that after edits, spell
   checks, revisions) is found as one. Broken ones (``{{ name`` unclosed, ``${}``, a stray
   ``}}``, a MERGEFIELD inside an IF field) are reported, never dropped.
2. The administrator maps each placeholder (:class:`Mapping`): a case field (``akte.aktenzeichen``,
   ``empfaenger.name``, ... as the shipped templates use them), a user input, a generated block
   (text proposal from the knowledge base), a computed date (``today``, ``workdays:14``, ...), or
   ``keep`` (it is not a placeholder: the text stays).
3. :func:`convert` writes the docxtpl template and the YAML sidecar; :func:`install` checks both
   with the same loader the letters use and puts them into the templates folder.

Invariant: **the layout does not change**. Only the XML parts that hold a placeholder
(``word/document.xml``, ``word/header*.xml``, ``word/footer*.xml``) are rewritten, and in them
only the runs of a placeholder: its runs are merged into the first one, which keeps its run
properties (font, size, bold ...). Paragraph properties, tables, sections, styles, numbering,
images, relationships and every other member of the package stay byte for byte. The one
formatting change is deliberate: a highlight that marked a placeholder is removed from the run
that now holds only the placeholder (the letter must not come out yellow).

Text of the document is never logged (it may be a filled letter with social data).
"""

from __future__ import annotations

import copy
import io
import logging
import re
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from lxml import etree

from connectors.catalog import catalog

from ..import_report import ImportReport
from .calendar import RULE_RE
from .errors import TemplateImportError

log = logging.getLogger(__name__)

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
MAX_BYTES = 20 * 1024 * 1024
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,60}$")


def _q(tag: str) -> str:
    return f"{{{W}}}{tag}"


STYLE_LABELS = {"jinja": "{{ … }} (docxtpl)", "phpword": "${…} (PHPWord)", "mergefield": "Seriendruckfeld",
                "bracket": "Text in Klammern", "highlight": "hervorgehobener Text",
                "expression": "docxtpl-Ausdruck", "statement": "docxtpl-Steueranweisung"}
MAPPING_KINDS = ("case", "user", "generated", "computed", "keep")
KIND_LABELS = {"case": "Feld aus Akte/Konfiguration", "user": "Eingabe der Sachbearbeitung",
               "generated": "Textvorschlag aus der Wissensbasis", "computed": "berechnetes Datum",
               "keep": "kein Platzhalter, Text bleibt stehen"}
USER_TYPES = ("text", "date", "money")

#: root field of the shipped templates -> (type, source, hint); see tools/build_letter_templates.py
ROOT_FIELDS: dict[str, tuple[str, str, str]] = {
    "behoerde": ("organisation", "static", "Amt, Abteilung, Anschrift und Kontaktdaten aus der Konfiguration"),
    "sachbearbeitung": ("person", "static", "Name, Telefon, E-Mail und Zimmer der angemeldeten Sachbearbeitung"),
    "empfaenger": ("address", "efile", ""),
    "akte": ("case", "efile", ""),
}

#: case fields an administrator can choose, with a German label (what prefill fills)
CASE_FIELDS: dict[str, str] = {
    "empfaenger.name": "Empfänger: Name (Vor- und Nachname bzw. Träger)",
    "empfaenger.anrede": "Empfänger: Anrede (Frau/Herr)",
    "empfaenger.nachname": "Empfänger: Nachname",
    "empfaenger.zusatz": "Empfänger: Zusatz (z. Hd. …)",
    "empfaenger.strasse": "Empfänger: Straße und Hausnummer",
    "empfaenger.plz_ort": "Empfänger: PLZ und Ort",
    "briefanrede": "Briefanrede („Sehr geehrte Frau …,“)",
    "akte.aktenzeichen": "Akte: Aktenzeichen",
    "akte.betreff": "Akte: Betreff (Verfahren und Antrag)",
    "akte.verfahren": "Akte: Verfahren",
    "akte.antragsdatum": "Akte: Antragsdatum",
    "akte.antragsart": "Akte: Antragsart",
    "akte.eingangsdatum": "Akte: Eingangsdatum des Antrags",
    "sachbearbeitung.name": "Sachbearbeitung: Name",
    "sachbearbeitung.telefon": "Sachbearbeitung: Telefon",
    "sachbearbeitung.email": "Sachbearbeitung: E-Mail",
    "sachbearbeitung.zimmer": "Sachbearbeitung: Zimmer",
    "behoerde.amt": "Behörde: Amt",
    "behoerde.abteilung": "Behörde: Abteilung",
    "behoerde.strasse": "Behörde: Straße",
    "behoerde.plz_ort": "Behörde: PLZ und Ort",
    "behoerde.telefon": "Behörde: Telefon",
    "behoerde.email": "Behörde: E-Mail",
    "behoerde.internet": "Behörde: Internet",
}
COMPUTED_LABELS = {"today": "heutiges Datum", "briefanrede": "Briefanrede"}
_RESERVED = set(ROOT_FIELDS) | {"briefanrede", "loop", "true", "false", "none", "and", "or", "not", "in", "is",
                                "if", "else", "for", "endfor", "endif", "block", "with", "set", "absatz"}
_JINJA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")


@dataclass(frozen=True)
class Mapping:
    """What a placeholder becomes. ``target``: the case field (``case``), the rule (``computed``),
    the search query (``generated``); ``type`` of a user input: text, date or money."""

    kind: str
    target: str = ""
    type: str = "text"
    required: bool = True
    hint: str = ""

    def label(self) -> str:
        if self.kind == "case":
            return CASE_FIELDS.get(self.target, self.target)
        if self.kind == "computed":
            return f"berechnetes Datum ({COMPUTED_LABELS.get(self.target, self.target)})"
        return KIND_LABELS.get(self.kind, self.kind)

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind}
        if self.target:
            d["target"] = self.target
        if self.kind == "user":
            d["type"] = self.type
        if self.kind in ("user", "generated"):
            d["required"] = self.required
        if self.hint:
            d["hint"] = self.hint
        return d

    def problem(self) -> str | None:
        """German reason why this mapping cannot be used, or None."""
        if self.kind not in MAPPING_KINDS:
            return f"unbekannte Zuordnung {self.kind!r} (erlaubt: {', '.join(MAPPING_KINDS)})"
        if self.kind == "case" and self.target not in CASE_FIELDS:
            return f"unbekanntes Aktenfeld {self.target!r}"
        if self.kind == "computed" and (not RULE_RE.match(self.target) or self.target == "briefanrede"):
            return f"ungültige Datumsregel {self.target!r} (erlaubt: today, days:N, workdays:N, months:N)"
        if self.kind == "generated" and not self.target.strip():
            return "ein Textvorschlag braucht eine Suchanfrage"
        if self.kind == "user" and self.type not in USER_TYPES:
            return f"ungültiger Eingabetyp {self.type!r} (erlaubt: {', '.join(USER_TYPES)})"
        return None


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


@dataclass
class ImportResult:
    name: str
    docx: bytes
    sidecar: str
    report: ImportReport
    fields: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "fields": self.fields, "report": self.report.as_dict()}


# -- names and suggestions --------------------------------------------------------------------------------

_UMLAUT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue"})


def normalise_key(text: str) -> str:
    """``Datum der Anhörung`` -> ``datum_der_anhoerung``; ``akte.aktenzeichen`` stays."""
    s = text.strip().translate(_UMLAUT)
    s = unicodedata.normalize("NFKD", s).encode("ascii", "ignore").decode()
    if _JINJA_NAME.match(s) and "." in s:
        return s
    s = re.sub(r"[^A-Za-z0-9]+", "_", s).strip("_").lower()
    if not s:
        return "feld"
    if s[0].isdigit():
        s = "feld_" + s
    return s[:60]


def suggest_name(file_name: str) -> str:
    stem = Path(file_name or "vorlage").stem
    name = normalise_key(stem).replace(".", "_")
    if not name[0].isalpha():
        name = "vorlage_" + name
    return name[:60] if len(name) > 1 else "vorlage_" + name


def _syn(*keys: str) -> list[str]:
    return list(keys)


#: normalised placeholder name -> (mapping, confident)
_SYNONYMS: dict[str, tuple[Mapping, bool]] = {}
for _keys, _m, _sure in [
    (_syn("name", "empfaenger", "empfaenger_name", "antragsteller", "antragstellerin", "vorname_nachname",
          "vorname_name", "name_vorname", "vollstaendiger_name", "name_des_antragstellers",
          "name_der_antragstellerin", "adressat", "kunde", "kundenname"), Mapping("case", "empfaenger.name"), True),
    (_syn("nachname", "familienname"), Mapping("case", "empfaenger.nachname"), True),
    (_syn("anrede", "anrede_empfaenger"), Mapping("case", "empfaenger.anrede"), True),
    (_syn("strasse", "str", "strasse_hausnummer", "strasse_und_hausnummer", "strasse_nr", "anschrift_strasse"),
     Mapping("case", "empfaenger.strasse"), True),
    (_syn("plz_ort", "plz_und_ort", "plzort", "wohnort", "postleitzahl_ort"), Mapping("case", "empfaenger.plz_ort"),
     True),
    (_syn("aktenzeichen", "az", "akz", "geschaeftszeichen", "gz", "unser_zeichen", "zeichen"),
     Mapping("case", "akte.aktenzeichen"), True),
    (_syn("betreff",), Mapping("case", "akte.betreff"), True),
    (_syn("verfahren", "leistung", "leistungsart"), Mapping("case", "akte.verfahren"), True),
    (_syn("antragsdatum", "datum_des_antrags", "antrag_vom", "antragseingang_datum"),
     Mapping("case", "akte.antragsdatum"), True),
    (_syn("eingangsdatum", "posteingang", "eingang", "eingegangen_am"), Mapping("case", "akte.eingangsdatum"),
     True),
    (_syn("briefanrede", "anrede_brief", "sehr_geehrte", "anredezeile", "grussanrede"), Mapping("case", "briefanrede"),
     True),
    (_syn("sachbearbeiter", "sachbearbeiterin", "sachbearbeitung", "bearbeiter", "bearbeiterin",
          "ansprechpartner", "ansprechpartnerin", "unterschrift", "name_sachbearbeitung"),
     Mapping("case", "sachbearbeitung.name"), True),
    (_syn("telefon", "tel", "telefonnummer", "durchwahl"), Mapping("case", "sachbearbeitung.telefon"), True),
    (_syn("email", "e_mail", "mail"), Mapping("case", "sachbearbeitung.email"), True),
    (_syn("zimmer", "raum", "zimmernummer"), Mapping("case", "sachbearbeitung.zimmer"), True),
    (_syn("amt", "behoerde", "dienststelle"), Mapping("case", "behoerde.amt"), True),
    (_syn("abteilung",), Mapping("case", "behoerde.abteilung"), True),
    (_syn("datum", "heute", "briefdatum", "tagesdatum", "datum_heute", "heutiges_datum", "date"),
     Mapping("computed", "today"), True),
    # a deadline is a decision of the office: suggested, but to be confirmed
    (_syn("frist", "fristdatum", "frist_datum", "frist_bis", "abgabefrist", "rueckmeldefrist"),
     Mapping("computed", "workdays:14"), False),
]:
    for _k in _keys:
        _SYNONYMS[_k] = (_m, _sure)


def suggest(key: str, label: str) -> tuple[Mapping, bool]:
    """A mapping for a placeholder name and whether it is a known synonym (else: user input, to check)."""
    if key in CASE_FIELDS:
        return Mapping("case", key), True
    if key.replace("_", ".", 1) in CASE_FIELDS:
        return Mapping("case", key.replace("_", ".", 1)), True
    if key in _SYNONYMS:
        return _SYNONYMS[key]
    return Mapping("user", hint=label), False


# -- reading the package ---------------------------------------------------------------------------------

_PART_RE = re.compile(r"^word/(document|header\d*|footer\d*)\.xml$")
_PART_LABELS = {"document": ("Brieftext", "im Brieftext"), "header": ("Kopfzeile", "in der Kopfzeile"),
                "footer": ("Fußzeile", "in der Fußzeile")}

# one regular expression for every textual placeholder; alternatives tried left to right
_TEXT_RE = re.compile(
    r"(?P<stmt>\{%[^{}\n\t]*?%\})"
    r"|(?P<jinja>\{\{(?P<j>[^{}\n\t]*?)\}\})"
    r"|(?P<php>\$\{(?P<p>[^{}\n\t$]*)\})"
    r"|(?P<guil>«(?P<g>[^«»\n\t]{1,80})»)"
    r"|(?P<br>\[(?P<b>[^\[\]\n\t]{1,80})\])"
    r"|(?P<open>\{\{|\{%|\$\{)"
    r"|(?P<close>\}\}|%\})"
    r"|(?P<comment>\{#)"
)
_BRACKET_OK = re.compile(r"[A-Za-zÄÖÜäöüß]")  # "[1]", "[…]" are no placeholders
_MERGEFIELD_RE = re.compile(r"^\s*MERGEFIELD\s+(?:\"([^\"]+)\"|(\S+))", re.I)


def _valid_expression(inner: str) -> bool:
    import jinja2

    try:
        jinja2.Environment().parse("{{ " + inner + " }}")
    except jinja2.TemplateSyntaxError:
        return False
    return True


def _literal(text: str) -> str:
    """Text that docxtpl renders as itself (its own escapes ``{_{`` etc.; ``{#`` through Jinja)."""
    out = text.replace("{{", "{_{").replace("}}", "}_}").replace("{%", "{_%").replace("%}", "%_}")
    return out.replace("{#", "{{ '{#' }}") if "{#" in out else out


@dataclass
class _Seg:
    elem: Any  # the w:t element, None for a tab or break
    text: str
    start: int
    run: Any


@dataclass
class _Hit:
    """One placeholder occurrence found in the XML; ``replace`` edits the XML."""

    style: str
    raw: str
    name: str  # as written (no brackets)
    where: str
    broken: str | None = None  # German reason
    apply: Callable[[str], None] | None = None
    highlighted: bool = False
    start: int = 0  # position in the paragraph's text (edits are applied right to left)


def _is_highlighted(run) -> bool:
    rpr = run.find(_q("rPr"))
    if rpr is None:
        return False
    h = rpr.find(_q("highlight"))
    return h is not None and h.get(_q("val"), "") not in ("", "none")


def _clear_highlight(run) -> None:
    rpr = run.find(_q("rPr"))
    if rpr is not None:
        for h in rpr.findall(_q("highlight")):
            rpr.remove(h)


def _runs(par) -> list:
    """Runs of a paragraph in order (also inside hyperlinks, smart tags, content controls, insertions),
    not those of nested paragraphs (text boxes) and not deleted text."""
    out: list = []

    def walk(node) -> None:
        for child in node:
            tag = child.tag
            if tag == _q("p") or tag == _q("del") or not isinstance(tag, str):
                continue
            if tag == _q("r"):
                out.append(child)
            elif tag == _q("fldSimple"):
                out.append(child)  # handled as a unit
            else:
                walk(child)

    walk(par)
    return out


def _set_text(t, text: str) -> None:
    t.text = text
    if text != text.strip() or "  " in text:
        t.set(_XML_SPACE, "preserve")


def _prune(run) -> None:
    """Remove empty w:t of a run, and the run itself when nothing but properties is left."""
    for t in run.findall(_q("t")):
        if not t.text:
            run.remove(t)
    if all(c.tag == _q("rPr") for c in run) and run.getparent() is not None:
        run.getparent().remove(run)


def _run_only_text(run, text: str) -> None:
    for c in list(run):
        if c.tag != _q("rPr"):
            run.remove(c)
    t = etree.SubElement(run, _q("t"))
    _set_text(t, text)


class _Part:
    """One XML part: find placeholders; with ``resolve`` also rewrite them."""

    def __init__(self, member: str, xml: bytes):
        self.member = member
        self.root = etree.fromstring(xml)
        kind = re.sub(r"\d+$", "", member.split("/")[-1].removesuffix(".xml"))
        self.label, self.in_label = _PART_LABELS[kind]
        self.hits: list[_Hit] = []
        self.changed = False

    def where(self, node) -> str:
        anc = node
        while anc is not None:
            if anc.tag == _q("tbl"):
                return f"Tabelle {self.in_label}"
            anc = anc.getparent()
        return self.label

    def scan(self) -> None:
        for par in list(self.root.iter(_q("p"))):
            self._fields(par)
        for par in list(self.root.iter(_q("p"))):
            self._text(par)

    # -- MERGEFIELD ------------------------------------------------------------------------------------
    def _fields(self, par) -> None:
        where = self.where(par)
        for simple in [r for r in _runs(par) if r.tag == _q("fldSimple")]:
            m = _MERGEFIELD_RE.match(simple.get(_q("instr"), ""))
            if not m:
                continue
            name = m.group(1) or m.group(2)
            inner = simple.find(_q("r"))
            self.hits.append(_Hit("mergefield", f"«{name}»", name, where,
                                  apply=lambda new, s=simple, r=inner: self._replace_simple(s, r, new)))
        stack: list[dict] = []
        for run in _runs(par):
            if run.tag != _q("r"):
                continue
            fc = run.find(_q("fldChar"))
            if fc is not None:
                typ = fc.get(_q("fldCharType"))
                if typ == "begin":
                    stack.append({"runs": [run], "instr": "", "sep": False, "result": [], "nested": False})
                elif typ == "separate" and stack:
                    stack[-1]["sep"] = True
                    stack[-1]["runs"].append(run)
                elif typ == "end" and stack:
                    f = stack.pop()
                    f["runs"].append(run)
                    if stack:
                        stack[-1]["nested"] = True
                        stack[-1]["runs"].extend(f["runs"])
                        if "MERGEFIELD" in f["instr"].upper():
                            stack[-1]["instr"] += " [MERGEFIELD]"
                    self._field_done(f, where)
                continue
            if stack:
                f = stack[-1]
                f["runs"].append(run)
                if not f["sep"]:
                    f["instr"] += "".join(t.text or "" for t in run.findall(_q("instrText")))
                elif run.find(_q("t")) is not None:
                    f["result"].append(run)
        for f in stack:  # a field that goes on in the next paragraph
            if "MERGEFIELD" in f["instr"].upper():
                self.hits.append(_Hit("mergefield", f["instr"].strip(), f["instr"].strip(), where,
                                      broken="Seriendruckfeld über mehrere Absätze: nicht umgewandelt, bitte in "
                                      "Word als ein Feld in einem Absatz neu einfügen."))

    def _field_done(self, f: dict, where: str) -> None:
        instr = f["instr"].strip()
        m = _MERGEFIELD_RE.match(instr)
        if not m:
            if "MERGEFIELD" in instr.upper():
                self.hits.append(_Hit("mergefield", instr, instr, where, broken="Seriendruckfeld innerhalb eines "
                                      "anderen Feldes (z. B. WENN/IF): nicht umgewandelt, die Bedingung muss von "
                                      "Hand als docxtpl-Anweisung nachgebaut werden."))
            return  # PAGE, DATE, ... stay as they are
        if f["nested"]:
            self.hits.append(_Hit("mergefield", instr, instr, where, broken="Seriendruckfeld mit verschachtelten "
                                  "Feldern: nicht umgewandelt."))
            return
        name = m.group(1) or m.group(2)
        self.hits.append(_Hit("mergefield", f"«{name}»", name, where,
                              apply=lambda new, f=f: self._replace_complex(f, new)))

    def _replace_simple(self, simple, inner, new: str) -> None:
        run = copy.deepcopy(inner) if inner is not None else etree.Element(_q("r"))
        _run_only_text(run, new)
        simple.getparent().replace(simple, run)
        self.changed = True

    def _replace_complex(self, f: dict, new: str) -> None:
        keep = f["result"][0] if f["result"] else f["runs"][0]
        _run_only_text(keep, new)
        for r in f["runs"]:
            if r is not keep and r.getparent() is not None:
                r.getparent().remove(r)
        self.changed = True

    # -- text placeholders ------------------------------------------------------------------------------
    def _segments(self, par) -> list[_Seg]:
        segs: list[_Seg] = []
        pos = 0
        in_field = 0
        for run in _runs(par):
            if run.tag != _q("r"):
                segs.append(_Seg(None, "\n", pos, run))  # a (non-merge) simple field: a barrier
                pos += 1
                continue
            for c in run:
                if c.tag == _q("fldChar"):
                    typ = c.get(_q("fldCharType"))
                    in_field += 1 if typ == "begin" else (-1 if typ == "end" else 0)
                    segs.append(_Seg(None, "\n", pos, run))
                    pos += 1
                elif c.tag == _q("t") and not in_field:
                    text = c.text or ""
                    segs.append(_Seg(c, text, pos, run))
                    pos += len(text)
                elif c.tag in (_q("tab"), _q("br"), _q("cr")) or (c.tag == _q("t") and in_field):
                    segs.append(_Seg(None, "\n", pos, run))
                    pos += 1
        return segs

    def _text(self, par) -> None:
        segs = self._segments(par)
        text = "".join(s.text for s in segs)
        if not text.strip():
            return
        where = self.where(par)
        hits: list[_Hit] = []
        covered: list[tuple[int, int]] = []
        for m in _TEXT_RE.finditer(text):
            s, e = m.span()
            raw = m.group(0)
            hit: _Hit | None = None
            if m.group("stmt"):
                hit = _Hit("statement", raw, raw, where)
            elif m.group("jinja") is not None:
                inner = m.group("j").strip()
                if not inner:
                    hit = _Hit("jinja", raw, raw, where, broken="leerer Platzhalter ohne Namen")
                elif _JINJA_NAME.match(inner):
                    hit = _Hit("jinja", raw, inner, where)
                elif _valid_expression(inner):
                    hit = _Hit("expression", raw, raw, where)
                else:
                    hit = _Hit("jinja", raw, raw, where, broken="kein gültiger Platzhaltername und kein gültiger "
                               "docxtpl-Ausdruck")
            elif m.group("php") is not None:
                inner = m.group("p").strip()
                if not inner:
                    hit = _Hit("phpword", raw, raw, where, broken="leerer Platzhalter ${} ohne Namen")
                elif inner.startswith("/") or not re.match(r"^[\w.#:\- ]+$", inner):
                    hit = _Hit("phpword", raw, raw, where, broken="PHPWord-Block oder ungültiger Name: nicht "
                               "umgewandelt (Blöcke bitte als docxtpl-Schleife nachbauen)")
                else:
                    hit = _Hit("phpword", raw, inner, where)
            elif m.group("guil") is not None:
                hit = _Hit("bracket", raw, m.group("g").strip(), where)
            elif m.group("br") is not None:
                inner = m.group("b").strip()
                if not _BRACKET_OK.search(inner):
                    continue
                hit = _Hit("bracket", raw, inner, where)
            elif m.group("open"):
                hit = _Hit("jinja" if raw != "${" else "phpword", raw, raw, where,
                           broken=f"„{raw}“ ohne schließende Klammer im selben Absatz")
            elif m.group("close"):
                hit = _Hit("jinja", raw, raw, where, broken=f"„{raw}“ ohne öffnende Klammer")
            elif m.group("comment"):
                hit = _Hit("jinja", raw, raw, where, broken="„{#“ leitet in docxtpl einen Kommentar ein")
            if hit is None:
                continue
            hit.apply, hit.start = self._span_editor(segs, s, e), s
            hit.highlighted = all(_is_highlighted(sg.run) for sg in segs if sg.elem is not None
                                  and sg.start < e and sg.start + len(sg.text) > s)
            hits.append(hit)
            covered.append((s, e))
        # highlighted text that is no placeholder of another style: consecutive highlighted segments
        group: list[_Seg] = []

        def flush() -> None:
            if not group:
                return
            s, e = group[0].start, group[-1].start + len(group[-1].text)
            label = text[s:e].strip()
            if label and not any(a < e and s < b for a, b in covered):
                lead = len(text[s:e]) - len(text[s:e].lstrip())
                trail = len(text[s:e]) - len(text[s:e].rstrip())
                hits.append(_Hit("highlight", label, label.strip("[]«» ") or label, where, highlighted=True,
                                 apply=self._span_editor(segs, s + lead, e - trail), start=s + lead))
            group.clear()

        for sg in segs:
            if sg.elem is not None and _is_highlighted(sg.run) and sg.text:
                group.append(sg)
            else:
                flush()
        flush()
        hits.sort(key=lambda h: h.start)
        self.hits.extend(hits)

    def _span_editor(self, segs: list[_Seg], s: int, e: int) -> Callable[[str], None]:
        def apply(new: str) -> None:
            inside = [sg for sg in segs if sg.elem is not None and sg.start < e and sg.start + len(sg.text) > s]
            if not inside:
                return
            first, last = inside[0], inside[-1]
            a, b = s - first.start, e - last.start
            if first is last:
                first.text = first.text[:a] + new + first.text[b:]
                _set_text(first.elem, first.text)
            else:
                suffix = last.text[b:]
                first.text = first.text[:a] + new
                _set_text(first.elem, first.text)
                for sg in inside[1:]:
                    sg.text = suffix if sg is last else ""
                    _set_text(sg.elem, sg.text)
                for sg in inside[1:]:
                    _prune(sg.run)
            self.changed = True
        return apply

    def serialise(self) -> bytes:
        return etree.tostring(self.root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _open(data: bytes) -> tuple[zipfile.ZipFile, list[_Part]]:
    if len(data) > MAX_BYTES:
        raise TemplateImportError(f"Die Datei ist größer als {MAX_BYTES // (1024 * 1024)} MB.")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        names = zf.namelist()
        if "word/document.xml" not in names:
            raise zipfile.BadZipFile("no document.xml")
        parts = []
        for n in names:
            if _PART_RE.match(n):
                info = zf.getinfo(n)
                if info.file_size > MAX_BYTES:
                    raise TemplateImportError("Ein Teil des Word-Dokuments ist unzulässig groß.")
                parts.append(_Part(n, zf.read(n)))
    except (zipfile.BadZipFile, etree.XMLSyntaxError, KeyError, ValueError) as exc:
        raise TemplateImportError("Die Datei ist kein lesbares Word-Dokument (.docx). Ältere .doc-Dateien bitte "
                                  "in Word als .docx speichern.") from exc
    # document first, then headers and footers, for a readable report
    parts.sort(key=lambda p: (p.member != "word/document.xml", p.member))
    return zf, parts


# -- step 1: analyse ------------------------------------------------------------------------------------

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


# -- step 2: mapping from YAML / JSON -------------------------------------------------------------------

_SHORT_KINDS = {"eingabe": "user", "user": "user", "text": "keep", "keep": "keep", "unveraendert": "keep",
                "unverändert": "keep", "generated": "generated", "vorschlag": "generated", "textbaustein": "generated"}


def parse_mapping(spec: Any, label: str = "") -> Mapping:
    """``"akte.aktenzeichen"``, ``"today"``, ``"workdays:14"``, ``"eingabe"``, ``"keep"`` or a dict
    ``{kind, target, type, required, hint}`` (``rule``/``query``/``field`` accepted for ``target``)."""
    if isinstance(spec, Mapping):
        return spec
    if isinstance(spec, str):
        s = spec.strip()
        if s in CASE_FIELDS:
            return Mapping("case", s)
        if RULE_RE.match(s) and s != "briefanrede":
            return Mapping("computed", s)
        kind = _SHORT_KINDS.get(s.lower())
        if kind == "generated":
            return Mapping("generated", label, required=False)
        if kind:
            return Mapping(kind, hint=label if kind == "user" else "")
        raise TemplateImportError(f"Zuordnung „{s}“ für „{label}“ ist unbekannt. Erlaubt: ein Aktenfeld "
                                  f"({', '.join(CASE_FIELDS)}), eine Datumsregel (today, workdays:14, …), "
                                  "„eingabe“, „vorschlag“ oder „keep“.")
    if isinstance(spec, dict):
        kind = str(spec.get("kind") or spec.get("art") or "")
        target = str(spec.get("target") or spec.get("rule") or spec.get("query") or spec.get("field") or "")
        if kind == "generated" and not target:
            target = label
        return Mapping(kind, target, str(spec.get("type") or "text"),
                       bool(spec.get("required", kind != "generated")), str(spec.get("hint") or ""))
    raise TemplateImportError(f"Die Zuordnung für „{label}“ ist weder Text noch Zuordnung (kind, target).")


@dataclass
class ImportOptions:
    name: str
    title: str
    description: str = ""
    case_types: list[str] = field(default_factory=list)  # empty: all of the catalog
    four_eyes: bool = False
    legal_basis: list[str] = field(default_factory=list)


def options_from_yaml(data: dict[str, Any], file_name: str, name: str | None = None) -> ImportOptions:
    stem = Path(file_name).stem
    return ImportOptions(name=name or str(data.get("name") or suggest_name(file_name)),
                         title=str(data.get("title") or stem), description=str(data.get("description") or ""),
                         case_types=[str(c) for c in data.get("case_types") or []],
                         four_eyes=bool(data.get("four_eyes", False)),
                         legal_basis=[str(x) for x in data.get("legal_basis") or []])


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


# -- step 3: convert -----------------------------------------------------------------------------------

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
    from .templates import load_template

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


__all__ = ["Analysis", "CASE_FIELDS", "ImportOptions", "ImportResult", "Mapping", "Placeholder", "analyze",
           "convert", "import_template", "install", "mapping_template", "normalise_key", "options_from_yaml",
           "parse_mapping", "render_docx", "sample_values", "suggest", "suggest_name"]
