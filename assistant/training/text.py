"""Text helpers of the trainer mode: explanations and quiz sentences cut from a chunk, comparable forms of
answers and questions, and the key values of a rule (deadlines, dates, amounts, § references, key terms)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from indexer import split_sentences

_EMPHASIS = re.compile(r"\*\*|__|`")
_ITEM = re.compile(r"^(?:[-*•]\s+|\d{1,2}[.)]\s+|\(\d{1,2}\)\s+)")
_FOOTER = re.compile(r"Seite \d+\s*/\s*\d+")
_ORDINAL_END = re.compile(r"(?:^|\s)\d{1,2}\.$")


def plain_text(text: str) -> str:
    """The chunk text without inline markup (bold, code): what questions are checked against."""
    return _EMPHASIS.sub("", text)


def _blocks(text: str, *, tables: bool) -> list[tuple[str, bool]]:
    """Lines of a chunk as (text, is_list_item), markup removed; table rows as "cell: cells"."""
    out: list[tuple[str, bool]] = []
    header_seen = False
    for raw in plain_text(text).splitlines():
        line = raw.strip()
        if not line:
            header_seen = False
            continue
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            if all(re.fullmatch(r":?-{2,}:?", c) for c in cells if c):
                continue
            if not header_seen:  # the header row of a table
                header_seen = True
                continue
            if tables and cells and cells[0]:
                rest = ", ".join(c for c in cells[1:] if c)
                out.append((f"{cells[0]}: {rest}" if rest else cells[0], True))
            continue
        header_seen = False
        item = bool(_ITEM.match(line))
        out.append((_ITEM.sub("", line), item))
    return out


def _sentences(block: str) -> list[str]:
    """Sentences of one block; a part ending in a bare number ("am 30.", "das 18.") is glued to the next."""
    out: list[str] = []
    for part in split_sentences(block):
        part = part.strip()
        if out and _ORDINAL_END.search(out[-1]):
            out[-1] = f"{out[-1]} {part}"
        elif part:
            out.append(part)
    return out


def explanation(text: str, limit: int = 650) -> str:
    """A short explanation drawn from a section: its first sentences and list items, in order."""
    parts: list[str] = []
    used = 0
    for block, item in _blocks(text, tables=True):
        if _FOOTER.search(block):
            block = _FOOTER.split(block)[0].rsplit(" - ", 2)[0].strip()
            if not block:
                continue
        pieces = _sentences(block)[:1] if item else _sentences(block)  # of a list item: its first sentence
        for piece in pieces:
            if used and used + len(piece) > limit:
                parts.append("…")
                return "\n".join(parts)
            parts.append(f"– {piece}" if item else piece)
            used += len(piece)
    return "\n".join(parts)


def quiz_sentences(text: str) -> list[str]:
    """Sentences of a chunk fit for a question: complete, of moderate length, not table or footer."""
    out: list[str] = []
    for block, _item in _blocks(text, tables=False):
        for s in _sentences(block):
            s = re.sub(r"^\(\d{1,2}\)\s+", "", s)
            if not (35 <= len(s) <= 260) or not s.endswith((".", "!", "?")):
                continue
            if _FOOTER.search(s) or "|" in s or len(s.split()) < 6:
                continue
            if not (s[0].isupper() or s[0] in "§"):
                continue
            out.append(s)
    return out


def fold_ae(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")


_NUMBER_WORDS = {"ein": 1, "eine": 1, "einen": 1, "einem": 1, "einer": 1, "eines": 1, "zwei": 2, "drei": 3,
                 "vier": 4, "fuenf": 5, "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10, "elf": 11,
                 "zwoelf": 12, "vierzehn": 14, "achtzehn": 18, "zwanzig": 20, "dreissig": 30, "sechzig": 60,
                 "neunzig": 90}
_UNIT_FORMS = ((re.compile(r"((?:arbeits|werk|kalender)?tag)(?:e|en|es|s)?"), r"\1"),
               (re.compile(r"(woche)n?"), r"\1"), (re.compile(r"(monat)(?:e|en|es|s)?"), r"\1"),
               (re.compile(r"(jahr)(?:e|en|es|s)?"), r"\1"), (re.compile(r"euro?"), "eur"),
               (re.compile(r"absatz|abs"), "abs"), (re.compile(r"artikel|art"), "art"))


def norm_answer(text: str) -> str:
    """Comparable form of an answer: case, whitespace, punctuation, ä/ae, number words (zwei = 2) and
    inflection of time units (Monaten = Monat) do not matter."""
    text = fold_ae(text).replace("€", " eur ").replace("%", " prozent ")
    out: list[str] = []
    for tok in re.findall(r"[a-z0-9§]+", text):
        if tok in _NUMBER_WORDS:
            tok = str(_NUMBER_WORDS[tok])
        else:
            for rx, repl in _UNIT_FORMS:
                m = rx.fullmatch(tok)
                if m:
                    tok = m.expand(repl)
                    break
        out.append(tok)
    return "".join(out)


def norm_question(text: str) -> str:
    """Grouping key of a question: case, ä/ae, whitespace and end punctuation do not matter."""
    return " ".join(re.sub(r"[^\w\s§\[\]-]", " ", fold_ae(text)).split())


# ---------------------------------------------------------------------------------------------
# key terms of a rule
# ---------------------------------------------------------------------------------------------

_NUM = (r"(?:\d{1,3}|[Ee]in(?:e[nmrs]?)?|zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf|vierzehn|"
        r"achtzehn|zwanzig|dreißig|sechzig|neunzig)")
_FRIST = re.compile(r"(?<![\w.,])" + _NUM + r"\s(?:(?:Arbeits|Werk|Kalender)?[Tt]ag(?:e|en|es)?|Wochen?|"
                    r"Monat(?:e|en|s)?|Jahr(?:e|en|es)?)\b")
_MONTHS = "Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember"
_DATUM = re.compile(r"(?<![\w.])\d{1,2}\.\s(?:" + _MONTHS + r")\b(?!\s\d{4})")
_BETRAG = re.compile(r"(?<![\w.,])\d{1,3}(?:\.\d{3})*(?:,\d{1,2})?\s?(?:EUR\b|Euro\b|€|Prozent\b|%)")
_LAW = r"(?:SGB\s(?:XII|XI|IX|X|VIII|VII|VI|IV|V|III|II|I)\b|[A-Z][A-Za-z]{1,10}(?:G|O|V|HO)\b)"
_VORSCHRIFT = re.compile(r"(?:§|Art\.)\s?\d+[a-z]?(?:\sAbs\.\s?\d+[a-z]?)?(?:\s(?:S\.|Satz)\s?\d+)?"
                         r"(?:\sNr\.\s?\d+)?\s" + _LAW)
_BOLD = re.compile(r"\*\*([^*\n]{3,40}?)[:.]?\*\*")


@dataclass(frozen=True)
class Term:
    kind: str  # frist | datum | betrag | vorschrift | begriff
    value: str
    start: int
    end: int


def extract_terms(sentence: str, key_terms: frozenset[str]) -> list[Term]:
    """Key values of a rule in one sentence: deadlines, dates, amounts, § references, key terms."""
    out: list[Term] = []
    for kind, rx in (("frist", _FRIST), ("datum", _DATUM), ("betrag", _BETRAG), ("vorschrift", _VORSCHRIFT)):
        out.extend(Term(kind, m.group(0), m.start(), m.end()) for m in rx.finditer(sentence))
    for term in key_terms:
        for m in re.finditer(r"(?<![\w-])" + re.escape(term) + r"(?![\w-])", sentence):
            out.append(Term("begriff", term, m.start(), m.end()))
    out.sort(key=lambda t: (t.start, -t.end))
    kept: list[Term] = []
    for t in out:  # no overlaps: the first (longest) wins
        if not kept or t.start >= kept[-1].end:
            kept.append(t)
    return kept


def bold_terms(text: str) -> set[str]:
    """Terms the author emphasised (``**Versagung**``): one capitalised word (hyphens allowed)."""
    out = set()
    for m in _BOLD.finditer(text):
        term = m.group(1).strip()
        if term[:1].isupper() and re.fullmatch(r"[A-Za-zÄÖÜäöüß]+(?:-[A-Za-zÄÖÜäöüß]+)*", term):
            out.add(term)
    return out


def form_key(term: Term) -> tuple[str, str]:
    """(strict, loose) form of a value, so that distractors read like the right answer."""
    v = term.value
    if term.kind == "frist":
        unit = v.split()[-1]
        return unit, unit[-2:]
    if term.kind == "betrag":
        unit = "prozent" if ("Prozent" in v or "%" in v) else "eur"
        return unit, unit
    if term.kind == "vorschrift":
        law = re.search(_LAW + r"$", v)
        return (law.group(0) if law else ""), "§"
    if term.kind == "begriff":
        return v[-3:].lower(), ""
    return "", ""
