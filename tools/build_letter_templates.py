#!/usr/bin/env python3
"""Build the routine-letter Word templates of Lotse (docxtpl / Jinja2) and their YAML sidecars.

The templates live in ``assistant/letters/templates/``. Each ``<name>.docx`` is a DIN 5008
business letter (Form B) with the letterhead "Landeshauptstadt München – Sozialreferat"; the
matching ``<name>.yaml`` sidecar declares title, case types, four-eyes flag, legal basis and
every context variable the template uses (see FIELD_SOURCES / FIELD_TYPES below).

Everything is generated from the data structures in this script so that the files are
reproducible (fixed document properties and zip timestamps). Run with the project venv:

    .venv/bin/python tools/build_letter_templates.py          # build all templates
    .venv/bin/python tools/build_letter_templates.py --check  # build, then verify

Rules for the template text (enforced by --check):

* every ``{{ ... }}`` / ``{% ... %}`` tag is written into ONE run, so docxtpl can render it;
* optional paragraphs use ``{%p if ... %}`` / ``{%p endif %}`` paragraph tags, lists use
  ``{%p for u in ... %}`` loops; multi-line text fields (Begründung, Sachverhalt, ...) are
  split into paragraphs with ``{%p for absatz in feld.splitlines() if absatz.strip() %}``;
* every top-level placeholder is declared in the sidecar ``fields`` and every declared field
  is used in the DOCX.

Rendering: the prefill code must render with ``DocxTemplate.render(context, autoescape=True)``
so that "&" or "<" in user or generated text cannot break the document XML.

Block types used in the letter definitions (``**text**`` inside a text marks bold):

    ("p", text)        body paragraph
    ("h", text)        bold intermediate heading (kept with the next paragraph)
    ("center", text)   centred bold paragraph (e.g. "Bescheid")
    ("num", n, text)   numbered paragraph with hanging indent ("1.", "2.", ...)
    ("li", text)       bullet list item (style "List Bullet")
    ("addr", text)     indented paragraph without spacing (address block inside the text)
    ("tag", text)      Jinja paragraph tag, e.g. "{%p if x %}" (the paragraph is removed)
    ("lines", var)     multi-line text variable, rendered as one paragraph per line
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import io
import re
import sys
import tempfile
import zipfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "assistant" / "letters" / "templates"

FIXED_DATE = _dt.datetime(2026, 3, 1, 8, 0, 0)

CASE_TYPES = ["wohngeld", "hilfe_zur_pflege", "bildung_teilhabe", "grundsicherung",
              "unterhaltsvorschuss", "zuschuss"]
# Procedures that are Sozialleistungen (SGB I / SGB X apply; WoGG and UVG are besondere
# Teile des SGB nach § 68 SGB I). Zuschüsse an Träger fall under BayVwVfG instead.
SGB_CASE_TYPES = [c for c in CASE_TYPES if c != "zuschuss"]

FIELD_SOURCES = {"efile", "user", "generated", "computed", "static"}
FIELD_TYPES = {"text", "date", "money", "list", "address", "case", "person", "organisation", "reasons"}
COMPUTED_RULE_RE = re.compile(r"^(today|days:\d+|workdays:\d+|months:\d+|briefanrede)$")

# --------------------------------------------------------------------------------------------
# Block helpers
# --------------------------------------------------------------------------------------------


def P(t):
    return ("p", t)


def H(t):
    return ("h", t)


def CENTER(t):
    return ("center", t)


def NUM(n, t):
    return ("num", n, t)


def LI(t):
    return ("li", t)


def ADDR(t):
    return ("addr", t)


def TAG(t):
    return ("tag", t)


def LINES(var):
    return ("lines", var)


def IF(cond, *blocks):
    return [TAG("{%p if " + cond + " %}"), *blocks, TAG("{%p endif %}")]


def FOR(var, seq, *blocks):
    return [TAG("{%p for " + var + " in " + seq + " %}"), *blocks, TAG("{%p endfor %}")]


def flatten(blocks):
    out = []
    for b in blocks:
        if isinstance(b, list):
            out.extend(flatten(b))
        else:
            out.append(b)
    return out


# --------------------------------------------------------------------------------------------
# Field helpers (sidecar "fields" entries)
# --------------------------------------------------------------------------------------------


def field(name, type_, source, required=True, **extra):
    f = {"name": name, "type": type_, "source": source, "required": required}
    f.update(extra)
    return f


COMMON_FIELDS = [
    field("behoerde", "organisation", "static",
          hint="Amt, Abteilung, Anschrift und Kontaktdaten aus der Konfiguration"),
    field("sachbearbeitung", "person", "static",
          hint="Name, Telefon, E-Mail und Zimmer der angemeldeten Sachbearbeitung"),
    field("empfaenger", "address", "efile"),
    field("akte", "case", "efile"),
    field("datum", "date", "computed", rule="today"),
    field("briefanrede", "text", "computed", rule="briefanrede",
          hint="aus der Anschrift abgeleitet, z. B. 'Sehr geehrte Frau Müller,' oder "
               "'Sehr geehrte Damen und Herren,'"),
]

FRIST_14 = field("frist", "date", "computed", rule="workdays:14",
                 hint="14 Kalendertage ab heute, auf den nächsten Werktag verschoben")

# --------------------------------------------------------------------------------------------
# Recurring text blocks
# --------------------------------------------------------------------------------------------

BEHOERDE_ANSCHRIFT = ("Landeshauptstadt München, Sozialreferat, {{ behoerde.amt }}, "
                      "{{ behoerde.strasse }}, {{ behoerde.plz_ort }}")

VG_MUENCHEN = ("Bayerischen Verwaltungsgericht München, Postfachanschrift: Postfach 20 05 43, "
               "80005 München, Hausanschrift: Bayerstraße 30, 80335 München")

# the caseworker's own telephone and e-mail where the profile has them, else the office's (once)
KONTAKT = [
    IF("sachbearbeitung.telefon or sachbearbeitung.email",
       P("Bei Fragen erreichen Sie mich telefonisch unter "
         "{{ sachbearbeitung.telefon or behoerde.telefon }} oder per E-Mail an "
         "{{ sachbearbeitung.email or behoerde.email }}. Bitte geben Sie bei allen Rückfragen Ihr "
         "Aktenzeichen {{ akte.aktenzeichen }} an.")),
    IF("not (sachbearbeitung.telefon or sachbearbeitung.email)",
       P("Bei Fragen erreichen Sie uns telefonisch unter {{ behoerde.telefon }} oder per E-Mail an "
         "{{ behoerde.email }}. Bitte geben Sie bei allen Rückfragen Ihr Aktenzeichen "
         "{{ akte.aktenzeichen }} an.")),
]

RB_WIDERSPRUCH_SGG = [
    P("Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Widerspruch erhoben "
      "werden. Der Widerspruch ist schriftlich, in elektronischer Form oder zur Niederschrift bei "
      f"der {BEHOERDE_ANSCHRIFT}, einzulegen (§ 84 Abs. 1 SGG)."),
    P("Hinweis: Eine einfache E-Mail genügt nicht. Die elektronische Form ist nur gewahrt, wenn "
      "der Widerspruch mit einer qualifizierten elektronischen Signatur versehen ist oder auf "
      "einem anderen nach § 36a Abs. 2 SGB I zugelassenen Weg übermittelt wird."),
]

RB_WAHL_VWGO = [
    P("Gegen diesen Bescheid kann innerhalb eines Monats nach seiner Bekanntgabe entweder "
      "Widerspruch eingelegt oder unmittelbar Klage erhoben werden."),
    P("**Wenn Widerspruch eingelegt wird:** Der Widerspruch ist schriftlich oder zur Niederschrift "
      f"bei der {BEHOERDE_ANSCHRIFT}, einzulegen."),
    P("**Wenn unmittelbar Klage erhoben wird:** Die Klage ist bei dem " + VG_MUENCHEN + ", "
      "schriftlich, zur Niederschrift oder elektronisch in einer für den Schriftformersatz "
      "zugelassenen Form zu erheben. Die Klage muss den Kläger, den Beklagten (Landeshauptstadt "
      "München) und den Gegenstand des Klagebegehrens bezeichnen und soll einen bestimmten Antrag "
      "enthalten. Die zur Begründung dienenden Tatsachen und Beweismittel sollen angegeben und "
      "der angefochtene Bescheid soll in Abschrift beigefügt werden."),
    P("Hinweis: Die Einlegung eines Rechtsbehelfs per einfacher E-Mail ist nicht zugelassen und "
      "entfaltet keine rechtlichen Wirkungen. Nähere Informationen zur elektronischen Einlegung "
      "von Rechtsbehelfen finden Sie auf der Internetseite der Bayerischen "
      "Verwaltungsgerichtsbarkeit (www.vgh.bayern.de)."),
]

RB_KLAGE_VWGO = [
    P("Gegen diesen Bescheid kann innerhalb eines Monats nach seiner Bekanntgabe Klage erhoben "
      "werden bei dem " + VG_MUENCHEN + ", schriftlich, zur Niederschrift oder elektronisch in "
      "einer für den Schriftformersatz zugelassenen Form. Die Klage muss den Kläger, den "
      "Beklagten (Landeshauptstadt München) und den Gegenstand des Klagebegehrens bezeichnen und "
      "soll einen bestimmten Antrag enthalten. Die zur Begründung dienenden Tatsachen und "
      "Beweismittel sollen angegeben und der angefochtene Bescheid soll in Abschrift beigefügt "
      "werden."),
    P("Ein Widerspruchsverfahren findet nicht statt; es ist in Bayern für diese Angelegenheiten "
      "entfallen (Art. 12 Abs. 2 AGVwGO)."),
    P("Hinweise: Die Einlegung eines Rechtsbehelfs per einfacher E-Mail ist nicht zugelassen und "
      "entfaltet keine rechtlichen Wirkungen. Nähere Informationen zur elektronischen Einlegung "
      "von Rechtsbehelfen finden Sie auf der Internetseite der Bayerischen "
      "Verwaltungsgerichtsbarkeit (www.vgh.bayern.de). Kraft Bundesrecht wird in Prozessverfahren "
      "vor den Verwaltungsgerichten infolge der Klageerhebung eine Verfahrensgebühr fällig."),
]

MULTILINE_HINT = "Mehrere Absätze durch Zeilenumbruch trennen."


def REASONS(kind, required, hint):
    """A reasons field: blocks from the procedure's catalog (gruende/*.yaml) with the facts filled in."""
    return field("gruende", "reasons", "user", required=required, reasons=kind, hint=hint)


def REASON_TEXT(var="gruende"):
    """The rendered text of every chosen block, one paragraph per line."""
    return [TAG("{%p for g in " + var + " %}"),
            TAG("{%p for absatz in g.text.splitlines() if absatz.strip() %}"),
            P("{{ absatz }}"),
            TAG("{%p endfor %}"),
            TAG("{%p endfor %}")]


#: the chosen reasons decide a Versagung (§ 66 Abs. 1 SGB I; block with ``entscheidung: versagung``)
VERSAGUNG = "'versagung' in gruende|map(attribute='entscheidung', default='')|list"

FREE_REASON = field("begruendung", "text", "user", required=False,
                    hint="Weitere Ausführungen in eigenen Worten (optional). " + MULTILINE_HINT)

# --------------------------------------------------------------------------------------------
# Letter definitions
# --------------------------------------------------------------------------------------------

TEMPLATES = [
    {
        "name": "eingangsbestaetigung",
        "title": "Eingangsbestätigung",
        "description": ("Bestätigt den Eingang eines Antrags, nennt das Aktenzeichen und auf Wunsch "
                        "den voraussichtlichen Entscheidungszeitpunkt."),
        "case_types": CASE_TYPES,
        "four_eyes": False,
        "legal_basis": [],
        "betreff": "Eingangsbestätigung",
        "fields": COMMON_FIELDS + [
            field("voraussichtlich_bis", "date", "user", required=False,
                  hint="Voraussichtlicher Entscheidungszeitpunkt (optional)"),
        ],
        "body": [
            IF("akte.eingangsdatum",
               P("vielen Dank für Ihren {{ akte.antrag }} vom "
                 "{{ akte.antragsdatum }}. Hiermit bestätigen wir Ihnen, dass Ihr Antrag am "
                 "**{{ akte.eingangsdatum }}** bei uns eingegangen ist.")),
            IF("not akte.eingangsdatum",
               P("vielen Dank für Ihren {{ akte.antrag }} vom "
                 "{{ akte.antragsdatum }}. Hiermit bestätigen wir Ihnen, dass Ihr Antrag bei uns "
                 "eingegangen ist.")),
            P("Ihr Antrag wird unter dem Aktenzeichen **{{ akte.aktenzeichen }}** bearbeitet. Bitte "
              "geben Sie dieses Aktenzeichen bei allen Schreiben und Rückfragen an. So können wir "
              "Ihr Anliegen schneller zuordnen."),
            IF("voraussichtlich_bis",
               P("Nach derzeitigem Stand gehen wir davon aus, dass wir bis zum "
                 "{{ voraussichtlich_bis }} über Ihren Antrag entscheiden können.")),
            P("Wir prüfen Ihren Antrag jetzt. Falls wir noch Unterlagen oder Angaben von Ihnen "
              "benötigen, schreiben wir Ihnen gesondert. Sie müssen im Moment nichts weiter "
              "unternehmen."),
            IF("\"Zuschuss\" in akte.verfahren",
               P("Bitte teilen Sie uns Änderungen, die für Ihren Antrag wichtig sind, umgehend mit – "
                 "zum Beispiel eine neue Anschrift, eine Änderung des Vorhabens oder des "
                 "Finanzierungsplans.")),
            IF("\"Zuschuss\" not in akte.verfahren",
               P("Bitte teilen Sie uns Änderungen, die für Ihren Antrag wichtig sind, umgehend mit – "
                 "zum Beispiel eine neue Anschrift, geänderte Einkommensverhältnisse oder eine "
                 "Änderung in Ihrem Haushalt.")),
            KONTAKT,
            P("Informationen zum Datenschutz nach Art. 13 DSGVO finden Sie unter "
              "{{ behoerde.internet }}."),
        ],
    },
    {
        "name": "anforderung_unterlagen",
        "title": "Anforderung fehlender Unterlagen",
        "description": ("Fordert die in der E-Akte fehlenden Unterlagen an. Erste Anforderung mit der "
                        "Frist der Amtsregel ohne Versagungshinweis; erst nach einer erfolglosen "
                        "Anforderung mit Frist von zwei Wochen und Hinweis nach § 66 Abs. 3 SGB I."),
        "case_types": SGB_CASE_TYPES,
        "four_eyes": False,
        "legal_basis": ["§ 60 SGB I", "§ 66 SGB I", "§ 67 SGB I"],
        "betreff": "Anforderung fehlender Unterlagen – Ihre Mitwirkung nach § 60 SGB I",
        "fields": COMMON_FIELDS + [
            field("frist", "date", "computed", rule="workdays:14",
                  hint="Nach der Regel des Amts: erste Anforderung bei Wohngeld und Unterhaltsvorschuss drei "
                       "Wochen, sonst zwei Wochen; erneute Anforderung zwei Wochen; ab heute, auf den "
                       "nächsten Werktag verschoben"),
            field("nachforderung", "date", "efile", required=False,
                  hint="Datum der ersten, erfolglosen Anforderung (aus der E-Akte). Leer bei der ersten "
                       "Anforderung: dann ohne Hinweis auf die Versagung. Ausgefüllt: erneute Anforderung "
                       "mit Hinweis nach § 66 Abs. 3 SGB I"),
            field("unterlagen", "list", "generated",
                  hint="Welche Unterlagen fehlen? Vorschlag: Checkliste des Verfahrens abzüglich der "
                       "Unterlagen in der E-Akte",
                  query="Erforderliche Unterlagen und Nachweise für den Antrag, Checkliste "
                        "fehlende Nachweise"),
        ],
        "body": [
            IF("not nachforderung",
               P("vielen Dank für Ihren {{ akte.antrag }} vom "
                 "{{ akte.antragsdatum }}. Damit wir über Ihren Antrag entscheiden können, benötigen "
                 "wir noch die folgenden Unterlagen:")),
            IF("nachforderung",
               P("mit Schreiben vom {{ nachforderung }} hatten wir Sie gebeten, uns für Ihren "
                 "{{ akte.antrag }} vom {{ akte.antragsdatum }} "
                 "Unterlagen einzureichen. Leider liegen uns die folgenden Unterlagen bis heute nicht "
                 "vor:")),
            FOR("u", "unterlagen", LI("{{ u }}")),
            P("Bitte reichen Sie die Unterlagen **bis spätestens {{ frist }}** bei uns ein. Bitte "
              "senden Sie uns nur Kopien; Originale benötigen wir nur, wenn wir Sie ausdrücklich "
              "darum bitten."),
            P("Wenn Sie einzelne Unterlagen nicht rechtzeitig beschaffen können, melden Sie sich "
              "bitte vor Ablauf der Frist bei uns. Wir finden dann gemeinsam eine Lösung, zum "
              "Beispiel eine Verlängerung der Frist."),
            IF("not nachforderung",
               H("Ihre Mitwirkung"),
               P("Wer Sozialleistungen beantragt, muss nach § 60 Abs. 1 Satz 1 SGB I alle Tatsachen "
                 "angeben, die für die Leistung erheblich sind, und Beweisurkunden vorlegen oder ihrer "
                 "Vorlage zustimmen. Ohne die genannten Unterlagen können wir über Ihren Antrag nicht "
                 "abschließend entscheiden.")),
            IF("nachforderung",
               H("Hinweis auf Ihre Mitwirkungspflichten und die Folgen fehlender Mitwirkung"),
               P("Wer Sozialleistungen beantragt, muss nach § 60 Abs. 1 Satz 1 SGB I alle Tatsachen "
                 "angeben, die für die Leistung erheblich sind, und Beweisurkunden vorlegen oder ihrer "
                 "Vorlage zustimmen."),
               P("Kommen Sie dieser Mitwirkungspflicht nicht nach und wird dadurch die Aufklärung des "
                 "Sachverhalts erheblich erschwert, kann die Leistung nach § 66 Abs. 1 SGB I ohne "
                 "weitere Ermittlungen bis zur Nachholung der Mitwirkung ganz oder teilweise versagt "
                 "werden. Nach § 66 Abs. 3 SGB I weisen wir Sie deshalb ausdrücklich darauf hin: "
                 "**Wenn Sie die oben genannten Unterlagen nicht bis zum {{ frist }} vorlegen, kann "
                 "die beantragte Leistung ganz oder teilweise versagt werden.**"),
               P("Reichen Sie die Unterlagen später nach, prüfen wir nach § 67 SGB I, ob die Leistung "
                 "nachträglich ganz oder teilweise erbracht werden kann.")),
            KONTAKT,
        ],
    },
    {
        "name": "anhoerung",
        "title": "Anhörung vor Erlass eines belastenden Verwaltungsakts",
        "description": ("Anhörung nach § 24 SGB X: teilt die beabsichtigte Entscheidung und den "
                        "Sachverhalt mit und gibt Gelegenheit zur Äußerung bis zu einer Frist."),
        "case_types": SGB_CASE_TYPES,
        "four_eyes": True,
        "legal_basis": ["§ 24 SGB X"],
        "betreff": "Anhörung nach § 24 SGB X",
        "fields": COMMON_FIELDS + [
            FRIST_14,
            field("beabsichtigte_entscheidung", "text", "user",
                  hint="Welche Entscheidung ist beabsichtigt (z. B. Aufhebung ab ..., Erstattung "
                       "von ... EUR)? " + MULTILINE_HINT),
            field("sachverhalt", "text", "user",
                  hint="Für die Entscheidung erhebliche Tatsachen. " + MULTILINE_HINT),
            REASONS("aufhebung", False, "Rechtliche Würdigung: Aufhebungsgründe aus dem Katalog des Verfahrens "
                    "wählen und die Tatsachen des Einzelfalls ausfüllen (optional)"),
            FREE_REASON,
        ],
        "body": [
            P("in Ihrer Angelegenheit {{ akte.verfahren }} ({{ akte.antragsart or \"Antrag\" }} vom "
              "{{ akte.antragsdatum }}) "
              "beabsichtigen wir, eine Entscheidung zu treffen, die in Ihre Rechte eingreift. Bevor "
              "wir entscheiden, geben wir Ihnen nach § 24 Abs. 1 SGB X Gelegenheit, sich zu den für "
              "die Entscheidung erheblichen Tatsachen zu äußern."),
            H("Beabsichtigte Entscheidung"),
            LINES("beabsichtigte_entscheidung"),
            H("Sachverhalt"),
            LINES("sachverhalt"),
            IF("gruende or begruendung",
               H("Rechtliche Würdigung"),
               REASON_TEXT(),
               IF("begruendung", LINES("begruendung"))),
            H("Ihre Gelegenheit zur Äußerung"),
            P("Sie können sich **bis zum {{ frist }}** schriftlich oder zur Niederschrift bei uns "
              "äußern. Teilen Sie uns bitte insbesondere mit, ob der dargestellte Sachverhalt "
              "zutrifft, und reichen Sie Nachweise ein, die aus Ihrer Sicht für die Entscheidung "
              "wichtig sind. Gerne können Sie auch einen Termin für ein persönliches Gespräch mit "
              "mir vereinbaren."),
            P("Ihre Äußerung ist freiwillig. Erhalten wir bis zum {{ frist }} keine Nachricht von "
              "Ihnen, entscheiden wir auf Grundlage der uns vorliegenden Unterlagen."),
            P("Bitte beachten Sie: Dieses Schreiben ist noch kein Bescheid. Ein Widerspruch ist "
              "deshalb jetzt nicht möglich. Über Ihre Rechtsbehelfe gegen die spätere Entscheidung "
              "werden Sie im Bescheid informiert."),
            KONTAKT,
        ],
    },
    {
        "name": "bewilligung_zuschuss",
        "title": "Bewilligungsbescheid Zuschuss",
        "description": ("Zuwendungsbescheid für einen freien Träger oder Wohlfahrtsverband: Betrag, "
                        "Bewilligungszeitraum, Zweck, Nebenbestimmungen, Verwendungsnachweis und "
                        "Rechtsbehelfsbelehrung (Klage zum VG München, Vorverfahren in Bayern "
                        "entfallen)."),
        "case_types": ["zuschuss"],
        "four_eyes": True,
        "legal_basis": ["Zuschussrichtlinien der Landeshauptstadt München", "Art. 35 BayVwVfG",
                        "Art. 36 BayVwVfG", "Art. 48 BayVwVfG", "Art. 49 BayVwVfG",
                        "Art. 49a BayVwVfG", "Art. 12 Abs. 2 AGVwGO"],
        "betreff": "Zuwendungsbescheid – Bewilligung eines Zuschusses",
        "fields": COMMON_FIELDS + [
            field("betrag", "money", "user", hint="Bewilligter Betrag, z. B. '12.500,00 EUR'"),
            field("zeitraum_von", "date", "user", hint="Beginn des Bewilligungszeitraums"),
            field("zeitraum_bis", "date", "user", hint="Ende des Bewilligungszeitraums"),
            field("zweck", "text", "user", hint="Zuwendungszweck (Projekt/Maßnahme)"),
            field("nebenbestimmungen", "list", "generated",
                  hint="Besondere Nebenbestimmungen (Auflagen, Bedingungen) dieses Bescheids. Vorschlag: "
                       "die Nebenbestimmungen des Amts (Amtsregeln); für das Vorhaben prüfen, streichen "
                       "oder ergänzen",
                  query="Nebenbestimmungen Zuwendungsbescheid ANBest-P Projektförderung Auflagen "
                        "Mittelabruf Mitteilungspflichten"),
            field("verwendungsnachweis_bis", "date", "user",
                  hint="Vorlagefrist Verwendungsnachweis, in der Regel 30.06. des Folgejahres"),
        ],
        "body": [
            P("auf Ihren Antrag vom {{ akte.antragsdatum }} ergeht folgender"),
            CENTER("Bescheid:"),
            NUM("1.", "Die Landeshauptstadt München bewilligt {{ empfaenger.name }} für den "
                      "Bewilligungszeitraum vom **{{ zeitraum_von }} bis {{ zeitraum_bis }}** einen "
                      "Zuschuss im Wege der Projektförderung in Höhe von **{{ betrag }}**."),
            NUM("2.", "Der Zuschuss ist zweckgebunden. Er darf ausschließlich für folgenden Zweck "
                      "verwendet werden: {{ zweck }}"),
            NUM("3.", "Dieser Bescheid ergeht unter den folgenden Nebenbestimmungen "
                      "(Art. 36 BayVwVfG):"),
            FOR("nb", "nebenbestimmungen", LI("{{ nb }}")),
            NUM("", "Die Allgemeinen Nebenbestimmungen für Zuwendungen zur Projektförderung der "
                    "Landeshauptstadt München (ANBest-P) sind Bestandteil dieses Bescheids."),
            NUM("4.", "Die zweckentsprechende Verwendung des Zuschusses ist bis spätestens "
                      "**{{ verwendungsnachweis_bis }}** durch einen Verwendungsnachweis "
                      "(Sachbericht und zahlenmäßiger Nachweis) nachzuweisen."),
            H("Begründung"),
            P("Sie haben mit Antrag vom {{ akte.antragsdatum }} einen Zuschuss für den oben "
              "genannten Zweck beantragt. Die Landeshauptstadt München fördert nach ihren "
              "Zuschussrichtlinien Vorhaben, an deren Durchführung sie ein erhebliches Interesse "
              "hat. Ihr Vorhaben erfüllt die Fördervoraussetzungen. Der Zuschuss wird im Rahmen der "
              "verfügbaren Haushaltsmittel nach pflichtgemäßem Ermessen gewährt; ein Rechtsanspruch "
              "auf die Förderung besteht nicht."),
            P("Die Nebenbestimmungen beruhen auf Art. 36 Abs. 2 BayVwVfG. Sie stellen sicher, dass "
              "der Zuschuss zweckentsprechend, wirtschaftlich und sparsam verwendet wird."),
            H("Hinweise"),
            P("Bitte teilen Sie uns unverzüglich mit, wenn sich der Zweck, der Finanzierungsplan "
              "oder andere für die Bewilligung maßgebliche Umstände ändern."),
            P("Wird der Zuschuss nicht oder nicht zweckentsprechend verwendet oder wird der "
              "Verwendungsnachweis nicht fristgerecht vorgelegt, kann dieser Bescheid nach Art. 48 "
              "oder 49 BayVwVfG ganz oder teilweise aufgehoben werden. Der zu erstattende Betrag "
              "ist nach Art. 49a BayVwVfG zu verzinsen."),
            H("Rechtsbehelfsbelehrung"),
            *RB_KLAGE_VWGO,
        ],
    },
    {
        "name": "ablehnung",
        "title": "Ablehnungsbescheid",
        "description": ("Bescheid über die Ablehnung eines Antrags. Die Begründung entsteht aus den "
                        "Ablehnungsgründen des Verfahrens mit den Tatsachen des Einzelfalls (§ 35 SGB X); "
                        "ist der gewählte Grund eine Versagung wegen fehlender Mitwirkung, lauten Tenor und "
                        "Betreff auf Versagung (§ 66 Abs. 1 SGB I). "
                        "Die Rechtsbehelfsbelehrung richtet sich nach dem Verfahren: Widerspruch "
                        "(Sozialhilfe, Bildung und Teilhabe), Widerspruch oder Klage (Wohngeld, "
                        "Unterhaltsvorschuss) oder nur Klage (Zuschüsse)."),
        "case_types": CASE_TYPES,
        "four_eyes": True,
        "legal_basis": ["§ 35 SGB X", "Art. 39 BayVwVfG", "§ 66 SGB I", "§ 84 SGG", "§ 70 VwGO", "§ 74 VwGO",
                        "Art. 12 AGVwGO"],
        "betreff": ("Bescheid – {% if " + VERSAGUNG + " %}Versagung der Leistung wegen fehlender Mitwirkung "
                    "(§ 66 SGB I){% else %}Ablehnung Ihres "
                    "{{ akte.antragsart or \"Antrag\" }}s{% endif %}"),
        "fields": COMMON_FIELDS + [
            REASONS("ablehnung", True, "Ablehnungsgründe aus dem Katalog des Verfahrens wählen und die "
                    "Tatsachen des Einzelfalls ausfüllen; vor dem Einreichen wird geprüft, dass Tatsachen "
                    "und Rechtsgrundlage genannt sind (§ 35 SGB X)"),
            FREE_REASON,
            field("rechtsweg", "text", "static",
                  hint="Rechtsbehelf nach dem Verfahren (aus dem Verfahrenskatalog): Widerspruch bei "
                       "Sozialhilfe und Bildung und Teilhabe; Widerspruch oder Klage bei Wohngeld und "
                       "Unterhaltsvorschuss; nur Klage bei Zuschüssen"),
        ],
        "body": [
            IF(VERSAGUNG,
               P("über Ihren {{ akte.antrag }} vom {{ akte.antragsdatum }} können wir nicht "
                 "entscheiden, weil uns die dafür erforderlichen Unterlagen trotz unserer Aufforderung "
                 "nicht vorliegen. Es ergeht deshalb folgender")),
            IF("not " + VERSAGUNG,
               P("wir haben Ihren {{ akte.antrag }} vom {{ akte.antragsdatum }} "
                 "sorgfältig geprüft. Leider können wir Ihrem Antrag nicht entsprechen. Es ergeht "
                 "deshalb folgender")),
            CENTER("Bescheid:"),
            IF(VERSAGUNG,
               P("Die mit Ihrem {{ akte.antrag }} vom {{ akte.antragsdatum }} beantragte Leistung wird "
                 "nach § 66 Abs. 1 SGB I bis zur Nachholung der Mitwirkung ganz versagt.")),
            IF("not " + VERSAGUNG,
               P("Ihr {{ akte.antrag }} vom {{ akte.antragsdatum }} wird abgelehnt.")),
            H("Begründung"),
            REASON_TEXT(),
            IF("begruendung", LINES("begruendung")),
            IF("\"Zuschuss\" not in akte.verfahren and not " + VERSAGUNG,
               P("Sollten sich Ihre Verhältnisse künftig ändern, können Sie jederzeit einen neuen "
                 "Antrag stellen. Gerne berate ich Sie dazu.")),
            IF("\"Zuschuss\" in akte.verfahren",
               P("Für künftige Vorhaben können Sie jederzeit einen neuen Antrag stellen. Gerne berate "
                 "ich Sie dazu.")),
            H("Rechtsbehelfsbelehrung"),
            TAG("{%p if rechtsweg == 'vwgo_klage' %}"),
            *RB_KLAGE_VWGO,
            TAG("{%p elif rechtsweg == 'vwgo_wahl' %}"),
            *RB_WAHL_VWGO,
            TAG("{%p elif rechtsweg == 'sgg' %}"),
            *RB_WIDERSPRUCH_SGG,
            TAG("{%p else %}"),
            P("**[ACHTUNG – RECHTSBEHELFSBELEHRUNG FEHLT: Rechtsweg nicht festgelegt "
              "(rechtsweg = sgg, vwgo_wahl oder vwgo_klage). Bescheid so nicht versenden.]**"),
            TAG("{%p endif %}"),
        ],
    },
    {
        "name": "erinnerung",
        "title": "Erinnerung",
        "description": ("Erinnert an ein früheres Schreiben (z. B. Anforderung von Unterlagen), setzt "
                        "eine neue Frist und wiederholt den Hinweis nach § 66 Abs. 3 SGB I."),
        "case_types": SGB_CASE_TYPES,
        "four_eyes": False,
        "legal_basis": ["§ 60 SGB I", "§ 66 SGB I"],
        "betreff": "Erinnerung an unser Schreiben vom {{ bezugsschreiben_datum }}",
        "fields": COMMON_FIELDS + [
            field("bezugsschreiben_datum", "date", "user",
                  hint="Datum des Schreibens, an das erinnert wird"),
            FRIST_14,
            field("unterlagen", "list", "user", required=False,
                  hint="Noch fehlende Unterlagen (optional; sonst Verweis auf das Schreiben)"),
        ],
        "body": [
            P("mit Schreiben vom {{ bezugsschreiben_datum }} haben wir Sie gebeten, uns für Ihren "
              "{{ akte.antrag }} vom {{ akte.antragsdatum }} "
              "Unterlagen beziehungsweise Angaben zukommen zu lassen. Leider liegen uns diese bis "
              "heute nicht vollständig vor."),
            IF("unterlagen",
               P("Es fehlen noch:"),
               FOR("u", "unterlagen", LI("{{ u }}"))),
            P("Bitte reichen Sie die fehlenden Unterlagen **bis spätestens {{ frist }}** bei uns "
              "ein. Sollten Sie die Unterlagen in den letzten Tagen bereits abgeschickt haben, "
              "betrachten Sie dieses Schreiben bitte als gegenstandslos."),
            P("Wenn Sie Schwierigkeiten haben, die Unterlagen zu beschaffen, rufen Sie mich bitte "
              "an. Wir suchen dann gemeinsam nach einer Lösung."),
            H("Hinweis auf die Folgen fehlender Mitwirkung"),
            P("Nach § 60 Abs. 1 SGB I sind Sie verpflichtet, die für die Leistung erheblichen "
              "Tatsachen anzugeben und Beweisurkunden vorzulegen. Wir weisen Sie nach § 66 Abs. 3 "
              "SGB I erneut darauf hin: **Wenn Sie die angeforderten Unterlagen nicht bis zum "
              "{{ frist }} vorlegen, kann die beantragte Leistung nach § 66 Abs. 1 SGB I ohne "
              "weitere Ermittlungen bis zur Nachholung der Mitwirkung ganz oder teilweise versagt "
              "werden.**"),
            KONTAKT,
        ],
    },
    {
        "name": "weiterleitung",
        "title": "Weiterleitung an den zuständigen Träger",
        "description": ("Informiert die antragstellende Person, dass der Antrag nach § 16 Abs. 2 "
                        "SGB I an den zuständigen Leistungsträger weitergeleitet wurde und als am "
                        "ursprünglichen Tag gestellt gilt."),
        "case_types": SGB_CASE_TYPES,
        "four_eyes": False,
        "legal_basis": ["§ 16 Abs. 2 SGB I", "§ 69 Abs. 1 Nr. 1 SGB X"],
        "betreff": "Weiterleitung Ihres {{ akte.antragsart or \"Antrag\" }}s an den zuständigen Leistungsträger",
        "fields": COMMON_FIELDS + [
            field("zustaendiger_traeger", "organisation", "user",
                  hint="Zuständiger Leistungsträger mit Anschrift (Name, Straße, PLZ und Ort) und, wenn "
                       "bekannt, seiner Telefonnummer für Rückfragen"),
            REASONS("weiterleitung", False, "Warum ist die Landeshauptstadt München nicht zuständig? "
                    "Weiterleitungsgrund aus dem Katalog wählen und die Tatsachen ausfüllen (optional)"),
            FREE_REASON,
        ],
        "body": [
            P("Ihr {{ akte.antrag }} vom {{ akte.antragsdatum }} ist am "
              "{{ akte.eingangsdatum or akte.antragsdatum }} bei uns eingegangen. Nach Prüfung Ihres "
              "Antrags müssen wir Ihnen leider mitteilen, dass wir für die Entscheidung über Ihren "
              "Antrag nicht zuständig sind."),
            REASON_TEXT(),
            IF("begruendung", LINES("begruendung")),
            P("Wir haben Ihren Antrag deshalb nach § 16 Abs. 2 Satz 1 SGB I unverzüglich an den "
              "zuständigen Leistungsträger weitergeleitet:"),
            ADDR("**{{ zustaendiger_traeger.name }}**"),
            ADDR("{{ zustaendiger_traeger.strasse }}"),
            ADDR("{{ zustaendiger_traeger.plz_ort }}"),
            IF("zustaendiger_traeger.get('telefon')",
               ADDR("Telefon {{ zustaendiger_traeger.telefon }}")),
            P(""),
            P("**Wichtig für Sie:** Ihr Antrag gilt nach § 16 Abs. 2 Satz 2 SGB I als an dem Tag "
              "gestellt, an dem er bei uns eingegangen ist, also am "
              "{{ akte.eingangsdatum or akte.antragsdatum }}. Durch "
              "die Weiterleitung entstehen Ihnen keine Nachteile. Sie müssen keinen neuen Antrag "
              "stellen."),
            P("Der zuständige Träger wird sich direkt mit Ihnen in Verbindung setzen. Bitte richten "
              "Sie weitere Schreiben und Unterlagen zu diesem Antrag künftig unmittelbar an ihn."),
            P("Ihre Daten haben wir nur übermittelt, soweit dies für die Bearbeitung Ihres Antrags "
              "durch den zuständigen Träger erforderlich ist (§ 69 Abs. 1 Nr. 1 SGB X)."),
            KONTAKT,
        ],
    },
    {
        "name": "zwischennachricht",
        "title": "Zwischennachricht bei längerer Bearbeitung",
        "description": ("Informiert darüber, dass die Bearbeitung länger dauert, nennt den Grund und "
                        "den voraussichtlichen Entscheidungszeitpunkt."),
        "case_types": CASE_TYPES,
        "four_eyes": False,
        "legal_basis": [],
        "betreff": "Zwischennachricht zum Stand Ihres {{ akte.antragsart or \"Antrag\" }}s",
        "fields": COMMON_FIELDS + [
            field("grund_verzoegerung", "text", "user",
                  hint="Warum dauert die Bearbeitung länger? " + MULTILINE_HINT),
            field("voraussichtlich_bis", "date", "user",
                  hint="Voraussichtlicher Entscheidungszeitpunkt"),
        ],
        "body": [
            P("Sie haben am {{ akte.antragsdatum }} einen {{ akte.antrag }} gestellt. "
              "Leider können wir über Ihren Antrag noch nicht abschließend entscheiden. Dafür "
              "bitten wir Sie um Verständnis."),
            P("Der Grund dafür ist:"),
            LINES("grund_verzoegerung"),
            P("Nach derzeitigem Stand gehen wir davon aus, dass wir bis zum "
              "**{{ voraussichtlich_bis }}** über Ihren Antrag entscheiden können. Sollte sich "
              "dieser Zeitpunkt verschieben, informieren wir Sie erneut."),
            IF("\"Zuschuss\" not in akte.verfahren",
               P("Sie müssen im Moment nichts weiter unternehmen. Wenn sich in der Zwischenzeit etwas "
                 "an Ihren Verhältnissen ändert, teilen Sie uns dies bitte mit.")),
            IF("\"Zuschuss\" in akte.verfahren",
               P("Sie müssen im Moment nichts weiter unternehmen. Wenn sich in der Zwischenzeit Ihr "
                 "Vorhaben oder seine Finanzierung ändert, teilen Sie uns dies bitte mit.")),
            KONTAKT,
        ],
    },
]

# --------------------------------------------------------------------------------------------
# DOCX building
# --------------------------------------------------------------------------------------------

FONT = "Arial"


def _set_lang(style, lang="de-DE"):
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    rpr = style.element.get_or_add_rPr()
    el = rpr.find(qn("w:lang"))
    if el is None:
        el = OxmlElement("w:lang")
        rpr.append(el)
    el.set(qn("w:val"), lang)
    el.set(qn("w:eastAsia"), lang)


def _font(run_or_style, size=None, bold=None, color=None):
    from docx.shared import Pt, RGBColor

    f = run_or_style.font
    f.name = FONT
    if size is not None:
        f.size = Pt(size)
    if bold is not None:
        f.bold = bold
    if color is not None:
        f.color.rgb = RGBColor.from_string(color)


def _add_runs(paragraph, text, size=None, bold=False, color=None):
    """Add text with **bold** markup; each segment (and so each placeholder) is one run."""
    parts = text.split("**")
    if len(parts) % 2 == 0:
        raise ValueError(f"unbalanced ** in {text!r}")
    for i, part in enumerate(parts):
        if not part:
            continue
        run = paragraph.add_run(part)
        _font(run, size=size, bold=bold or (i % 2 == 1), color=color)
    return paragraph


def _para(container, text="", style=None, size=None, bold=False, color=None, align=None,
          space_after=None, keep_with_next=False):
    from docx.shared import Pt

    p = container.add_paragraph(style=style) if style else container.add_paragraph()
    if text:
        _add_runs(p, text, size=size, bold=bold, color=color)
    pf = p.paragraph_format
    if align is not None:
        pf.alignment = align
    if space_after is not None:
        pf.space_after = Pt(space_after)
    if keep_with_next:
        pf.keep_with_next = True
    return p


def _add_field(paragraph, instr, size):
    """Append a simple field (PAGE / NUMPAGES) to a paragraph."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    fld = OxmlElement("w:fldSimple")
    fld.set(qn("w:instr"), f" {instr} ")
    r = OxmlElement("w:r")
    rpr = OxmlElement("w:rPr")
    fonts = OxmlElement("w:rFonts")
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attr), FONT)
    rpr.append(fonts)
    sz = OxmlElement("w:sz")
    sz.set(qn("w:val"), str(int(size * 2)))
    rpr.append(sz)
    r.append(rpr)
    t = OxmlElement("w:t")
    t.text = "1"
    r.append(t)
    fld.append(r)
    paragraph._p.append(fld)


def _no_borders_fixed(table, widths):
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tbl_pr = table._tbl.tblPr
    layout = OxmlElement("w:tblLayout")
    layout.set(qn("w:type"), "fixed")
    tbl_pr.append(layout)
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        b = OxmlElement(f"w:{edge}")
        b.set(qn("w:val"), "nil")
        borders.append(b)
    tbl_pr.append(borders)
    mar = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        m = OxmlElement(f"w:{edge}")
        m.set(qn("w:w"), "0")
        m.set(qn("w:type"), "dxa")
        mar.append(m)
    tbl_pr.append(mar)
    table.autofit = False
    for row in table.rows:
        for cell, w in zip(row.cells, widths):
            cell.width = w
    for col, w in zip(table.columns, widths):
        col.width = w


def _setup_styles(document):
    from docx.enum.style import WD_STYLE_TYPE
    from docx.shared import Pt

    normal = document.styles["Normal"]
    _font(normal, size=11)
    normal.paragraph_format.space_after = Pt(0)
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.line_spacing = 1.0
    _set_lang(normal)

    body = document.styles.add_style("Brieftext", WD_STYLE_TYPE.PARAGRAPH)
    body.base_style = normal
    body.paragraph_format.space_after = Pt(11)
    body.paragraph_format.widow_control = True

    bullet = document.styles["List Bullet"]
    _font(bullet, size=11)
    bullet.paragraph_format.space_after = Pt(3)


def _letterhead(section):
    from docx.enum.text import WD_ALIGN_PARAGRAPH

    right = WD_ALIGN_PARAGRAPH.RIGHT
    hdr = section.first_page_header
    p = hdr.paragraphs[0]
    _add_runs(p, "Landeshauptstadt München", size=15, bold=True)
    p.paragraph_format.alignment = right
    _para(hdr, "Sozialreferat", size=12, bold=True, align=right)
    _para(hdr, "{{ behoerde.amt }}", size=10, align=right)
    _para(hdr, "{{ behoerde.abteilung }}", size=10, align=right)

    # following pages: short running header
    hdr2 = section.header
    p = hdr2.paragraphs[0]
    _add_runs(p, "Landeshauptstadt München – Sozialreferat, {{ behoerde.amt }} · "
                 "Az. {{ akte.aktenzeichen }}", size=8, color="555555")
    p.paragraph_format.alignment = right

    for ftr in (section.first_page_footer, section.footer):
        p = ftr.paragraphs[0]
        p.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
        _add_runs(p, "Landeshauptstadt München, Sozialreferat · Seite ", size=8, color="555555")
        _add_field(p, "PAGE", 8)
        _add_runs(p, " von ", size=8, color="555555")
        _add_field(p, "NUMPAGES", 8)


def _address_and_info_block(document):
    """DIN 5008 Form B: Anschriftfeld (left) and Informationsblock (right) in a borderless table."""
    from docx.shared import Mm, Pt

    table = document.add_table(rows=1, cols=2)
    _no_borders_fixed(table, [Mm(90), Mm(75)])
    left, right = table.rows[0].cells

    # Anschriftfeld: Rücksendeangabe, then address (empty anrede/zusatz lines are dropped)
    p = left.paragraphs[0]
    _add_runs(p, "Landeshauptstadt München, Sozialreferat, {{ behoerde.strasse }}, "
                 "{{ behoerde.plz_ort }}", size=7, color="555555")
    p.paragraph_format.space_after = Pt(8)
    lines = [
        IF("empfaenger.anrede", ADDR("{{ empfaenger.anrede }}")),
        ADDR("{{ empfaenger.name }}"),
        IF("empfaenger.zusatz", ADDR("{{ empfaenger.zusatz }}")),
        ADDR("{{ empfaenger.strasse }}"),
        ADDR("{{ empfaenger.plz_ort }}"),
    ]
    for block in flatten(lines):
        _para(left, block[1])

    # Informationsblock
    info = [
        ("Ihr Antrag vom", "{{ akte.antragsdatum }}"),
        ("Unser Zeichen", "{{ akte.aktenzeichen }}"),
        ("", "(bitte bei Antwort angeben)"),
        None,
        ("Sachbearbeitung", "{{ sachbearbeitung.name }}"),
        "{%p if sachbearbeitung.zimmer %}",
        ("Zimmer", "{{ sachbearbeitung.zimmer }}"),
        "{%p endif %}",
        "{%p if sachbearbeitung.telefon and sachbearbeitung.telefon != behoerde.telefon %}",
        ("Telefon", "{{ sachbearbeitung.telefon }}"),
        "{%p endif %}",
        "{%p if sachbearbeitung.email and sachbearbeitung.email != behoerde.email %}",
        ("E-Mail", "{{ sachbearbeitung.email }}", "sachbearbeitung.email"),
        "{%p endif %}",
        None,
        ("Dienstgebäude", "{{ behoerde.strasse }}"),
        ("", "{{ behoerde.plz_ort }}"),
        ("Telefon", "{{ behoerde.telefon }}"),
        ("E-Mail", "{{ behoerde.email }}", "behoerde.email"),
        ("Internet", "{{ behoerde.internet }}", "behoerde.internet"),
        None,
        ("Datum", "{{ datum }}"),
    ]
    first = True
    for item in info:
        p = right.paragraphs[0] if first else right.add_paragraph()
        first = False
        if item is None:
            _add_runs(p, " ", size=4)
            continue
        if isinstance(item, str):  # Jinja paragraph tag (the paragraph is removed when rendered)
            _add_runs(p, item, size=8)
            continue
        label, value = item[0], item[1]
        if len(item) == 3:  # an address that may be too long for the value column: then below its label
            _add_runs(p, "{%p if " + item[2] + "|length <= " + str(INFO_VALUE_CHARS) + " %}", size=8)
            _info_line(right.add_paragraph(), label, value)
            _add_runs(right.add_paragraph(), "{%p else %}", size=8)
            q = right.add_paragraph()
            _add_runs(q, label, size=INFO_LABEL_PT, color="555555")
            q.paragraph_format.keep_with_next = True
            _add_runs(right.add_paragraph(), value, size=INFO_VALUE_PT)
            _add_runs(right.add_paragraph(), "{%p endif %}", size=8)
            continue
        _info_line(p, label, value)
    return table


# Information block: label column and value column inside the 75 mm of the right cell. The value column
# takes INFO_VALUE_CHARS characters of a wide sans font (DejaVu Sans, LibreOffice's fallback for Arial);
# a longer e-mail address or URL goes on its own line below its label, so nothing breaks mid-word.
INFO_TAB_MM = 24
INFO_LABEL_PT = 7.5
INFO_VALUE_PT = 8.5
INFO_VALUE_CHARS = 26


def _info_line(p, label, value):
    from docx.shared import Mm

    p.paragraph_format.tab_stops.add_tab_stop(Mm(INFO_TAB_MM))
    p.paragraph_format.left_indent = Mm(INFO_TAB_MM)
    p.paragraph_format.first_line_indent = -Mm(INFO_TAB_MM)
    if label:
        _add_runs(p, label, size=INFO_LABEL_PT, color="555555")
    _add_runs(p, "\t", size=INFO_LABEL_PT)
    _add_runs(p, value, size=INFO_VALUE_PT)


def build_docx(spec: dict, target: Path) -> Path:
    import docx
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt

    document = docx.Document()
    _setup_styles(document)

    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.left_margin, section.right_margin = Mm(25), Mm(20)
    section.top_margin, section.bottom_margin = Mm(45), Mm(25)
    section.header_distance, section.footer_distance = Mm(12), Mm(10)
    section.different_first_page_header_footer = True
    _letterhead(section)

    # python-docx starts with one empty paragraph only in some templates; the body is built
    # entirely from our blocks.
    _address_and_info_block(document)

    _para(document, "", space_after=22)
    _para(document, "{{ akte.betreff }}", bold=True)
    _para(document, spec["betreff"], bold=True, space_after=22)
    _para(document, "{{ briefanrede }}", style="Brieftext")

    for block in flatten(spec["body"]):
        kind = block[0]
        if kind == "p":
            _para(document, block[1], style="Brieftext")
        elif kind == "h":
            p = _para(document, block[1], style="Brieftext", bold=True, keep_with_next=True)
            p.paragraph_format.space_after = Pt(4)
            p.paragraph_format.space_before = Pt(4)
        elif kind == "center":
            _para(document, block[1], style="Brieftext", bold=True,
                  align=WD_ALIGN_PARAGRAPH.CENTER)
        elif kind == "num":
            p = _para(document, (block[1] + "\t" if block[1] else "") + block[2],
                      style="Brieftext")
            pf = p.paragraph_format
            pf.left_indent = Mm(8)
            pf.first_line_indent = -Mm(8) if block[1] else Mm(0)
            pf.tab_stops.add_tab_stop(Mm(8))
        elif kind == "li":
            p = _para(document, block[1], style="List Bullet")
            p.paragraph_format.left_indent = Mm(14)
        elif kind == "addr":
            p = _para(document, block[1])
            p.paragraph_format.left_indent = Mm(8)
        elif kind == "tag":
            _para(document, block[1])
        elif kind == "lines":
            var = block[1]
            _para(document, "{%p for absatz in " + var + ".splitlines() if absatz.strip() %}")
            _para(document, "{{ absatz }}", style="Brieftext")
            _para(document, "{%p endfor %}")
        else:
            raise ValueError(f"unknown block type {kind!r}")

    p = _para(document, "Mit freundlichen Grüßen", style="Brieftext", keep_with_next=True)
    p.paragraph_format.space_before = Pt(6)
    p.paragraph_format.space_after = Pt(30)
    p = _para(document, "i. A.", keep_with_next=True)
    _para(document, "{{ sachbearbeitung.name }}")

    props = document.core_properties
    props.title = spec["title"]
    props.subject = "Lotse Brieftemplate " + spec["name"]
    props.author = "Landeshauptstadt München, Sozialreferat"
    props.keywords = "Lotse; docxtpl; DIN 5008"
    props.comments = "Generiert von tools/build_letter_templates.py"
    props.created = FIXED_DATE
    props.modified = FIXED_DATE
    props.last_modified_by = "build_letter_templates.py"
    props.revision = 1

    target.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(target))
    _normalise_zip(target)
    return target


def _normalise_zip(path: Path) -> None:
    """Rewrite the zip with fixed timestamps so that repeated builds are byte-identical."""
    with zipfile.ZipFile(path) as src:
        entries = [(info.filename, src.read(info.filename)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, data)


def sidecar_dict(spec: dict) -> dict:
    return {
        "title": spec["title"],
        "description": spec["description"],
        "case_types": list(spec["case_types"]),
        "four_eyes": spec["four_eyes"],
        "legal_basis": list(spec["legal_basis"]),
        "fields": [dict(f) for f in spec["fields"]],
    }


def write_sidecar(spec: dict, target: Path) -> Path:
    text = ("# Generiert von tools/build_letter_templates.py – nicht von Hand bearbeiten.\n"
            + yaml.safe_dump(sidecar_dict(spec), allow_unicode=True, sort_keys=False,
                             width=4096, default_flow_style=None))
    target.write_text(text, encoding="utf-8")
    return target


def build_all(out_dir: Path, verbose: bool = True) -> list[Path]:
    written = []
    for spec in TEMPLATES:
        docx_path = build_docx(spec, out_dir / f"{spec['name']}.docx")
        yaml_path = write_sidecar(spec, out_dir / f"{spec['name']}.yaml")
        written += [docx_path, yaml_path]
        if verbose:
            print(f"wrote {docx_path.relative_to(ROOT) if docx_path.is_relative_to(ROOT) else docx_path}")
            print(f"wrote {yaml_path.relative_to(ROOT) if yaml_path.is_relative_to(ROOT) else yaml_path}")
    return written


# --------------------------------------------------------------------------------------------
# Verification (--check)
# --------------------------------------------------------------------------------------------

SAMPLE_BASE = {
    "behoerde": {
        "amt": "Amt für Wohnen und Migration",
        "abteilung": "Abteilung Wohngeld und Lastenzuschuss",
        "strasse": "Werinherstraße 89",
        "plz_ort": "81541 München",
        "telefon": "089 233-96000",
        "email": "wohngeld.soz@muenchen.de",
        "internet": "www.muenchen.de/sozialreferat",
    },
    "empfaenger": {
        "anrede": "Frau",
        "name": "Jördis Müller-Öztürk",
        "zusatz": "c/o Familie Groß",
        "strasse": "Schleißheimer Straße 12",
        "plz_ort": "80797 München",
    },
    "akte": {
        "aktenzeichen": "S-III-WG/2026/004711",
        "betreff": "Wohngeld – Antrag vom 12.03.2026",
        "verfahren": "Wohngeld",
        "antragsdatum": "12.03.2026",
        "antragsart": "Antrag",
        "antrag": "Antrag auf Wohngeld",
        "eingangsdatum": "16.03.2026",
    },
    "sachbearbeitung": {
        "name": "Bärbel Schäfer",
        "telefon": "089 233-96123",
        "email": "baerbel.schaefer@muenchen.de",
        "zimmer": "2.114",
    },
    "datum": "20.03.2026",
    "briefanrede": "Sehr geehrte Frau Müller-Öztürk,",
}

SAMPLE_VALUES = {
    "frist": "07.04.2026",
    "nachforderung": "02.03.2026",
    "unterlagen": ["Mietbescheinigung des Vermieters (Formular „Mietbescheinigung“)",
                   "Einkommensnachweise der letzten drei Monate für alle Haushaltsmitglieder",
                   "Kontoauszüge Januar bis März 2026 & Nachweis über Rücklagen < 5.000 EUR"],
    "begruendung": ("Nach § 4 WoGG ist das Gesamteinkommen zu berücksichtigen.\n\n"
                    "Ihr Einkommen übersteigt die Höchstgrenze nach Anlage 2 WoGG. "
                    "Ein Anspruch auf Wohngeld besteht daher nicht."),
    "betrag": "12.500,00 EUR",
    "zeitraum_von": "01.01.2026",
    "zeitraum_bis": "31.12.2026",
    "zweck": "Durchführung des Projekts „Nachbarschaftstreff Giesing“ (Personal- und Sachkosten)",
    "nebenbestimmungen": ["Der Zuschuss darf nur bei Bedarf abgerufen werden (Mittelabruf "
                          "höchstens zwei Monate im Voraus).",
                          "Änderungen des Finanzierungsplans über 20 % sind vorab anzuzeigen."],
    "verwendungsnachweis_bis": "30.06.2027",
    "bezugsschreiben_datum": "02.03.2026",
    "zustaendiger_traeger": {"name": "Landratsamt Fürstenfeldbruck, Wohngeldstelle",
                             "strasse": "Münchner Straße 32",
                             "plz_ort": "82256 Fürstenfeldbruck"},
    "grund_verzoegerung": "Wir warten noch auf die Stellungnahme der Deutschen Rentenversicherung "
                          "zu Ihrer Erwerbsminderungsrente.",
    "voraussichtlich_bis": "30.04.2026",
    "beabsichtigte_entscheidung": ("Wir beabsichtigen, die Bewilligung von Wohngeld ab dem "
                                   "01.02.2026 aufzuheben (§ 48 SGB X).\nDas überzahlte Wohngeld "
                                   "in Höhe von 436,00 EUR soll erstattet werden (§ 50 SGB X)."),
    "sachverhalt": ("Seit dem 01.02.2026 erhalten Sie eine höhere Rente.\n"
                    "Dies haben Sie uns erst am 10.03.2026 mitgeteilt."),
    "rechtsweg": "sgg",
    "gruende": [{"baustein": "WG-AB-UNTER-10-EUR", "titel": "Berechnetes Wohngeld unter 10 Euro monatlich",
                 "rechtsgrundlage": "§ 21 Nr. 1 WoGG", "entscheidung": "ablehnung",
                 "text": "Wir haben Ihr Wohngeld nach § 19 Abs. 1 WoGG berechnet.\nNach § 21 Nr. 1 WoGG besteht "
                         "kein Anspruch auf Wohngeld, wenn das Wohngeld weniger als 10 Euro monatlich betragen "
                         "würde."}],
}

# text that must appear in the rendered letter (checks umlauts and static parts)
EXPECTED_ALWAYS = ["Landeshauptstadt München", "Sozialreferat", "Amt für Wohnen und Migration",
                   "Jördis Müller-Öztürk", "Schleißheimer Straße 12", "Bärbel Schäfer",
                   "Sehr geehrte Frau Müller-Öztürk,", "Mit freundlichen Grüßen",
                   "S-III-WG/2026/004711", "20.03.2026"]
EXPECTED_PER_TEMPLATE = {
    "eingangsbestaetigung": ["Eingangsbestätigung", "30.04.2026", "am 16.03.2026 bei uns eingegangen",
                             "Änderung in Ihrem Haushalt"],
    "anforderung_unterlagen": ["§ 60 Abs. 1 Satz 1 SGB I", "§ 66 Abs. 3 SGB I",
                               "ganz oder teilweise versagt werden", "07.04.2026",
                               "Kontoauszüge Januar bis März 2026 & Nachweis über Rücklagen < 5.000"],
    "anhoerung": ["§ 24 Abs. 1 SGB X", "Gelegenheit zur Äußerung", "bis zum 07.04.2026",
                  "erst am 10.03.2026 mitgeteilt",
                  "436,00 EUR"],
    "bewilligung_zuschuss": ["12.500,00 EUR", "01.01.2026 bis 31.12.2026",
                             "Nachbarschaftstreff Giesing", "Mittelabruf", "30.06.2027",
                             "Rechtsbehelfsbelehrung", "Bayerischen Verwaltungsgericht München"],
    "ablehnung": ["Begründung", "Anlage 2 WoGG", "Rechtsbehelfsbelehrung", "Ablehnung Ihres Antrags",
                  "Ihr Antrag auf Wohngeld vom 12.03.2026 wird abgelehnt.",
                  "innerhalb eines Monats nach Bekanntgabe Widerspruch",
                  "schriftlich, in elektronischer Form oder zur Niederschrift",
                  "Werinherstraße 89, 81541 München"],
    "erinnerung": ["02.03.2026", "07.04.2026", "§ 66 Abs. 3", "ganz oder teilweise versagt"],
    "weiterleitung": ["§ 16 Abs. 2 Satz 1 SGB I", "§ 16 Abs. 2 Satz 2 SGB I",
                      "Landratsamt Fürstenfeldbruck", "Münchner Straße 32",
                      "also am 16.03.2026"],
    "zwischennachricht": ["Deutschen Rentenversicherung", "30.04.2026"],
}


def _rendered_texts(docx_bytes: bytes) -> tuple[str, dict[str, str]]:
    """Return (plain text via python-docx, {xml part name: xml})."""
    import docx

    d = docx.Document(io.BytesIO(docx_bytes))
    texts = []

    def walk_paragraphs(container):
        for p in container.paragraphs:
            texts.append(p.text)
        for t in getattr(container, "tables", []):
            for row in t.rows:
                for cell in row.cells:
                    walk_paragraphs(cell)

    walk_paragraphs(d)
    for s in d.sections:
        for hf in (s.header, s.first_page_header, s.footer, s.first_page_footer):
            walk_paragraphs(hf)
    with zipfile.ZipFile(io.BytesIO(docx_bytes)) as z:
        xml = {n: z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml")}
    return "\n".join(texts), xml


def _render(path: Path, context: dict, strict: bool) -> bytes:
    import jinja2
    from docxtpl import DocxTemplate

    tpl = DocxTemplate(str(path))
    env = jinja2.Environment(undefined=jinja2.StrictUndefined if strict else jinja2.Undefined)
    tpl.render(context, jinja_env=env, autoescape=True)
    buf = io.BytesIO()
    tpl.save(buf)
    return buf.getvalue()


def _check_runs(path: Path) -> list[str]:
    """Every Jinja tag must open and close inside one run."""
    import docx

    errors = []
    d = docx.Document(str(path))
    paragraphs = []

    def walk(container):
        paragraphs.extend(container.paragraphs)
        for t in getattr(container, "tables", []):
            for row in t.rows:
                for cell in row.cells:
                    walk(cell)

    walk(d)
    for s in d.sections:
        for hf in (s.header, s.first_page_header, s.footer, s.first_page_footer):
            walk(hf)
    for p in paragraphs:
        for r in p.runs:
            t = r.text
            for o, c in (("{{", "}}"), ("{%", "%}"), ("{#", "#}")):
                if t.count(o) != t.count(c):
                    errors.append(f"tag split across runs: {t!r}")
        joined = p.text
        if ("{{" in joined or "{%" in joined) and not any(
                ("{{" in r.text or "{%" in r.text) for r in p.runs):
            errors.append(f"tag split across runs: {joined!r}")
    return errors


def _check_sidecar(spec: dict, path: Path) -> list[str]:
    errors = []
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if data != sidecar_dict(spec):
        errors.append("sidecar differs from script data (rebuild)")
    for key in ("title", "description", "case_types", "four_eyes", "legal_basis", "fields"):
        if key not in data:
            errors.append(f"sidecar misses {key}")
    bad = set(data["case_types"]) - set(CASE_TYPES)
    if bad:
        errors.append(f"unknown case_types {sorted(bad)}")
    names = [f["name"] for f in data["fields"]]
    if len(names) != len(set(names)):
        errors.append("duplicate field names")
    for f in data["fields"]:
        if f.get("source") not in FIELD_SOURCES:
            errors.append(f"{f['name']}: bad source {f.get('source')!r}")
        if f.get("type") not in FIELD_TYPES:
            errors.append(f"{f['name']}: bad type {f.get('type')!r}")
        if not isinstance(f.get("required"), bool):
            errors.append(f"{f['name']}: required must be bool")
        if f["source"] == "generated" and not f.get("query"):
            errors.append(f"{f['name']}: generated field without query")
        if f["source"] == "computed" and not COMPUTED_RULE_RE.match(str(f.get("rule", ""))):
            errors.append(f"{f['name']}: computed field with bad rule {f.get('rule')!r}")
    return errors


def sample_context(spec: dict, only_required: bool = False) -> dict:
    ctx = {k: (dict(v) if isinstance(v, dict) else v) for k, v in SAMPLE_BASE.items()}
    for f in spec["fields"]:
        if f["name"] in ctx:
            continue
        if only_required and not f["required"]:
            continue
        ctx[f["name"]] = SAMPLE_VALUES[f["name"]]
    return ctx


def check(out_dir: Path) -> int:
    from docxtpl import DocxTemplate

    failures = 0
    # 1. reproducibility: a fresh build must be byte-identical to the files on disk
    with tempfile.TemporaryDirectory() as tmp:
        build_all(Path(tmp), verbose=False)
        for spec in TEMPLATES:
            for ext in ("docx", "yaml"):
                a = (Path(tmp) / f"{spec['name']}.{ext}").read_bytes()
                b = (out_dir / f"{spec['name']}.{ext}").read_bytes()
                if hashlib.sha256(a).digest() != hashlib.sha256(b).digest():
                    print(f"FAIL {spec['name']}.{ext}: not reproducible / out of date")
                    failures += 1

    for spec in TEMPLATES:
        name = spec["name"]
        path = out_dir / f"{name}.docx"
        errors = []
        errors += _check_runs(path)
        errors += _check_sidecar(spec, out_dir / f"{name}.yaml")

        used = DocxTemplate(str(path)).get_undeclared_template_variables()
        declared = {f["name"] for f in spec["fields"]}
        required = {f["name"] for f in spec["fields"] if f["required"]}
        if used - declared:
            errors.append(f"placeholders not declared in sidecar: {sorted(used - declared)}")
        if declared - used:
            errors.append(f"declared fields not used in DOCX: {sorted(declared - used)}")
        if required - used:
            errors.append(f"required fields missing in DOCX: {sorted(required - used)}")

        # render variants: complete context (strict), only required fields, organisation
        variants = [("vollständig", sample_context(spec), True),
                    ("nur Pflichtfelder", sample_context(spec, only_required=True), False)]
        org = sample_context(spec)
        org["empfaenger"] = {"anrede": "", "name": "Caritasverband der Erzdiözese München und "
                             "Freising e. V.", "zusatz": "z. Hd. Herrn Jürgen Weiß",
                             "strasse": "Hirtenstraße 4", "plz_ort": "80335 München"}
        org["briefanrede"] = "Sehr geehrte Damen und Herren,"
        variants.append(("Organisation", org, True))
        if name == "ablehnung":
            for rw in ("vwgo_wahl", "vwgo_klage"):
                ctx = sample_context(spec)
                ctx["rechtsweg"] = rw
                variants.append((f"rechtsweg={rw}", ctx, True))
            ctx = sample_context(spec)
            del ctx["rechtsweg"]
            variants.append(("rechtsweg fehlt", ctx, False))
            ctx = sample_context(spec)
            ctx["gruende"] = [{**ctx["gruende"][0], "entscheidung": "versagung",
                               "text": "Nach § 66 Abs. 1 SGB I kann die Leistung versagt werden."}]
            variants.append(("Versagung", ctx, True))

        from lxml import etree

        for label, ctx, strict in variants:
            try:
                data = _render(path, ctx, strict)
            except Exception as exc:  # noqa: BLE001
                errors.append(f"[{label}] render failed: {exc!r}")
                continue
            text, xml = _rendered_texts(data)
            for part, content in xml.items():
                try:
                    etree.fromstring(content.encode("utf-8"))
                except etree.XMLSyntaxError as exc:
                    errors.append(f"[{label}] {part} not well-formed: {exc}")
                for tag in ("{{", "}}", "{%", "%}", "{#"):
                    if tag in content:
                        errors.append(f"[{label}] {part} still contains {tag!r}")
            for tag in ("{{", "{%", "}}", "%}"):
                if tag in text:
                    errors.append(f"[{label}] text still contains {tag!r}")
            if "Ã" in text or "\ufffd" in text:
                errors.append(f"[{label}] broken umlauts (mojibake) in output")
            expected = list(EXPECTED_ALWAYS)
            if label == "Organisation":
                expected = [e for e in expected if "Müller" not in e and "Schleißheimer" not in e]
                expected += ["Sehr geehrte Damen und Herren,", "z. Hd. Herrn Jürgen Weiß"]
                if "\nFrau\n" in text:
                    errors.append(f"[{label}] anrede line not removed")
            if label != "Organisation" and "\nFrau\n" not in text:
                errors.append(f"[{label}] anrede line missing in address")
            if strict:
                expected += EXPECTED_PER_TEMPLATE.get(name, [])
            if label == "rechtsweg=vwgo_wahl":
                expected = [e for e in expected if "elektronischer Form" not in e
                            and "Bekanntgabe Widerspruch" not in e]
                expected += ["entweder Widerspruch eingelegt oder unmittelbar Klage erhoben"]
            if label == "Versagung":
                expected = [e for e in expected if "abgelehnt" not in e and "Ablehnung" not in e]
                expected += ["Versagung der Leistung wegen fehlender Mitwirkung (§ 66 SGB I)",
                             "Die mit Ihrem Antrag auf Wohngeld vom 12.03.2026 beantragte Leistung wird nach "
                             "§ 66 Abs. 1 SGB I bis zur Nachholung der Mitwirkung ganz versagt."]
                for wrong in ("wird abgelehnt", "Ablehnung Ihres", "neuen Antrag stellen"):
                    if wrong in text:
                        errors.append(f"[{label}] Versagung says {wrong!r}")
            if label == "rechtsweg fehlt":
                expected = [e for e in expected if "Werinher" not in e]
                expected += ["RECHTSBEHELFSBELEHRUNG FEHLT"]
            if label == "rechtsweg=vwgo_klage":
                expected = [e for e in expected if "Widerspruch" not in e
                            and "elektronischer Form" not in e and "Werinher" not in e]
                expected += ["Ein Widerspruchsverfahren findet nicht statt", "Verfahrensgebühr"]
            for e in expected:
                if e not in text:
                    errors.append(f"[{label}] expected text missing: {e!r}")
            if label == "nur Pflichtfelder":
                for opt in ("Rechtliche Würdigung", "Es fehlen noch:", "bis zum 30.04.2026"):
                    if opt in text and name in ("anhoerung", "erinnerung", "eingangsbestaetigung"):
                        errors.append(f"[{label}] optional paragraph rendered: {opt!r}")

        status = "OK  " if not errors else "FAIL"
        print(f"{status} {name}.docx  placeholders: {', '.join(sorted(used))}")
        for e in errors:
            print(f"     - {e}")
        failures += bool(errors)

    if failures:
        print(f"\nCHECK FAILED: {failures} problem(s)")
    else:
        print(f"\nCHECK PASSED: all {len(TEMPLATES)} templates OK")
    return 1 if failures else 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true",
                    help="after building, verify reproducibility, sidecars and rendering")
    ap.add_argument("--out", type=Path, default=OUT_DIR, help="output directory")
    args = ap.parse_args(argv)
    build_all(args.out)
    if args.check:
        return check(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
