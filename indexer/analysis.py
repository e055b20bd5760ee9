"""German text analysis for the lexical index.

One function, :func:`analyze`, turns text into index terms; the same function
runs on documents and on queries so that both meet in the same term space:

- lower-casing, umlaut/ß folding (``Mitwirkungspflicht`` and ``mitwirkungspflicht``
  meet, ``Zuschuß``/``Zuschuss`` meet), Snowball German stemming;
- compound splitting against a list of frequent heads of German administrative
  language (``Kostenübernahmeerklärung`` also yields ``erklarung``, ``ubernahm``);
- legal references (``§ 66 SGB I``, ``§66 Abs. 1 SGB 1``, ``66 SGB I``) become one
  canonical term ``§66sgb1`` plus ``§66``;
- a small domain synonym list (Hartz IV / Bürgergeld / Arbeitslosengeld II, ...)
  applied at query time only, with a lower weight.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

import Stemmer
import yaml

_STEMMER = Stemmer.Stemmer("german")

# Law abbreviations as written by staff -> canonical compact form.
_ROMAN = {"i": "1", "ii": "2", "iii": "3", "iv": "4", "v": "5", "vi": "6", "vii": "7",
          "viii": "8", "ix": "9", "x": "10", "xi": "11", "xii": "12", "xiv": "14"}
_LAWS_SIMPLE = {
    "sgg": "sgg", "wogg": "wogg", "wogv": "wogv", "beeg": "beeg", "bkgg": "bkgg",
    "asylblg": "asylblg", "uhvorschg": "uhvorschg", "uvg": "uhvorschg", "vwgo": "vwgo",
    "bayho": "bayho", "vwvfg": "vwvfg", "bgb": "bgb", "rbeg": "rbeg", "bafog": "bafog",
    "bafög": "bafog", "estg": "estg", "zpo": "zpo", "gg": "gg",
}

_SGB_RE = re.compile(r"\bsgb\s*[-\s]?\s*(xiv|xii|xi|x|ix|viii|vii|vi|v|iv|iii|ii|i|\d{1,2})\b", re.I)
_PARA_RE = re.compile(
    r"(?:§§?|\bparagraph|\bart\.?|\bartikel)\s*(\d+[a-z]?)"  # § 66 / §66a / Art. 23
    r"((?:\s*(?:abs\.?|absatz|satz|s\.|nr\.?|nummer|buchst\.?)\s*\d+[a-z]?)*)"  # Abs. 1 Satz 2
    r"\s*(?:,\s*)?(sgb\s*[-\s]?\s*(?:xiv|xii|xi|x|ix|viii|vii|vi|v|iv|iii|ii|i|\d{1,2})\b|[a-zäöü]{2,9}\b)?",
    re.I,
)
# "66 SGB I" without the § sign
_BARE_REF_RE = re.compile(
    r"\b(\d{1,3}[a-z]?)\s+(sgb\s*[-\s]?\s*(?:xiv|xii|xi|x|ix|viii|vii|vi|v|iv|iii|ii|i|\d{1,2})\b)", re.I
)

_WORD_RE = re.compile(r"[a-zäöüß]+(?:-[a-zäöüß]+)*|\d+[a-z]?", re.I)

STOPWORDS = frozenset(
    """aber alle allem allen aller alles als also am an ander andere anderem anderen anderer
    anderes anderm andern anderr anders auch auf aus bei bin bis bist da damit dann der den des dem
    die das dass daß du er sie es ein eine einem einen einer eines einig einige einigem einigen
    einiger einiges einmal ich ihr ihre ihrem ihren ihrer ihres im in ist ja jede jedem jeden jeder
    jedes jene jenem jenen jener jenes jetzt kann kein keine keinem keinen keiner keines können
    könnte machen man manche manchem manchen mancher manches mein meine meinem meinen meiner meines
    mich mir mit muss musste nach nicht nichts noch nun nur ob oder ohne sehr sein seine seinem
    seinen seiner seines selbst sich sind so solche solchem solchen solcher solches soll sollte
    sondern sonst über um und uns unsere unserem unseren unser unseres unter viel vom von vor
    während war waren warst was weg weil weiter welche welchem welchen welcher welches wenn werde
    werden wie wieder will wir wird wirst wo wollen wollte würde würden zu zum zur zwar zwischen
    wer wem wen wann warum wieso weshalb darf dürfen muss müssen habe hat haben hatte gibt geht
    bitte eigentlich genau schon denn mal gilt gelten welche welcher was beim ab gegen lange
    jemand unser unseren unserem unserer bekommen bekommt kriegen kriegt überhaupt trotzdem etwa
    ganz gerade eben einfach wirklich kunde kundin kunden frau herr herrn fall sachbearbeiter
    sachbearbeiterin ich wir euch dabei dafür dazu darüber hierbei hier dort bzw usw ca eigene
    eigenen jetzt heute gestern morgen alles wieviel wie viel viele vielen reicht reichen reichte
    gibt geben stimmt passiert macht""".split()
)

# Frequent heads/modifiers of compounds in administrative German (stemmed form is derived).
_COMPOUND_PARTS = sorted(
    set(
        """pflicht frist bescheid leistung leistungen antrag anträge unterlagen zuschuss zuschüsse
        geld hilfe hilfen erklärung übernahme kosten miete mieter wohnung wohn nachweis nachweise
        verwendung bewilligung ablehnung widerspruch verfahren träger jugend kinder kind eltern
        pflege unterhalt vorschuss bedarf bedarfe einkommen vermögen versicherung rente arbeit
        arbeitslosen grund sicherung gesetz buch amt stelle stellen zeit raum zeitraum bildung
        teilhabe schule schul fahrt klassen mittag essen lern förderung mitwirkung versagung
        entziehung anhörung erstattung rückforderung aufhebung rücknahme bekanntgabe zugang
        zustellung eingang bestätigung akte akten zeichen vorgang daten schutz sozial gericht
        klage verwaltungs akt beratung auskunft zahlung betrag beträge höhe monat monate jahr
        haushalt mitglied mitglieder gemeinschaft bedarfs heizung unterkunft lasten kranken
        behinderung eingliederung hilfebedürftigkeit anspruch ansprüche berechtigte berechtigten
        regel satz sätze mehr aufwand aufwendungen beihilfe verband verbände verein termin
        erinnerung mahnung belehrung rechtsbehelf nachricht frist fristen""".split()
    ),
    key=len,
    reverse=True,
)

# Query-time synonym groups (all members are expanded to each other).
SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("hartz iv", "hartz 4", "bürgergeld", "arbeitslosengeld ii", "arbeitslosengeld 2", "alg ii", "alg 2",
     "grundsicherung für arbeitsuchende"),
    ("wohngeld", "mietzuschuss", "lastenzuschuss"),
    ("sozialhilfe", "sgb xii"),
    ("jobcenter", "grundsicherung für arbeitsuchende"),
    ("kita", "kindertagesstätte", "kindertageseinrichtung", "tageseinrichtung"),
    ("widerspruch", "einspruch", "rechtsbehelf"),
    ("bescheid", "verwaltungsakt"),
    ("versagen", "versagung", "verweigern", "ablehnen"),
    ("kontoauszüge", "kontoauszug", "unterlagen", "beweismittel", "nachweise"),
    ("zurückfordern", "rückforderung", "erstattung", "erstatten"),
    ("zuschuss", "zuwendung", "förderung"),
    ("pflegegrad", "pflegestufe", "pflegebedürftigkeit"),
    ("kindergeld", "bkgg"),
    ("elterngeld", "beeg"),
    ("unterhaltsvorschuss", "uhvorschg", "unterhaltsleistung"),
    ("asylbewerber", "asylblg", "geflüchtete", "flüchtling"),
    ("miete", "unterkunft", "kosten der unterkunft"),
    ("frist", "fristen", "deadline"),
    ("klassenfahrt", "mehrtägige klassenfahrten", "schulausflug"),
    ("nachhilfe", "lernförderung"),
    ("datenschutz", "sozialgeheimnis", "sozialdaten"),
)


def fold(text: str) -> str:
    """Lower-case and fold umlauts/ß so that spelling variants meet."""
    text = unicodedata.normalize("NFC", text.lower())
    return text.replace("ä", "a").replace("ö", "o").replace("ü", "u").replace("ß", "ss")


def canonical_law(raw: str | None) -> str | None:
    """'SGB I' / 'sgb 1' / 'SGB-XII' -> 'sgb1' / 'sgb12'; known short laws pass; else None."""
    if not raw:
        return None
    low = raw.lower().strip()
    m = _SGB_RE.fullmatch(low) or _SGB_RE.match(low)
    if m:
        num = m.group(1).lower()
        return "sgb" + _ROMAN.get(num, num)
    low = low.replace(" ", "")
    return _LAWS_SIMPLE.get(low)


def legal_refs(text: str) -> list[str]:
    """Canonical legal-reference terms found in text: '§66', '§66sgb1', ..."""
    out: list[str] = []
    for m in _PARA_RE.finditer(text):
        num = m.group(1).lower()
        out.append(f"§{num}")
        law = canonical_law(m.group(3))
        if law:
            out.append(f"§{num}{law}")
    for m in _BARE_REF_RE.finditer(text):
        law = canonical_law(m.group(2))
        if law:
            out.extend((f"§{m.group(1).lower()}", f"§{m.group(1).lower()}{law}"))
    return out


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return fold(_STEMMER.stemWord(word))


_FOLDED_PARTS = tuple(dict.fromkeys(fold(p) for p in _COMPOUND_PARTS if len(p) >= 4))


@lru_cache(maxsize=200_000)
def split_compound(word: str) -> tuple[str, ...]:
    """Split a folded compound into known parts (stemmed); empty when not a compound."""
    if len(word) < 9:
        return ()
    parts: list[str] = []
    # head: the longest known part the word ends with, leaving a modifier of >= 3 letters
    for part in _FOLDED_PARTS:
        if word.endswith(part) and len(word) - len(part) >= 3:
            parts.append(stem(part))
            modifier = word[: -len(part)]
            if modifier.endswith("s") and len(modifier) > 4:  # Fugen-s: Leistungsbescheid
                modifier = modifier[:-1]
            parts.append(stem(modifier))
            parts.extend(split_compound(modifier))
            break
    # known modifier at the start (Wohngeldantrag -> wohn...)
    for part in _FOLDED_PARTS:
        if word.startswith(part) and len(word) - len(part) >= 4:
            parts.append(stem(part))
            break
    # a particle is a verb prefix, not a modifier ("Aufforderung" is no compound of "auf")
    return tuple(p for p in dict.fromkeys(parts) if len(p) >= 3 and p != stem(word) and p not in STOPWORDS)


def words(text: str) -> list[str]:
    return [w for w in _WORD_RE.findall(text.lower())]


def analyze(text: str, *, compounds: bool = True) -> list[str]:
    """Index terms for text (documents and queries alike)."""
    terms: list[str] = []
    for w in words(text):
        for piece in w.split("-"):
            if not piece or piece in STOPWORDS:
                continue
            if piece.isdigit():
                continue  # bare numbers are noise; legal refs are handled below
            s = stem(piece)
            if len(s) < 2:
                continue
            terms.append(s)
            if compounds:
                terms.extend(split_compound(fold(piece)))
    terms.extend(legal_refs(text))
    return terms


_SYN_INDEX: dict[str, tuple[str, ...]] = {}
for _group in SYNONYM_GROUPS:
    for _member in _group:
        _SYN_INDEX[_member] = _group


def expand_synonyms(query: str) -> list[str]:
    """Synonym phrases for members of the domain list found in the query."""
    low = " " + re.sub(r"\s+", " ", query.lower()) + " "
    extra: list[str] = []
    for member, group in _SYN_INDEX.items():
        if f" {member} " in low or re.search(rf"\b{re.escape(member)}\b", low):
            extra.extend(m for m in group if m != member)
    return list(dict.fromkeys(extra))


THESAURUS_FILE = Path(__file__).resolve().parent / "data" / "thesaurus.yaml"
THESAURUS_WEIGHT = 0.5


@lru_cache(maxsize=4)
def load_thesaurus(path: Path = THESAURUS_FILE) -> tuple[tuple[frozenset[str], tuple[str, ...]], ...]:
    """(stems of the colloquial key, document terms) pairs from the editable thesaurus file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = []
    for key, terms in data.items():
        stems = frozenset(stem(w) for w in words(str(key)) if w not in STOPWORDS or len(words(str(key))) > 1)
        if stems:
            entries.append((stems, tuple(str(t) for t in terms or ())))
    return tuple(entries)


@lru_cache(maxsize=1)
def domain_terms() -> frozenset[str]:
    """Index terms of the domain vocabulary: the thesaurus's document terms and the synonym groups."""
    terms: set[str] = set()
    for _, targets in load_thesaurus():
        for phrase in targets:
            terms.update(analyze(phrase, compounds=False))
    for group in SYNONYM_GROUPS:
        for phrase in group:
            terms.update(analyze(phrase, compounds=False))
    return frozenset(terms)


def analyze_query(query: str) -> dict[str, float]:
    """Weighted query terms: the query's own terms 1.0, thesaurus terms 0.5, synonym terms 0.4."""
    weights: dict[str, float] = {}
    for t in analyze(query):
        weights[t] = weights.get(t, 0.0) + 1.0
    plain = {stem(w) for w in words(query)}
    for key, terms in load_thesaurus():
        if key <= plain:
            for phrase in terms:
                for t in analyze(phrase, compounds=False):
                    if t not in weights:
                        weights[t] = THESAURUS_WEIGHT
    for phrase in expand_synonyms(query):
        for t in analyze(phrase, compounds=False):
            if t not in weights:
                weights[t] = 0.4
    return weights
