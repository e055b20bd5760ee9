"""What kind of answer a caseworker's question asks for; the type decides the answer's shape.

- ``deadline``: a Frist, a date, a duration ("Bis wann ...", "Wie lange ...");
- ``amount``: a sum, a share, a rate ("Wie viel ...", "Wie hoch ...");
- ``list``: documents, points, requirements ("Welche Unterlagen ...", "Was muss drinstehen");
- ``steps``: a procedure ("Was muss ich tun, wenn ...", "Wie gehe ich vor ...");
- ``office``: who is competent ("Wer ist zuständig ...", "An wen ...");
- ``yesno``: a yes/no question with its condition ("Darf ich ...", "Muss ...");
- ``other``: anything else (explanations).
"""

from __future__ import annotations

import re

from indexer.text import DURATION, MONEY, OFFICE

_TYPES: tuple[tuple[str, re.Pattern], ...] = (
    ("steps", re.compile(
        r"\b(wie\s+(gehe|geh|gehen)\s+(ich|wir|man)|wie\s+(läuft|laufen|funktioniert)|was\s+(muss|soll|kann)\s+"
        r"(ich|man|wir)\s+(\w+\s+){0,3}(tun|machen|beachten|veranlassen)|was\s+tun|vorgehen|vorgehensweise|"
        r"schritte?\b|ablauf|wie\s+(fordere|fordern|lege|erstelle|mache|mach|bearbeite|prüfe|beantrage|"
        r"dokumentiere|reiche|leite|stelle)\b|wie\s+(\w+\s+){0,2}(ich|man)\s+\w+\s+(an|ab|vor|ein|weiter|nach|zu)\?)",
        re.I)),
    ("list", re.compile(
        r"\b(welche[nrs]?\s+(\w+\s+){0,2}(unterlagen|dokumente|nachweise|belege|papiere|angaben|punkte|"
        r"voraussetzungen|bedingungen|kosten|leistungen|sachen|dinge|inhalte|fälle|ausnahmen|bestandteile|"
        r"gründe|kriterien|arten|möglichkeiten|pflichten|daten|formulare)|was\s+(alles|braucht|brauche|"
        r"brauchen|gehört|muss\s+(\w+\s+){0,3}(rein|drin|enthalten|stehen|vorgelegt|vorlegen|einreichen|"
        r"beilegen|mitbringen))|was\s+muss\s+\w+\s+alles|\w+\s+alles\b)",
        re.I)),
    ("deadline", re.compile(
        r"\b(frist\w*|bis\s+wann|wie\s+lange|wie\s+viel\s+zeit|wann\b|innerhalb\s+welche|ab\s+wann|"
        r"zeitraum|wie\s+schnell|verjähr\w*|wie\s+viele\s+(tage|wochen|monate|jahre)|rückwirkend|zu\s+spät|"
        r"verspätet|rechtzeitig|vorlauf\w*|vorlaufzeit)",
        re.I)),
    ("amount", re.compile(
        r"\b(wie\s+viel|wieviel|wie\s+hoch|in\s+welcher\s+höhe|höhe\s+(des|der)|welche[rn]?\s+betrag|"
        r"wie\s+viele\s+euro|wie\s+teuer|pauschale|prozent|freibetrag|höchstbetrag|obergrenze)",
        re.I)),
    ("office", re.compile(r"\b(wer\s+(ist|sind|wäre)?\s*zuständig|zuständig\w*|an\s+wen|bei\s+wem|wohin|"
                          r"welche[rs]?\s+(stelle|amt|abteilung|sachgebiet|behörde|team))", re.I)),
    ("yesno", re.compile(r"^\s*(darf|dürfen|kann|können|muss|müssen|ist|sind|gibt|gilt|gelten|bekommt|"
                         r"bekommen|hat|haben|wird|werden|soll|sollen|reicht|zählt|zählen|braucht|brauche|"
                         r"sollte|brauchen|habe|kriege|krieg|geht|stimmt|besteht)\b", re.I)),
)

# the pattern of a passage unit that carries a fact of the type
FACT_PATTERNS: dict[str, re.Pattern] = {"deadline": DURATION, "amount": MONEY, "office": OFFICE}


def question_type(question: str) -> str:
    q = " ".join(question.split())
    for name, pattern in _TYPES:
        if pattern.search(q):
            return name
    return "other"
