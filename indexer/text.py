"""German text rules, in one place: sentences, list items, markup, citation numbers, time and money.

Every layer that cuts or reads German text uses these functions (chunking, the answer
providers, quizzes, letter proposals), so that "bis zum 18. Lebensjahr", "z. B.", "§ 66 Abs. 3
SGB I" and "am 1. Januar" are treated the same everywhere. Sentence boundaries come from
SoMaJo (a maintained German tokenizer and sentence splitter), not from hand-written regular
expressions; legal references are parsed in :mod:`indexer.analysis`.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache

# --- markup --------------------------------------------------------------------------------------
LIST_MARK = re.compile(r"^\s*(?:[-*•–]|\d{1,2}[.)])\s+")  # not "a)": it would eat "z. B." at a line start
# Emphasis is removed only where it is markup: a pair of ** or __, or *word* starting and ending at word
# edges. A lone asterisk is text and stays ("{{ 7*7 }}", "3*4", "Sozialhilfe*"): quotes are verbatim.
EMPHASIS_PAIRS = (re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*"),
                  re.compile(r"(?<!\w)__(?=\S)(.+?)(?<=\S)__(?!\w)"),
                  re.compile(r"(?<![\w*])\*(?=[^\s*])([^*\n]+?)(?<=[^\s*])\*(?![\w*])"))

# --- citations in answers ------------------------------------------------------------------------
CITE = re.compile(r"\[(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\]")


def cited_numbers(text: str) -> list[int]:
    """Citation numbers in order of first appearance: '... [2] ... [1, 3]' -> [2, 1, 3]."""
    seen: list[int] = []
    for m in CITE.finditer(text):
        for n in re.split(r"\s*[,;]\s*", m.group(1)):
            if int(n) not in seen:
                seen.append(int(n))
    return seen


def shift_citations(text: str, offset: int) -> str:
    """'[1] ... [2, 3]' -> '[4] ... [5, 6]' for offset 3 (answers appended after other cited text)."""
    def shift(m: re.Match) -> str:
        return "[" + ", ".join(str(int(n) + offset) for n in re.split(r"\s*[,;]\s*", m.group(1))) + "]"
    return CITE.sub(shift, text)


# --- sentences -----------------------------------------------------------------------------------
_lock = threading.Lock()
_tokenizer = None


def _somajo():
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            from somajo import SoMaJo

            _tokenizer = SoMaJo("de_CMC", split_camel_case=False, split_sentences=True, character_offsets=True)
    return _tokenizer


@lru_cache(maxsize=20_000)
def _split_cached(text: str) -> tuple[str, ...]:
    out: list[str] = []
    for sentence in _somajo().tokenize_text([text]):
        start = sentence[0].character_offset[0]
        end = sentence[-1].character_offset[1]
        piece = text[start:end].strip()
        if piece:
            out.append(piece)
    return tuple(out)


def split_sentences(text: str) -> list[str]:
    """Sentences of one paragraph of German text; never cut at ordinals, dates, abbreviations or §§."""
    text = text.strip()
    if not text:
        return []
    if len(text) < 40 and not re.search(r"[.!?]\s", text):
        return [text]
    return list(_split_cached(text))


def clean_line(line: str) -> tuple[bool, str]:
    """(is_list_item, text without list marker and emphasis markup) for one line of a chunk."""
    is_item = bool(LIST_MARK.match(line))
    text = LIST_MARK.sub("", line)
    for rx in EMPHASIS_PAIRS:
        text = rx.sub(r"\1", text)
    return is_item, text.strip()


_DANGLING_CONJUNCTION = re.compile(r"[,;]?\s+(?:und|oder|sowie|bzw\.)$")


def as_sentence(text: str) -> str:
    """A clean sentence for quoting: no dangling comma/semicolon or the conjunction that joined a list item to
    the next one ("... dauernd getrennt lebt, und"), ends with a full stop."""
    text = _DANGLING_CONJUNCTION.sub("", text.strip()).rstrip(",;")
    if text and text[-1] not in ".!?:)\"“”":
        text += "."
    return text


# --- facts of a type ----------------------------------------------------------------------------
_NUMBER_WORDS = r"(?:ein(?:e[mnr]?)?|zwei|drei|vier|fünf|sechs|sieben|acht|neun|zehn|elf|zwölf|vierzehn|" \
                r"achtzehn|zwanzig|dreißig|\d{1,4}(?:,\d+)?)"
DURATION = re.compile(
    rf"\b{_NUMBER_WORDS}\s+(?:(?:volle[nr]?|weitere[nr]?|kalender|arbeits|werk)\s*)?"
    r"(?:Tag|Tage|Tagen|Woche|Wochen|Monat|Monate|Monaten|Jahr|Jahre|Jahren|Stunden|Werktage|Arbeitstage|"
    r"Kalendertage|Kalendermonate|Lebensjahr|Lebensjahres)\b"
    r"|\bFrist\b|\bfristgerecht|\bunverzüglich\b|\bspätestens\b|\bbinnen\b|\binnerhalb\b|\bab dem\b|\bbis zum\b"
    # a calendar date or a day of the month ("zum 1. August", "ab dem Monatsersten", "am selben Tag")
    r"|\b\d{1,2}\.\s*(?:Januar|Februar|März|April|Mai|Juni|Juli|August|September|Oktober|November|Dezember)\b"
    r"|\bMonatsersten\b|\bersten\s+(?:Tag\s+)?des\s+(?:Monats|Folgemonats)\b|\bFolgemonat\w*|\bselben\s+(?:Arbeits)?tag\b",
    re.I,
)
MONEY = re.compile(r"\d[\d.]*(?:,\d+)?\s*(?:EUR|Euro|€|Prozent|%)|\b(?:Betrag|Höhe|Pauschale|Satz)\b", re.I)
OFFICE = re.compile(r"\b(?:zuständig\w*|Stelle|Amt|Sachgebiet\w*|Fachstelle|Sozialbürgerhaus|Abteilung|"
                    r"Ansprechpartner\w*|Behörde|Träger|Gericht|weiterleiten|weitergeleitet|Posteingang)\b", re.I)


# --- sources that try to steer ------------------------------------------------------------------
_STEERING = re.compile(
    r"(ignorier\w*|vergiss|missachte\w*|übergeh\w*)\s+(du\s+)?(alle\s+|sämtliche\s+)?(vorherigen|bisherigen|obigen|"
    r"früheren|deine)?\s*(anweisungen|instruktionen|regeln|vorgaben)"
    r"|ignore\s+(all\s+)?(previous|prior|above)\s+instructions"
    r"|\b(system\s*prompt|du\s+bist\s+(jetzt|ab\s+sofort|nun)|you\s+are\s+now)\b"
    r"|\bantworte\s+(nur\s+noch|ab\s+sofort|ausschließlich)\b"
    r"|\b(setze|setzt)\s+den\s+status\s+auf\b"
    # documents that vouch for their own approval
    r"|\b(dieses|das\s+vorliegende|dieses\s+vorliegende)\s+(dokument|schreiben|formular)\s+(wurde|ist)\s+"
    r"(bereits\s+)?(von|durch)\s+[^.]{0,60}(geprüft|freigegeben|genehmigt|autorisiert)"
    r"|\b(eine\s+)?weitere\s+prüfung\s+ist\s+(nicht|nicht\s+mehr)\s+(erforderlich|notwendig|nötig)",
    re.I,
)


def looks_like_steering(text: str) -> bool:
    """Text that gives instructions to an assistant or vouches for its own approval (never quoted)."""
    return bool(_STEERING.search(text))
