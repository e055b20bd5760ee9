"""Quotable units of a retrieved passage: sentences, list items and table rows, with their context.

A list item remembers the sentence that introduces its list, a table row its header, a sentence its
paragraph; paragraphs that try to steer an assistant are dropped whole.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from indexer.text import as_sentence, clean_line, looks_like_steering, split_sentences

# a sentence that a list continues: "Anspruch hat ein Kind, das", "Benötigt werden:"
_OPEN_END = re.compile(r"(?::|,\s*(?:das|die|der|dem|den|deren|dessen|wenn|falls|ob|dass|soweit|sofern|weil|wer)\.?|"
                       r"\b(?:und|oder|wenn|dass|sowie)\.?)$", re.I)

@dataclass(frozen=True)
class Unit:
    """A quotable piece of a passage: a sentence, a list item or a table row."""

    hit: int  # 1-based number of the passage
    text: str
    kind: str  # "sentence" | "item" | "row"
    group: int  # list/table id within the passage (-1 for running text)
    intro: str = ""  # the sentence introducing the list/table the unit belongs to
    header: str = ""  # a table's header row (matched, not quoted)
    para: int = -1  # paragraph number within the passage (running text)


@lru_cache(maxsize=4096)
def units(text: str, hit: int) -> tuple[Unit, ...]:
    """The units of one passage (cached: ranking, the answerability check and composing all read them)."""
    out: list[Unit] = []
    group = -1
    last_sentence = ""
    header = ""
    prev_kind = ""
    para = -1
    for line in text.splitlines():
        if not line.strip() or looks_like_steering(line):  # a quoted instruction spans its whole paragraph
            continue
        if "|" in line and not line.lstrip().startswith(("-", "*")):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if all(re.fullmatch(r":?-{2,}:?", c) or not c for c in cells):
                continue
            if prev_kind != "row":
                group += 1
                header = " – ".join(cells)  # first row of a table: its header
                prev_kind = "row"
                continue
            out.append(Unit(hit, as_sentence(" – ".join(c for c in cells if c)), "row", group, last_sentence, header))
            continue
        is_item, clean = clean_line(line)
        if is_item:
            if prev_kind != "item":
                group += 1
                # a sentence that only opens the list ("..., das", "Benötigt werden:") is no statement
                # of its own: it is quoted with the list's items, never alone
                if out and out[-1].kind == "sentence" and out[-1].text == last_sentence and opens_list(last_sentence):
                    out.pop()
            prev_kind = "item"
            if clean:
                out.append(Unit(hit, as_sentence(clean), "item", group, last_sentence))
            continue
        prev_kind = "sentence"
        para += 1
        for s in split_sentences(clean):
            s = s.strip()
            last_sentence = as_sentence(s)
            if 20 <= len(s) <= 700 or _VERDICT.match(s):
                out.append(Unit(hit, last_sentence, "sentence", -1, para=para))
    return tuple(out)


_VERDICT = re.compile(r"^(?:ja|nein|jein|grundsätzlich (?:ja|nein)|in der regel (?:ja|nein)|nur bedingt)\b[^.]{0,20}[.!]?$", re.I)


def neighbour_steps(seq: tuple[Unit, ...], i: int) -> str:
    """The text of list item ``seq[i]`` and the items right before and after it in the same list: a step of a
    procedure is read with the steps around it ("3. ... prüft innerhalb von zwei Arbeitstagen" after "2. ...
    an den Freigabekorb")."""
    return " ".join(v.text for v in seq[max(0, i - 1):i + 2] if v.group == seq[i].group)


def short_prose(seq: tuple[Unit, ...], max_sentences: int) -> bool:
    """Whether a passage is a few sentences of running text (an FAQ answer), to be quoted whole."""
    return bool(seq) and len(seq) <= max_sentences and all(u.kind == "sentence" for u in seq)


def opens_list(sentence: str) -> bool:
    """Whether ``sentence`` ends open, to be continued by the list after it."""
    return bool(_OPEN_END.search(sentence.strip()))


def with_intro(unit: Unit) -> str:
    """A list item or table row as a statement: an item continues an open lead-in sentence
    ("Anspruch hat ein Kind, das das 18. Lebensjahr noch nicht vollendet hat."); otherwise the
    lead-in and the item stand side by side ("Benötigt werden: Personalausweis.")."""
    if unit.kind not in ("row", "item") or not unit.intro:
        return unit.text
    intro = unit.intro.strip()
    if intro.endswith(":"):
        return f"{intro} {unit.text}"
    if opens_list(intro):
        return f"{intro.rstrip('.')} {unit.text}"
    return f"{intro.rstrip('.:')}: {unit.text}"
