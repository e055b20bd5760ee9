"""German personal-data detector for free text: regexes and a name gazetteer (``data/names_de.txt``).

Hits are replaced by typed placeholders ``[NAME]``, ``[IBAN]``, ``[STEUER_ID]``, ``[SV_NUMMER]``,
``[TELEFON]``, ``[EMAIL]``, ``[GEBURTSDATUM]``, ``[ADRESSE]``, ``[GESUNDHEIT]``.
:class:`Finding` carries kind and position only, never the value, so findings can be logged and
counted safely. Words of the e-file vocabulary (procedure catalog) never count as names.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from connectors.catalog import catalog

NAMES_FILE = Path(__file__).resolve().parents[1] / "data" / "names_de.txt"

#: administrative words of the e-file (procedure catalog); never part of a name
VOCABULARY = catalog().vocabulary

KINDS = ("NAME", "IBAN", "STEUER_ID", "SV_NUMMER", "TELEFON", "EMAIL", "GEBURTSDATUM", "ADRESSE", "GESUNDHEIT")


@dataclass(frozen=True)
class Finding:
    """One detector hit: kind (one of :data:`KINDS`) and span in the scrubbed input; no value."""

    kind: str
    start: int
    end: int

    @property
    def placeholder(self) -> str:
        return f"[{self.kind}]"


# ---------------------------------------------------------------------------------------------
# name gazetteer
# ---------------------------------------------------------------------------------------------

# Names that are also ordinary German words (nouns, adjectives, months, abbreviations): they count
# as names only in context (after Frau/Herr/Familie, next to another name, "Nachname, Vorname").
AMBIGUOUS_NAMES = frozenset("""
Bauer Fischer Weber Kaiser Koch Richter Klein Wolf Schneider Braun Lange Lang Winter Sommer Hahn Vogel
Roth Jung Graf Busch Engel Horn Stein König Jäger Schuster Kaufmann Schreiber Zimmermann Schwarz Weiß Weiss
Groß Kurz Stark Sturm Wurm Knoll Hirsch Fink Ritter Vetter Ernst Frank Kurt Mark Jan Kai Till Otto Simon
Martin Thomas Kramer Pohl Busse Koller Costa Bruno Sauer Keller Maurer Binder Kellner Geiger Zach Reiter
Polat Kaya Tran Ana Ben Tim Ida Pia Nur Amir Emir Gallo Greco Marino Conti Romano Russo Mazur Rosa Ali
Beck Schäfer Schaefer Fuchs
""".split())

# They still match whenever a first name stands next to them ("Anna Bauer", the usual case).

_TITLE_WORDS = ("Frau", "Herr", "Herrn", "Familie", "Fam.", "Hr.", "Fr.", "Eheleute", "Geschwister")
_ACADEMIC = r"(?:(?:Dr\.|Prof\.|med\.|rer\.\s?nat\.|jur\.|Dipl\.-[A-ZÄÖÜ][a-zäöü]+\.?)\s+)*"
_PARTICLES = frozenset({"von", "van", "de", "di", "da", "del", "della", "al", "el", "bin", "ibn", "zu", "vom",
                        "der", "ten", "ter"})
# words that never name a person even after "Frau"/"Herr" (forms of address for offices)
_NOT_NAMES = frozenset({"Doktor", "Bürgermeister", "Bürgermeisterin", "Oberbürgermeister",
                        "Oberbürgermeisterin", "Vorsitzende", "Vorsitzender", "Präsident", "Präsidentin",
                        "Sachbearbeiterin", "Sachbearbeiter", "Kollegin", "Kollege", "Rechtsanwalt",
                        "Rechtsanwältin", "Richterin", "Stadträtin", "Stadtrat", "Referentin", "Referent"})


def _fold(word: str) -> str:
    word = unicodedata.normalize("NFC", word)
    return word.casefold()


@dataclass(frozen=True)
class Gazetteer:
    first: frozenset[str]
    last: frozenset[str]
    ambiguous: frozenset[str]

    def kind(self, token: str) -> str | None:
        """'first', 'last', 'ambiguous' or None for a capitalised token (hyphenated: all parts)."""
        if not token or not token[0].isupper():
            return None
        parts = token.split("-")
        kinds = [self._kind_one(p) for p in parts]
        if any(k is None for k in kinds):
            return None
        if len(parts) > 1:
            return "first" if all(k == "first" for k in kinds) else "last"
        return kinds[0]

    def _kind_one(self, word: str) -> str | None:
        f = _fold(word)
        if f in self.ambiguous:
            return "ambiguous"
        if f in self.first:
            return "first"
        if f in self.last:
            return "last"
        return None


@lru_cache(maxsize=4)
def load_gazetteer(path: str | None = None) -> Gazetteer:
    first: set[str] = set()
    last: set[str] = set()
    section = None
    for raw in Path(path or NAMES_FILE).read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].lower()
            continue
        (first if section == "vornamen" else last).add(_fold(line))
    return Gazetteer(frozenset(first), frozenset(last), frozenset(_fold(w) for w in AMBIGUOUS_NAMES))


# ---------------------------------------------------------------------------------------------
# regexes
# ---------------------------------------------------------------------------------------------

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IBAN_DE = re.compile(r"\bDE\s?\d{2}(?:\s?\d){18}(?!\d)")
_IBAN_ANY = re.compile(r"\b[A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,3})?\b")
_SV = re.compile(r"(?<![\w/])\d{2}\s?[0-3]\d[01]\d\d{2}\s?[A-Z]\s?\d{2}\s?\d(?!\w)")
_STEUER_ID = re.compile(r"(?<![\w.,/-])(?:[1-9]\d{10}|[1-9]\d\s\d{3}\s\d{3}\s\d{3})(?![\w]|[.,]\d)")
_PHONE = re.compile(
    r"(?<![\w+/.,-])(?:(?:\+|00)\s?49[\s/-]?(?:\(0\)\s?)?\(?\d{2,5}\)?|\(?0[1-9]\d{1,4}\)?)"
    r"(?:[\s/-]{0,2}\d{2,}){1,4}(?![\w.,]\d|\w)")
_MONTHS = (r"(?:Januar|Jan\.|Februar|Feb\.|März|Mär\.|April|Apr\.|Mai|Juni|Jun\.|Juli|Jul\.|August|Aug\.|"
           r"September|Sept?\.|Oktober|Okt\.|November|Nov\.|Dezember|Dez\.)")
_DATE = re.compile(
    r"(?<![\w.])(?:(?P<d1>[0-3]?\d)\.\s?(?P<m1>[01]?\d)\.\s?(?P<y1>(?:19|20)\d{2})"
    r"|(?P<y2>(?:19|20)\d{2})-(?P<m2>[01]\d)-(?P<d2>[0-3]\d)"
    r"|(?P<d3>[0-3]?\d)\.\s?" + _MONTHS + r"\s(?P<y3>(?:19|20)\d{2}))(?![\d])")
_BIRTH_CONTEXT = re.compile(r"(?:geb\.|geboren|geburt|\bgeb\b|\*\s*$)", re.I)
_STREET_WORDS = r"(?:Straße|Strasse|Str\.|Weg|Platz|Allee|Gasse|Ring|Damm|Ufer|Steig|Anger|Graben|Landstraße|Chaussee)"
_STREET_SUFFIX = (r"(?:straße|strasse|str\.|weg|platz|allee|gasse|ring|damm|ufer|steig|anger|graben|"
                  r"landstraße|chaussee)")
_HOUSE_NO = r"\s?\d{1,4}(?:\s?[a-zA-Z](?![\w]))?(?:\s?[-/]\s?\d{1,4}[a-zA-Z]?)?(?![\d])"
_PLZ_TAIL = r"(?:,?\s*\d{5}\s+[A-ZÄÖÜ][\wäöüß]+(?:[ -][A-ZÄÖÜ][\wäöüß]+)?)?"
_STREET = re.compile(
    r"(?:\b[A-ZÄÖÜ][\wäöüß]*(?:-[\wäöüß]+)*-?(?i:" + _STREET_SUFFIX + ")"
    + r"|(?:\b[A-ZÄÖÜ][\wäöüß-]*\s)?" + _STREET_WORDS + r")\s" + _HOUSE_NO + _PLZ_TAIL)
_CITIES = ("München|Muenchen|Munich|Garching|Unterschleißheim|Ottobrunn|Haar|Unterhaching|Oberhaching|"
           "Pullach|Gräfelfing|Planegg|Germering|Dachau|Freising|Erding|Starnberg|Fürstenfeldbruck|Augsburg|"
           "Ingolstadt|Rosenheim|Landshut|Nürnberg|Regensburg|Würzburg|Berlin|Hamburg|Köln|Frankfurt|"
           "Stuttgart|Düsseldorf|Leipzig|Dresden|Hannover|Bremen|Essen|Dortmund|Salzburg|Wien|Innsbruck")
_PLZ_ORT = re.compile(r"(?<!\d)\d{5}\s+(?:" + _CITIES + r")\b")

# health: keywords starting a word; the whole clause around a hit is replaced
_HEALTH_WORD_START = (
    r"pflegegrad\s*\d|pflegestufe\s*\d|schlaganfall|demenz|alzheimer|diabet|depressi|krebs|tumor|karzinom|"
    r"hiv\b|aids\b|parkinson|multiple[nr]?\s+sklerose|sklerose|epilep|schizophren|psychose|psychisch\w*\s+erkrank|"
    r"suchterkrank|alkoholabhängig|alkoholkrank|drogenabhängig|herzinsuffizienz|herzinfarkt|hirnblutung|"
    r"bettlägerig|polyneuropathie|schwerbehinder|gdb\s*\d|merkzeichen\s+\w|lese-rechtschreib|legasthen|adhs|"
    r"autis|hepatitis|dialyse|chemotherapie|querschnittsläh|inkontinen|diagnose|erkrankung|erkrankt|nyha|"
    r"morbus\s+\w+|amputation|blindheit|gehörlos|pflegebedürftig\w*\s+wegen|psychiatri|bipolar|trisomie|"
    r"down-syndrom|mukoviszidose|rheuma|arthrose|asthma|copd|niereninsuffizienz|leukämie|lymphom|"
    r"körperbehinder|geistig\w*\s+behinder|lernbehinder|ärztlich\s+festgestellt")
_HEALTH_INNER = r"erkrankung|demenz|sklerose|(?:alkohol|drogen|spiel|medikamenten|nikotin)sucht"
_HEALTH = re.compile(r"(?i)(?:\b(?:" + _HEALTH_WORD_START + r")|\B(?:" + _HEALTH_INNER + r"))")
_CLAUSE_DELIMS = re.compile(r"[;\n()\[\]:|]|,\s|\.\s|\s[-–]\s")
_CLAUSE_MAX = 90

_TOKEN = re.compile(r"[^\W\d_][\w'’]*(?:-[^\W\d_][\w'’]*)*")
_TITLE_RE = re.compile(
    r"\b(?:Frau|Herrn?|Familie|Fam\.|Hr\.|Fr\.|Eheleute)\s+" + _ACADEMIC
    + r"(?P<name>[A-ZÄÖÜ][\w'’]+(?:-[A-ZÄÖÜ][\w'’]+)*)")
_LABEL_RE = re.compile(
    r"\b(?:Antragsteller(?:/in|in)?|Antragstellende\s+Person|Ansprechpartner(?:/in|in)?|Ansprechperson|"
    r"Vermieter(?:/in|in)?|Mieter(?:/in|in)?|Kontoinhaber(?:/in|in)?|Arbeitnehmer(?:/in|in)?|"
    r"Versicherte(?:/r)?|z\.\s?Hd\.|Angehörige(?:/r)?|Unterhaltspflichtige(?:/r)?|Betreuer(?:/in|in)?|"
    r"Kind|Vater|Mutter|Ehemann|Ehefrau|Name|Vor-\s?und\s+Nachname)\s*[:,]?\s+"
    r"(?P<name>[A-ZÄÖÜ][\w'’]+(?:-[A-ZÄÖÜ][\w'’]+)*\s+[A-ZÄÖÜ][\w'’]+(?:-[A-ZÄÖÜ][\w'’]+)*)")
# two capitalised words after a preposition/role word, closed by punctuation or line end:
# "Antrag von Ayşe Yılmaz, ...", "Bescheid an Dragan Petrović", "für Luca Rossi (geb. ...)"
_NAME_CAPS = r"[A-ZÄÖÜÇŞĞİ][a-zäöüßçşğıćčžšđłńóśźżéèáàíñ'’]+"
_PAIR_RE = re.compile(
    r"\b(?:für|von|an|zwischen|und|Kontoinhaber(?:in)?|Vermieter(?:in)?|Mieter(?:in)?|Frau|Herrn?)\s+"
    r"(?P<name>" + _NAME_CAPS + r"(?:-" + _NAME_CAPS + r")?\s" + _NAME_CAPS + r"(?:-" + _NAME_CAPS + r")?)"
    r"(?=\s?[,;(\n]|\s?$|\.\s|\s\((?:Vermieter|Mieter))")
_NOUNISH = ("ung", "heit", "keit", "schaft", "tion", "stelle", "amt", "referat", "rat", "ische", "ischen",
            "liche", "lichen", "ale", "alen", "ere", "eren", "tum", "nis", "ität")
_SAINT = re.compile(r"(?:St\.|Sankt|Santa|San)\s+$")


def _iban_ok(compact: str) -> bool:
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", compact):
        return False
    moved = compact[4:] + compact[:4]
    num = "".join(str(int(c, 36)) for c in moved)
    return int(num) % 97 == 1


def _birth_year_max() -> int:
    return date.today().year - 10


def _detect_regex(text: str) -> list[Finding]:
    out: list[Finding] = []
    for m in _EMAIL.finditer(text):
        out.append(Finding("EMAIL", m.start(), m.end()))
    for m in _IBAN_DE.finditer(text):
        out.append(Finding("IBAN", m.start(), m.end()))
    for m in _IBAN_ANY.finditer(text):
        compact = re.sub(r"\s", "", m.group(0))
        if _iban_ok(compact):
            out.append(Finding("IBAN", m.start(), m.end()))
    for m in _SV.finditer(text):
        out.append(Finding("SV_NUMMER", m.start(), m.end()))
    for m in _STEUER_ID.finditer(text):
        out.append(Finding("STEUER_ID", m.start(), m.end()))
    for m in _PHONE.finditer(text):
        digits = sum(c.isdigit() for c in m.group(0))
        if 6 <= digits <= 15:
            out.append(Finding("TELEFON", m.start(), m.end()))
    year_max = _birth_year_max()
    for m in _DATE.finditer(text):
        year = int(m.group("y1") or m.group("y2") or m.group("y3"))
        before = text[max(0, m.start() - 30): m.start()]
        if _BIRTH_CONTEXT.search(before) or 1900 <= year <= year_max:
            out.append(Finding("GEBURTSDATUM", m.start(), m.end()))
    for m in _STREET.finditer(text):
        out.append(Finding("ADRESSE", m.start(), m.end()))
    for m in _PLZ_ORT.finditer(text):
        out.append(Finding("ADRESSE", m.start(), m.end()))
    for m in _HEALTH.finditer(text):
        out.append(Finding("GESUNDHEIT", *_clause(text, m.start(), m.end())))
    return out


def _clause(text: str, start: int, end: int) -> tuple[int, int]:
    """The clause around a hit: between delimiters, at most ``_CLAUSE_MAX`` chars each side."""
    left = start
    lo = max(0, start - _CLAUSE_MAX)
    last = None
    for d in _CLAUSE_DELIMS.finditer(text, lo, start):
        last = d
    if last is not None:
        left = last.end()
    else:
        left = lo if lo == 0 else text.find(" ", lo, start) + 1 or start
    d = _CLAUSE_DELIMS.search(text, end, min(len(text), end + _CLAUSE_MAX))
    if d is not None:
        right = d.start()
    else:
        hi = min(len(text), end + _CLAUSE_MAX)
        right = hi if hi == len(text) else (text.rfind(" ", end, hi) if text.rfind(" ", end, hi) > end else hi)
    while left < right and text[left].isspace():
        left += 1
    while right > left and text[right - 1].isspace():
        right -= 1
    return left, right


def _detect_names(text: str, gaz: Gazetteer) -> list[Finding]:
    out: list[Finding] = []
    tokens = [(m.start(), m.end(), m.group(0)) for m in _TOKEN.finditer(text)]
    kinds = [gaz.kind(t) for _, _, t in tokens]
    i = 0
    groups: list[tuple[int, int, list[str], int]] = []  # start, end, kinds, first token index
    while i < len(tokens):
        if kinds[i] is None:
            i += 1
            continue
        j = i
        gk = [kinds[i]]
        while j + 1 < len(tokens):
            gap = text[tokens[j][1]:tokens[j + 1][0]]
            nxt = j + 1
            if gap in (" ", "\u00a0") and kinds[nxt] is not None:
                j = nxt
                gk.append(kinds[nxt])
                continue
            # name particles: "Ursula von Bauer", "Luca di Rossi"
            if (gap == " " and tokens[nxt][2] in _PARTICLES and nxt + 1 < len(tokens)
                    and text[tokens[nxt][1]:tokens[nxt + 1][0]] == " " and kinds[nxt + 1] is not None):
                j = nxt + 1
                gk.append(kinds[nxt + 1])
                continue
            break
        groups.append((tokens[i][0], tokens[j][1], gk, i))
        i = j + 1
    for n, (start, end, gk, ti) in enumerate(groups):
        before = text[max(0, start - 12):start]
        if _SAINT.search(before):
            continue
        # any unambiguous name token; or "Vorname Nachname" of ambiguous words ("Rosa Kaiser")
        accept = any(k in ("first", "last") for k in gk) or (
            len(gk) >= 2 and _fold(tokens[ti][2].split("-")[0]) in gaz.first)
        if not accept:
            # ambiguous only: needs context (title before, or "Nachname, Vorname")
            title_before = re.search(r"(?:" + "|".join(re.escape(t) for t in _TITLE_WORDS) + r")\s+"
                                     + _ACADEMIC + r"$", text[max(0, start - 40):start])
            comma_first = (n + 1 < len(groups) and text[end:groups[n + 1][0]] == ", "
                           and groups[n + 1][2][0] in ("first", "ambiguous"))
            comma_after = (n > 0 and text[groups[n - 1][1]:start] == ", "
                           and groups[n - 1][2][-1] in ("last", "ambiguous") and gk[0] in ("first", "ambiguous"))
            accept = bool(title_before) or comma_first or comma_after
        if accept:
            out.append(Finding("NAME", start, end))
    for m in _TITLE_RE.finditer(text):
        name = m.group("name")
        if name in _NOT_NAMES:
            continue
        s, e = m.start("name"), m.end("name")
        # a following surname after a (known) first name: "Frau Anna Huber" is covered by groups;
        # unknown second token after a known first name
        nxt = re.match(r" ([A-ZÄÖÜ][\w'’]+(?:-[A-ZÄÖÜ][\w'’]+)*)(?=\s?[,;(\n]|\s?$)", text[e:])
        if nxt and nxt.group(1).casefold() not in VOCABULARY:
            e += nxt.end()
        out.append(Finding("NAME", s, e))
    for m in _PAIR_RE.finditer(text):
        words = m.group("name").split()
        # not a name when either word is a known term of administrative language
        if any(w.casefold() in VOCABULARY or w in _NOT_NAMES or w.endswith(_NOUNISH) for w in words):
            continue
        out.append(Finding("NAME", m.start("name"), m.end("name")))
    for m in _LABEL_RE.finditer(text):
        name = m.group("name")
        first_tok = name.split()[0]
        # the first word must look like a first name (known) or the second like a surname (known)
        if gaz.kind(first_tok) in ("first", "ambiguous") or gaz.kind(name.split()[1]) in ("last", "ambiguous"):
            out.append(Finding("NAME", m.start("name"), m.end("name")))
    return out


def _merge(findings: Iterable[Finding]) -> list[Finding]:
    """Union of overlapping spans; the merged span takes the kind of its longest part."""
    spans = sorted(findings, key=lambda f: (f.start, -f.end))
    out: list[Finding] = []
    best_len: list[int] = []
    for f in spans:
        if f.end <= f.start:
            continue
        if out and f.start < out[-1].end:
            cur = out[-1]
            kind = f.kind if (f.end - f.start) > best_len[-1] else cur.kind
            best_len[-1] = max(best_len[-1], f.end - f.start)
            out[-1] = Finding(kind, cur.start, max(cur.end, f.end))
        else:
            out.append(f)
            best_len.append(f.end - f.start)
    return out


def detect(text: str, *, gazetteer: Gazetteer | None = None) -> list[Finding]:
    """All personal-data spans in ``text`` (NFC-normalised; merged, sorted)."""
    if not text:
        return []
    text = unicodedata.normalize("NFC", text)
    return _merge(_detect_regex(text) + _detect_names(text, gazetteer or load_gazetteer()))


def scrub(text: str, *, gazetteer: Gazetteer | None = None) -> tuple[str, list[Finding]]:
    """``text`` with every detected personal value replaced by its typed placeholder.

    Findings refer to the NFC-normalised input. ``gazetteer`` replaces the shipped name list
    (benchmarks use it to measure recall on names the list does not know).
    """
    if not text:
        return "", []
    text = unicodedata.normalize("NFC", text)
    findings = _merge(_detect_regex(text) + _detect_names(text, gazetteer or load_gazetteer()))
    parts: list[str] = []
    pos = 0
    for f in findings:
        parts.append(text[pos:f.start])
        parts.append(f.placeholder)
        pos = f.end
    parts.append(text[pos:])
    return "".join(parts), findings
