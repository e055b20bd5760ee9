"""German labels of letter fields and their parts, for messages and the letters UI (never internal keys)."""

from __future__ import annotations

FIELD_LABELS = {
    "behoerde": "Behörde (Briefkopf)", "sachbearbeitung": "Sachbearbeitung (Kontakt)",
    "empfaenger": "Empfängerin oder Empfänger", "akte": "Akte", "datum": "Datum des Schreibens",
    "briefanrede": "Briefanrede", "frist": "Frist", "begruendung": "Weitere Begründung",
    "gruende": "Gründe (Textbausteine)", "voraussichtlich_bis": "Voraussichtlich entschieden bis",
    "zweck": "Zweck", "zustaendiger_traeger": "Zuständiger Träger", "zeitraum_von": "Zeitraum von",
    "zeitraum_bis": "Zeitraum bis", "verwendungsnachweis_bis": "Verwendungsnachweis bis",
    "unterlagen": "Unterlagen", "sachverhalt": "Sachverhalt", "rechtsweg": "Rechtsbehelf",
    "nebenbestimmungen": "Nebenbestimmungen", "grund_verzoegerung": "Grund der Verzögerung",
    "bezugsschreiben_datum": "Datum des Bezugsschreibens", "betrag": "Betrag",
    "beabsichtigte_entscheidung": "Beabsichtigte Entscheidung",
    "nachforderung": "Datum der ersten, unbeantworteten Anforderung",
}
KEY_LABELS = {
    "anrede": "Anrede", "name": "Name", "nachname": "Nachname", "vorname": "Vorname", "zusatz": "Zusatz",
    "strasse": "Straße und Hausnummer", "plz_ort": "PLZ und Ort", "amt": "Amt", "abteilung": "Abteilung",
    "email": "E-Mail", "telefon": "Telefon", "internet": "Internet", "zimmer": "Zimmer",
    "aktenzeichen": "Aktenzeichen", "antragsdatum": "Antragsdatum", "betreff": "Betreff", "verfahren": "Verfahren",
    "antragsart": "Art des Antrags", "eingangsdatum": "Eingangsdatum (Posteingang)",
    "antrag": "Antrag (wie im Brief genannt)",
}
#: the Rechtsbehelf of a Bescheid in words (the catalog's keys stay internal)
RECHTSWEG_LABELS = {
    "sgg": "Widerspruch (danach Klage zum Sozialgericht)",
    "vwgo_wahl": "Widerspruch oder unmittelbar Klage zum Verwaltungsgericht",
    "vwgo_klage": "Nur Klage zum Verwaltungsgericht (kein Widerspruchsverfahren)",
}


def field_label(name: str) -> str:
    """``empfaenger.plz_ort`` -> "Empfängerin oder Empfänger: PLZ und Ort"."""
    head, _, key = name.partition(".")
    label = FIELD_LABELS.get(head) or (head[:1].upper() + head[1:]).replace("_", " ")
    if key:
        return f"{label}: {KEY_LABELS.get(key, key.replace('_', ' '))}"
    return label
