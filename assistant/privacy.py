"""Personal data in what caseworkers type: a check before a question is sent, masking of what is kept.

Lotse answers from policy documents; a question needs no name, date of birth or IBAN. The chat asks
:func:`check_question` before sending and warns when the detector (:mod:`indexer.pii`) finds any;
conversation titles (shown in the list and kept as long as the conversation) are stored masked.
The check returns kinds and the masked text only; the values found are never logged.
"""

from __future__ import annotations

from indexer.pii import scrub

#: detector kind -> German name shown in the warning
KIND_LABELS = {"NAME": "Name", "IBAN": "IBAN", "STEUER_ID": "Steuer-ID", "SV_NUMMER": "Sozialversicherungsnummer",
               "TELEFON": "Telefonnummer", "EMAIL": "E-Mail-Adresse", "GEBURTSDATUM": "Geburtsdatum",
               "ADRESSE": "Anschrift", "GESUNDHEIT": "Angabe zur Gesundheit"}
WARNING = ("Ihre Frage enthält vermutlich personenbezogene Daten ({kinds}). Für Auskünfte aus den Richtlinien "
           "braucht Lotse sie nicht, und die Frage wird gespeichert. Bitte senden Sie die Frage ohne diese "
           "Angaben.")


def mask(text: str) -> str:
    """``text`` with every detected personal value replaced by a placeholder such as ``[NAME]``."""
    return scrub(text)[0]


def check_question(question: str) -> dict:
    """``{"personal_data": bool, "kinds": [German names], "masked": str, "message": str | None}``."""
    masked, findings = scrub(question)
    kinds: list[str] = []
    for f in findings:
        label = KIND_LABELS.get(f.kind, f.kind)
        if label not in kinds:
            kinds.append(label)
    return {"personal_data": bool(kinds), "kinds": kinds, "masked": masked,
            "message": WARNING.format(kinds=", ".join(kinds)) if kinds else None}
