"""Step 2 of the template import: what a placeholder becomes (:class:`Mapping`), the case fields an
administrator can choose, suggestions from known placeholder names, and mappings and options read
from YAML/JSON (CLI ``--mapping``, admin API)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..calendar import RULE_RE
from ..errors import TemplateImportError

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,60}$")

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
    "akte.antrag": "Akte: Antrag, wie im Brief genannt („Antrag auf Wohngeld“)",
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
