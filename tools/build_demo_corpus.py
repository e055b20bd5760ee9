#!/usr/bin/env python3
"""Build the DOCX and PDF files (and all sidecar .meta.yaml files) of the Lotse demo corpus.

The demo corpus lives in ``indexer/demo_corpus/<department>/``. Markdown and HTML documents are
maintained by hand; the Word and PDF documents are generated from the data structures in this
script so that they are reproducible. Run with the project venv:

    .venv/bin/python tools/build_demo_corpus.py

Block types used in the document definitions:

    ("h2", text)      section heading      (DOCX: "Heading 2"; PDF: numbered "1 Text")
    ("h3", text)      subsection heading   (DOCX: "Heading 3"; PDF: numbered "1.1 Text")
    ("p", text)       paragraph
    ("ol", [items])   numbered list        (DOCX: "List Number"; PDF: "(1) ...")
    ("ul", [items])   bullet list          (DOCX: "List Bullet"; PDF: "- ...")
    ("table", rows)   table, first row is the header

PDF notes: fpdf2 core font helvetica is used, so all PDF text must be latin-1 (no en dash, no
typographic quotes, no euro sign). Every top-level section of a PDF starts on a new page so that
page numbers are meaningful. Spaces before numbers and paragraph signs are turned into
non-breaking spaces so that a wrapped line never starts with "12 Monate" or "§ 50 SGB X", which
the PDF loader would mistake for a numbered heading.
"""

from __future__ import annotations

import datetime as _dt
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "indexer" / "demo_corpus"

DEPARTMENTS = {"S-I", "S-II", "S-III", "S-Z"}
DOC_TYPES = {"arbeitsanweisung", "prozessleitfaden", "faq", "checkliste", "textbausteine"}

FIXED_DATE = _dt.datetime(2026, 3, 1, 8, 0, 0)


def H2(t):
    return ("h2", t)


def H3(t):
    return ("h3", t)


def P(t):
    return ("p", t)


def OL(*items):
    return ("ol", list(items))


def UL(*items):
    return ("ul", list(items))


def TABLE(*rows):
    return ("table", [list(r) for r in rows])


# ---------------------------------------------------------------------------------------------
# DOCX documents
# ---------------------------------------------------------------------------------------------

DOCX_DOCS = [
    dict(
        path="S-I/grundsicherung_alter_checkliste.docx",
        title="Checkliste Unterlagen Grundsicherung im Alter und bei Erwerbsminderung",
        department="S-I",
        doc_type="checkliste",
        blocks=[
            P("Diese Checkliste unterstützt die Sachbearbeitung im Amt für Soziale Sicherung bei der "
              "Vollständigkeitsprüfung von Erst- und Weiterbewilligungsanträgen auf Grundsicherung im "
              "Alter und bei Erwerbsminderung nach dem Vierten Kapitel SGB XII. Sie ist dem Antrag "
              "(Formblatt S-I/GS-1) als Arbeitsblatt beizufügen und nach der Prüfung in der E-Akte abzulegen."),
            H2("Hinweise zur Verwendung"),
            OL("Die Vollständigkeitsprüfung erfolgt innerhalb von zehn Arbeitstagen nach Antragseingang.",
               "Fehlende Unterlagen werden in einem einzigen Nachforderungsschreiben gesammelt angefordert, "
               "nicht in mehreren Einzelschreiben.",
               "Für die Nachreichung wird eine Frist von zwei Wochen gesetzt; bei Unterlagen von Dritten "
               "(Bank, Rentenversicherung) vier Wochen.",
               "Unterlagen, die bereits in der E-Akte vorliegen und noch aktuell sind, werden nicht erneut angefordert.",
               "Die Checkliste wird von der Sachbearbeitung mit Datum und Kürzel abgezeichnet."),
            H2("Unterlagen bei jedem Antrag"),
            H3("Persönliche Unterlagen"),
            TABLE(("Unterlage", "Hinweis", "Pflicht"),
                  ("Personalausweis oder Reisepass", "Einsicht genügt, Vermerk in der Akte", "ja"),
                  ("Aufenthaltstitel", "nur bei ausländischen Staatsangehörigen", "ja"),
                  ("Meldebescheinigung", "nur wenn nicht im Melderegister abrufbar", "nein"),
                  ("Schwerbehindertenausweis", "wegen Mehrbedarf bei Merkzeichen G oder aG", "falls vorhanden"),
                  ("Betreuerausweis oder Vollmacht", "bei Vertretung", "falls vorhanden")),
            H3("Einkommen"),
            TABLE(("Unterlage", "Hinweis", "Pflicht"),
                  ("Rentenbescheid, aktuelle Rentenanpassungsmitteilung", "alle Renten einschließlich Betriebsrente", "ja"),
                  ("Nachweis Grundrentenzeiten", "für Freibetrag nach § 82a SGB XII", "falls vorhanden"),
                  ("Kontoauszüge aller Konten der letzten drei Monate", "lückenlos, Schwärzungen nach Datenschutzregeln zulässig", "ja"),
                  ("Nachweis über Wohngeld oder Unterhalt", "Wohngeld entfällt bei Grundsicherungsbezug", "falls vorhanden"),
                  ("Einkommen aus Vermietung oder Kapital", "Jahresnachweis", "falls vorhanden")),
            H3("Unterkunft und Heizung"),
            TABLE(("Unterlage", "Hinweis", "Pflicht"),
                  ("Mietvertrag", "mit allen Nachträgen", "ja"),
                  ("Aktuelle Mietbescheinigung oder letzte Mieterhöhung", "Formblatt S-I/GS-4", "ja"),
                  ("Letzte Betriebs- und Heizkostenabrechnung", "nicht älter als 18 Monate", "ja"),
                  ("Abschlagsplan Strom", "Strom gehört zum Regelbedarf, nur zur Plausibilität", "nein")),
            H2("Zusätzliche Unterlagen bei Erwerbsminderung"),
            P("Bei Antragstellenden unterhalb der Altersgrenze ist zusätzlich nachzuweisen, dass eine "
              "dauerhafte volle Erwerbsminderung vorliegt. Geeignet ist ein Rentenbescheid über eine "
              "unbefristete Rente wegen voller Erwerbsminderung oder die Feststellung des "
              "Rentenversicherungsträgers auf Ersuchen nach § 45 SGB XII. Bei Beschäftigten einer Werkstatt "
              "für behinderte Menschen genügt in der Regel die Bescheinigung der Werkstatt über die "
              "Aufnahme in den Arbeitsbereich."),
            UL("Rentenbescheid wegen voller Erwerbsminderung (unbefristet)",
               "oder Stellungnahme der Deutschen Rentenversicherung nach § 45 SGB XII",
               "oder Bescheinigung der Werkstatt für behinderte Menschen (Arbeitsbereich)",
               "Entlassungsberichte nur, wenn die Rentenversicherung sie ausdrücklich anfordert"),
            H2("Vermögen"),
            P("Vermögen ist vollständig anzugeben (Formblatt S-I/GS-2 Vermögenserklärung). Geschützt ist ein "
              "Barbetrag von 10.000 EUR pro volljähriger leistungsberechtigter Person."),
            TABLE(("Vermögensart", "Nachweis"),
                  ("Sparbücher, Tagesgeld, Festgeld", "aktueller Kontostand, Jahreskontoauszug"),
                  ("Wertpapierdepot", "Depotauszug mit Kurswert"),
                  ("Lebens- und Rentenversicherungen", "Rückkaufswert laut Bescheinigung der Versicherung"),
                  ("Bestattungsvorsorgevertrag", "Vertrag und Höhe der Einzahlung"),
                  ("Haus- und Grundbesitz", "Grundbuchauszug, Angaben zur Nutzung"),
                  ("Kraftfahrzeug", "Fahrzeugschein, geschätzter Wert")),
            H2("Weiterbewilligungsantrag"),
            P("Beim Weiterbewilligungsantrag (Formblatt S-I/GS-1W) werden nur Unterlagen angefordert, "
              "die sich geändert haben können."),
            OL("Kontoauszüge der letzten drei Monate (immer).",
               "Aktuelle Rentenanpassungsmitteilung, wenn seit der letzten Bewilligung eine Anpassung erfolgt ist.",
               "Nachweis über Mieterhöhung oder neue Betriebskostenabrechnung.",
               "Erklärung über unveränderte Verhältnisse (Teil C des Formblatts S-I/GS-1W)."),
            P("Das Fachverfahren versendet den Weiterbewilligungsantrag acht Wochen vor Ablauf des "
              "Bewilligungszeitraums. Geht bis vier Wochen vor Ablauf kein Antrag ein, wird eine Erinnerung "
              "versandt. Ohne Antrag endet die Leistung mit Ablauf des Bewilligungszeitraums."),
        ],
    ),
    dict(
        path="S-I/textbausteine_mitwirkung.docx",
        title="Textbausteine Mitwirkung und Versagung",
        department="S-I",
        doc_type="textbausteine",
        blocks=[
            P("Die folgenden Textbausteine sind für Schreiben zur Mitwirkung im Amt für Soziale Sicherung "
              "verbindlich. Sie ergänzen die Arbeitsanweisung Mitwirkungspflichten, Versagung und Entziehung. "
              "Platzhalter in spitzen Klammern sind vollständig auszufüllen. Die Bausteine MW-02 und MW-04 "
              "enthalten rechtlich notwendige Hinweise und dürfen nicht gekürzt werden."),
            H2("Übersicht der Bausteine"),
            TABLE(("Kürzel", "Verwendung", "Frist im Schreiben"),
                  ("MW-01", "Erste Nachforderung von Unterlagen", "zwei Wochen"),
                  ("MW-02", "Belehrung nach § 66 Abs. 3 SGB I (letzte Frist)", "zwei Wochen, Datum angeben"),
                  ("MW-03", "Einladung zur persönlichen Vorsprache nach § 61 SGB I", "Termin mindestens 10 Tage nach Versand"),
                  ("MW-04", "Versagungsbescheid", "keine"),
                  ("MW-05", "Entziehungsbescheid (laufende Leistung)", "keine"),
                  ("MW-06", "Nachholung der Mitwirkung nach § 67 SGB I", "keine")),
            H2("Bausteine zur Nachforderung"),
            H3("MW-01 Erste Nachforderung"),
            P("Sehr geehrte <Anrede>, um über Ihren Antrag vom <Antragsdatum> entscheiden zu können, "
              "benötigen wir noch folgende Unterlagen: <Liste der Unterlagen, jede einzeln mit Zeitraum>. "
              "Bitte reichen Sie die Unterlagen bis zum <Datum> ein. Wenn Sie Fragen haben oder die Unterlagen "
              "nicht rechtzeitig beschaffen können, rufen Sie uns bitte an. Wir helfen Ihnen gern."),
            H3("MW-02 Belehrung nach § 66 Abs. 3 SGB I"),
            P("Mit Schreiben vom <Datum der ersten Nachforderung> haben wir Sie gebeten, uns <Unterlagen> "
              "vorzulegen. Diese Unterlagen liegen uns bis heute nicht vor. Sie sind nach § 60 Abs. 1 SGB I "
              "verpflichtet, alle Tatsachen anzugeben, die für die Leistung erheblich sind, und Beweisurkunden "
              "vorzulegen. Wir setzen Ihnen hiermit eine letzte Frist bis zum <Datum>. Wenn Sie die Unterlagen "
              "bis zu diesem Tag nicht vorlegen und auch keine wichtigen Gründe mitteilen, werden wir die "
              "beantragte <Leistung> ab <Monat> nach § 66 Abs. 1 SGB I ganz versagen. Das bedeutet, dass Sie "
              "dann keine Leistungen erhalten, bis Sie die Mitwirkung nachholen."),
            P("Hinweis für die Sachbearbeitung: Bei laufenden Leistungen ist statt \"versagen\" die "
              "Formulierung \"entziehen ab dem <Monat nach Bekanntgabe des Bescheids>\" zu verwenden."),
            H3("MW-03 Einladung zur persönlichen Vorsprache"),
            P("Wir möchten die Angaben in Ihrem Antrag mit Ihnen persönlich besprechen (§ 61 SGB I). Bitte "
              "kommen Sie am <Datum> um <Uhrzeit> in das Sozialbürgerhaus <Name>, Zimmer <Nummer>. Bringen "
              "Sie bitte Ihren Ausweis und <Unterlagen> mit. Wenn Sie den Termin nicht wahrnehmen können, "
              "teilen Sie uns dies bitte vorher mit, damit wir einen neuen Termin vereinbaren können. "
              "Notwendige Fahrtkosten können Ihnen auf Antrag erstattet werden (§ 65a SGB I)."),
            H2("Bausteine zur Entscheidung"),
            H3("MW-04 Versagungsbescheid"),
            P("Ihr Antrag auf <Leistung> vom <Datum> wird nach § 66 Abs. 1 SGB I bis zur Nachholung der "
              "Mitwirkung ganz versagt. Begründung: Wir haben Sie mit Schreiben vom <Datum> aufgefordert, "
              "<Unterlagen> bis zum <Datum> vorzulegen, und Sie dabei schriftlich auf die Folgen einer "
              "fehlenden Mitwirkung hingewiesen. Sie haben die Unterlagen nicht vorgelegt. Ohne diese "
              "Unterlagen kann nicht festgestellt werden, ob die Voraussetzungen der Leistung vorliegen. "
              "Bei unserer Entscheidung haben wir unser Ermessen ausgeübt und dabei Folgendes berücksichtigt: "
              "<Ermessenserwägungen, z. B. Gesundheitszustand, Kinder im Haushalt, bisheriges Verhalten>."),
            H3("MW-05 Entziehungsbescheid"),
            P("Die Ihnen mit Bescheid vom <Datum> bewilligte <Leistung> wird ab dem <Datum, frühestens Monat "
              "nach Bekanntgabe> nach § 66 Abs. 1 SGB I bis zur Nachholung der Mitwirkung ganz entzogen. "
              "<Begründung wie MW-04>. Vor dieser Entscheidung haben wir Sie mit Schreiben vom <Datum> "
              "angehört (§ 24 SGB X)."),
            H3("MW-06 Nachholung der Mitwirkung"),
            P("Sie haben die angeforderten Unterlagen am <Datum> nachgereicht. Wir haben daraufhin geprüft, "
              "ob wir die versagte Leistung nachträglich erbringen (§ 67 SGB I). Ergebnis: <Leistungen werden "
              "ab ... nachgezahlt / neuer Bescheid folgt>."),
            H2("Hinweise zur Formulierung"),
            UL("Jede Unterlage einzeln benennen, nie nur \"fehlende Unterlagen\".",
               "Fristen immer als Datum angeben, nie als \"binnen 14 Tagen\".",
               "Bei Sprachbarrieren den Hinweis auf den Dolmetscherdienst anfügen (Baustein ALL-07).",
               "Versagungs- und Entziehungsbescheide gehen immer in die Freigabe (Vier-Augen-Prinzip)."),
        ],
    ),
    dict(
        path="S-II/unterhaltsvorschuss_checkliste.docx",
        title="Checkliste Antragsunterlagen Unterhaltsvorschuss",
        department="S-II",
        doc_type="checkliste",
        blocks=[
            P("Arbeitshilfe der Unterhaltsvorschusskasse des Stadtjugendamts (S-II) für die Vollständigkeitsprüfung "
              "eines Antrags nach dem Unterhaltsvorschussgesetz. Die Checkliste entspricht dem Formblatt S-II/UV-2 "
              "und wird nach der Prüfung in der E-Akte abgelegt."),
            H2("Ablauf der Vollständigkeitsprüfung"),
            OL("Antrag (Formblatt S-II/UV-1) auf Unterschrift des alleinerziehenden Elternteils prüfen.",
               "Unterlagen anhand der Tabellen unten abhaken.",
               "Fehlende Unterlagen innerhalb von zehn Arbeitstagen nach Eingang gesammelt nachfordern; Frist zwei Wochen.",
               "Wenn Angaben zum anderen Elternteil fehlen: persönliches Gespräch anbieten, bevor Versagung geprüft wird.",
               "Checkliste mit Datum und Kürzel abzeichnen."),
            H2("Unterlagen zum Kind und zum alleinerziehenden Elternteil"),
            TABLE(("Unterlage", "Wozu?", "Pflicht"),
                  ("Geburtsurkunde des Kindes", "Abstammung, Alter", "ja"),
                  ("Personalausweis des Elternteils", "Identität (Einsicht genügt)", "ja"),
                  ("Nachweis über Kindergeld", "Anrechnung, Kindergeldberechtigung", "ja"),
                  ("Scheidungsurteil oder Nachweis der Trennung", "Voraussetzung dauernd getrennt lebend", "bei Verheirateten"),
                  ("Sterbeurkunde des anderen Elternteils", "Waisenbezüge prüfen", "bei Tod"),
                  ("Schulbescheinigung", "bei Kindern ab 12 Jahren, falls Ausbildungsvergütung", "bei Bedarf"),
                  ("Bürgergeldbescheid und Einkommensnachweis", "Voraussetzungen ab 12 Jahren (§ 1 Abs. 1a UVG)", "bei Kindern ab 12")),
            H2("Unterlagen zum anderen Elternteil"),
            TABLE(("Angabe oder Unterlage", "Hinweis"),
                  ("Name, Geburtsdatum, letzte bekannte Anschrift", "Grundlage für den Rückgriff"),
                  ("Arbeitgeber, Beruf", "für Auskunftsersuchen nach § 6 UVG"),
                  ("Vaterschaftsanerkennung oder gerichtliche Feststellung", "bei nicht verheirateten Eltern"),
                  ("Unterhaltstitel (Urkunde, Beschluss, Vergleich)", "Kopie genügt"),
                  ("Nachweis über tatsächliche Zahlungen der letzten sechs Monate", "Kontoauszüge"),
                  ("Nachweise über eigene Bemühungen um Unterhalt", "für rückwirkende Zahlung nach § 4 UVG")),
            H3("Vater unbekannt oder Vaterschaft ungeklärt"),
            P("Kann der alleinerziehende Elternteil keine Angaben zum anderen Elternteil machen, ist ein "
              "persönliches Gespräch zu führen. Der Elternteil muss alles Zumutbare zur Aufklärung beitragen. "
              "Das Gespräch wird mit Formblatt S-II/UV-6 \"Niederschrift zur Vaterschaftsfeststellung\" "
              "dokumentiert. Die Niederschrift ist vom Elternteil zu unterschreiben. Erst wenn die Mitwirkung "
              "verweigert wird, kommt eine Ablehnung nach § 1 Abs. 3 UVG in Betracht; die Entscheidung trifft "
              "die Teamleitung."),
            H2("Unterlagen in besonderen Fällen"),
            UL("Beistandschaft des Jugendamts: Aktenzeichen der Beistandschaft angeben, Abstimmung mit der Beistandschaft über Unterhaltszahlungen.",
               "Kind lebt zeitweise beim anderen Elternteil: Umgangsregelung und Betreuungsplan (Formblatt S-II/UV-8).",
               "Ausländische Staatsangehörigkeit: Aufenthaltstitel des Elternteils; Voraussetzungen des § 1 Abs. 2a UVG prüfen.",
               "Zuzug aus einer anderen Kommune: Einstellungsbescheid der bisherigen Unterhaltsvorschussstelle."),
            H2("Prüfvermerk"),
            TABLE(("Prüfpunkt", "Ergebnis"),
                  ("Antrag unterschrieben", "ja / nein"),
                  ("Alle Pflichtunterlagen vorhanden", "ja / nein, Nachforderung am ..."),
                  ("Rückwirkung beantragt und Bemühungen nachgewiesen", "ja / nein"),
                  ("Meldedaten abgeglichen", "ja / nein"),
                  ("Übergabe an Rückgriff vorbereitet", "ja / nein")),
            P("Nach Abschluss der Prüfung wird die Entscheidung im Fachverfahren vorbereitet. Ablehnungen "
              "gehen immer in die Zweitprüfung nach dem Vier-Augen-Prinzip."),
            H2("Hinweise für das Beratungsgespräch"),
            P("Viele Alleinerziehende kommen ohne vollständige Unterlagen zur ersten Vorsprache. Der Antrag "
              "soll trotzdem sofort aufgenommen werden, weil Unterhaltsvorschuss rückwirkend höchstens für "
              "den Monat vor der Antragstellung gezahlt wird. Fehlende Unterlagen werden mit Frist "
              "nachgefordert. Im Gespräch ist auch auf die Anzeigepflichten hinzuweisen, insbesondere bei "
              "Heirat, Umzug und Unterhaltszahlungen des anderen Elternteils, sowie auf die Möglichkeit "
              "einer Beistandschaft des Jugendamts für die Durchsetzung des Kindesunterhalts."),
        ],
    ),
    dict(
        path="S-III/wohngeld_checkliste.docx",
        title="Checkliste Unterlagen Wohngeldantrag",
        department="S-III",
        doc_type="checkliste",
        blocks=[
            P("Diese Checkliste gilt für Erstanträge und Weiterleistungsanträge auf Mietzuschuss und "
              "Lastenzuschuss in der Wohngeldstelle des Amts für Wohnen und Migration (S-III). Sie wird "
              "auch im Bürgerbüro ausgegeben; die Spalte \"intern\" ist nur für die Sachbearbeitung bestimmt."),
            H2("Allgemeine Unterlagen"),
            TABLE(("Unterlage", "Formblatt", "intern"),
                  ("Antrag auf Mietzuschuss", "S-III/WG-1", "Unterschrift aller volljährigen Haushaltsmitglieder prüfen"),
                  ("Antrag auf Lastenzuschuss", "S-III/WG-2 mit Anlage WG-2a", "nur für Eigentümer"),
                  ("Personalausweis oder Aufenthaltstitel", "keines", "Einsicht genügt"),
                  ("Nachweis über Kindergeld", "keines", "Zahl der Kinder im Haushalt"),
                  ("Schwerbehindertenausweis", "keines", "Freibetrag nach § 17 WoGG"),
                  ("Nachweis Alleinerziehend", "keines", "Freibetrag für Alleinerziehende")),
            H2("Unterlagen zur Wohnung"),
            H3("Mietzuschuss"),
            TABLE(("Unterlage", "Hinweis"),
                  ("Mietbescheinigung", "Formblatt S-III/WG-3, vom Vermieter ausgefüllt und unterschrieben"),
                  ("Mietvertrag", "bei Erstantrag vollständig"),
                  ("Letzte Mieterhöhung", "falls nach Mietvertrag erfolgt"),
                  ("Nachweis über Mietzahlung", "Kontoauszug der letzten Mietzahlung"),
                  ("Untermietvertrag", "bei Untermiete zusätzlich Zustimmung des Hauptvermieters")),
            H3("Lastenzuschuss"),
            TABLE(("Unterlage", "Hinweis"),
                  ("Grundbuchauszug", "nicht älter als sechs Monate"),
                  ("Darlehensverträge", "alle Darlehen mit Verwendungszweck"),
                  ("Jahreskontoauszug der Bank", "Zinsen und Tilgung des Vorjahres"),
                  ("Grundsteuerbescheid", "laufendes Jahr"),
                  ("Wohnflächenberechnung", "bei teilweiser Vermietung zwingend")),
            H2("Einkommensnachweise"),
            P("Für jedes Haushaltsmitglied ist eine Einkommenserklärung (Formblatt S-III/WG-4) abzugeben. "
              "Maßgeblich ist das zu erwartende Einkommen der nächsten zwölf Monate. Als Nachweise gelten:"),
            TABLE(("Einkommensart", "Nachweis"),
                  ("Arbeitnehmer", "Verdienstbescheinigung S-III/WG-5 oder Lohnabrechnungen der letzten drei Monate"),
                  ("Selbständige", "letzter Einkommensteuerbescheid und aktuelle Gewinnprognose"),
                  ("Rente", "aktueller Rentenbescheid bzw. Rentenanpassungsmitteilung"),
                  ("Arbeitslosengeld, Krankengeld", "Bewilligungsbescheid"),
                  ("Elterngeld", "Elterngeldbescheid"),
                  ("Unterhalt, Unterhaltsvorschuss", "Unterhaltstitel, Kontoauszug, UV-Bescheid"),
                  ("BAföG, Ausbildungsvergütung", "Bescheid bzw. Ausbildungsvertrag"),
                  ("Kein Einkommen", "Erklärung zur Sicherung des Lebensunterhalts S-III/WG-11")),
            H2("Fristen und Bearbeitungsschritte"),
            OL("Eingang am Eingangstag stempeln bzw. elektronisch vermerken: das Antragsdatum bestimmt den Leistungsbeginn.",
               "Vollständigkeitsprüfung innerhalb von zehn Arbeitstagen.",
               "Nachforderung fehlender Unterlagen mit Textbaustein WG-NF-01, Frist drei Wochen.",
               "Bei ausbleibender Reaktion Nachforderung mit Belehrung WG-NF-02, Frist zwei Wochen.",
               "Entscheidung innerhalb von sechs Wochen nach Vorliegen aller Unterlagen, sonst Zwischennachricht."),
            H2("Weiterleistungsantrag"),
            P("Für den Weiterleistungsantrag sind nur geänderte Unterlagen einzureichen: aktuelle "
              "Einkommensnachweise aller Haushaltsmitglieder, eine neue Mietbescheinigung nur bei Mietänderung "
              "oder wenn die letzte älter als zwei Jahre ist, sowie Nachweise über Änderungen im Haushalt. Der "
              "Weiterleistungsantrag sollte zwei Monate vor Ablauf des Bewilligungszeitraums gestellt werden."),
            H2("Häufige Fehler bei der Vollständigkeitsprüfung"),
            UL("Mietbescheinigung nur von der antragstellenden Person statt vom Vermieter unterschrieben: neue Bescheinigung anfordern.",
               "Einkommenserklärung fehlt für ein volljähriges Kind im Haushalt: jedes Haushaltsmitglied ab 16 Jahren muss eine eigene Erklärung abgeben.",
               "Heizkosten in der Bruttokaltmiete enthalten: Aufteilung durch den Vermieter nachfordern, weil Heizkosten pauschal berücksichtigt werden.",
               "Untermiete ohne Zustimmung des Hauptvermieters: Zustimmung anfordern, ersatzweise Erklärung zur Nutzung der Wohnung.",
               "Lohnabrechnungen enthalten Einmalzahlungen (Weihnachtsgeld, Urlaubsgeld): diese gesondert erfassen und auf zwölf Monate verteilen."),
            P("Bei Unklarheiten zur Vollständigkeit entscheidet die Sachbearbeitung; die Teamleitung wird nur "
              "bei Zweifeln an der Echtheit von Unterlagen beteiligt."),
        ],
    ),
    dict(
        path="S-Z/verwendungsnachweis_checkliste.docx",
        title="Checkliste Prüfung des Verwendungsnachweises",
        department="S-Z",
        doc_type="checkliste",
        blocks=[
            P("Die Checkliste regelt die Prüfung der Verwendungsnachweise von Zuwendungsempfängern "
              "(Wohlfahrtsverbände, Vereine, sonstige freie Träger) durch die Zuschussstelle der Zentralen "
              "Dienste (S-Z) in Zusammenarbeit mit dem Fachamt. Grundlage sind der Zuwendungsbescheid, die "
              "städtischen Allgemeinen Nebenbestimmungen (ANBest-P) und die Grundsätze des Art. 44 BayHO."),
            H2("Bestandteile des Verwendungsnachweises"),
            TABLE(("Bestandteil", "Inhalt", "Formblatt"),
                  ("Sachbericht", "Verlauf, Ergebnisse, Zielerreichung, Kennzahlen, Abweichungen", "S-Z/ZU-7a"),
                  ("Zahlenmäßiger Nachweis", "Einnahmen und Ausgaben gegliedert nach dem Finanzierungsplan", "S-Z/ZU-7"),
                  ("Belegliste", "alle Ausgaben ab 250 EUR einzeln mit Datum, Empfänger, Betrag", "S-Z/ZU-7b"),
                  ("Personalkostenaufstellung", "Beschäftigte, Eingruppierung, Stellenanteil, Brutto-Arbeitgeberkosten", "S-Z/ZU-3"),
                  ("Bestätigung", "Ausgaben notwendig, wirtschaftlich und sparsam; Angaben stimmen mit Büchern überein", "im ZU-7 enthalten")),
            P("Originalbelege werden nur auf Anforderung vorgelegt. Der Träger muss sie fünf Jahre nach "
              "Vorlage des Verwendungsnachweises aufbewahren."),
            H2("Fristen"),
            TABLE(("Schritt", "Frist"),
                  ("Vorlage des Verwendungsnachweises", "bis 30. Juni des Folgejahres"),
                  ("Fristverlängerung", "auf Antrag vor Fristablauf um bis zu drei Monate"),
                  ("Erinnerung bei Nichtvorlage", "zwei Wochen nach Fristablauf, Nachfrist vier Wochen"),
                  ("Kursorische Prüfung durch die Zuschussstelle", "innerhalb von drei Monaten nach Eingang"),
                  ("Vertiefte Prüfung (Stichprobe oder Anlass)", "innerhalb von sechs Monaten nach Eingang")),
            H2("Kursorische Prüfung"),
            P("Jeder Verwendungsnachweis wird kursorisch geprüft. Dabei wird festgestellt, ob der Nachweis "
              "vollständig ist und ob sich aus ihm Anhaltspunkte für eine Rückforderung ergeben."),
            OL("Eingang in der E-Akte des Zuwendungsvorgangs erfassen und Eingangsbestätigung versenden.",
               "Vollständigkeit prüfen: Sachbericht, zahlenmäßiger Nachweis, Belegliste, Unterschrift.",
               "Abgleich der Ist-Ausgaben mit dem Finanzierungsplan: Überschreitungen einzelner Ansätze über 20 Prozent markieren.",
               "Einnahmen prüfen: zusätzliche Drittmittel oder höhere Eigeneinnahmen mindern bei Fehlbedarfsfinanzierung die Zuwendung.",
               "Sachbericht an das Fachamt zur fachlichen Stellungnahme senden (Frist vier Wochen).",
               "Ergebnis im Prüfvermerk (Formblatt S-Z/ZU-8) festhalten."),
            H2("Vertiefte Prüfung"),
            P("Eine vertiefte Prüfung erfolgt bei jedem fünften Verwendungsnachweis nach Zufallsauswahl, bei "
              "Zuwendungen ab 250.000 EUR jährlich und immer dann, wenn die kursorische Prüfung Auffälligkeiten "
              "ergeben hat."),
            H3("Prüfpunkte der vertieften Prüfung"),
            UL("Stichprobe von mindestens 20 Belegen aus der Belegliste anfordern und prüfen.",
               "Besserstellungsverbot: Vergütung der Beschäftigten mit TVöD vergleichen.",
               "Vergabe: bei Aufträgen über 1.000 EUR drei Vergleichsangebote und Vergabevermerk.",
               "Inventarisierung von Gegenständen über 800 EUR netto.",
               "Zinsen für zu früh abgerufene Mittel berechnen (Mittel nicht innerhalb von zwei Monaten verwendet)."),
            H2("Ergebnis und Folgen"),
            TABLE(("Ergebnis", "Folge"),
                  ("Keine Beanstandung", "Abschlussmitteilung an den Träger, Vorgang schließen"),
                  ("Geringfügige Überzahlung unter 250 EUR", "Verrechnung mit dem nächsten Mittelabruf nach Zustimmung"),
                  ("Überzahlung ab 250 EUR", "Anhörung, Teilaufhebung und Rückforderung nach Art. 49a BayVwVfG mit Zinsen"),
                  ("Zweckverfehlung oder Nichtvorlage", "Anhörung, Widerruf des Zuwendungsbescheids, Rückforderung des gesamten Betrags"),
                  ("Verdacht auf Subventionsbetrug", "sofortige Information der Amtsleitung und des Rechtsreferats")),
            P("Die Abschlussmitteilung oder der Rückforderungsbescheid wird im Vier-Augen-Prinzip freigegeben. "
              "Rückforderungen ab 10.000 EUR zeichnet die Amtsleitung S-Z."),
        ],
    ),
    dict(
        path="S-Z/eingangsbestaetigung_zwischennachricht.docx",
        title="Textbausteine Eingangsbestätigung und Zwischennachricht",
        department="S-Z",
        doc_type="textbausteine",
        blocks=[
            P("Einheitliche Textbausteine des Sozialreferats für Eingangsbestätigungen und Zwischennachrichten. "
              "Sie gelten für alle Ämter (S-I, S-II, S-III, S-Z) und sind im Fachverfahren und in der E-Akte unter "
              "den angegebenen Kürzeln hinterlegt."),
            H2("Wann ist welche Nachricht zu versenden?"),
            TABLE(("Anlass", "Baustein", "Frist"),
                  ("Eingang eines Antrags", "EB-01", "innerhalb von fünf Arbeitstagen"),
                  ("Eingang eines Widerspruchs", "EB-02", "innerhalb von fünf Arbeitstagen"),
                  ("Eingang von nachgereichten Unterlagen", "EB-03 (nur auf Wunsch)", "innerhalb von fünf Arbeitstagen"),
                  ("Entscheidung dauert länger als angekündigt", "ZN-01", "spätestens nach sechs Wochen ohne Entscheidung"),
                  ("Verzögerung wegen Beteiligung Dritter", "ZN-02", "sobald die Verzögerung absehbar ist"),
                  ("Anfrage per E-Mail, Antwort nicht sofort möglich", "ZN-03", "innerhalb von drei Arbeitstagen")),
            P("Zwischennachrichten sind keine Formalität: Ist über einen Antrag ohne zureichenden Grund nicht "
              "innerhalb von sechs Monaten entschieden, kann im sozialgerichtlichen Verfahren Untätigkeitsklage "
              "erhoben werden (§ 88 Abs. 1 SGG); im verwaltungsgerichtlichen Verfahren nach drei Monaten "
              "(§ 75 VwGO). Eine begründete Zwischennachricht dokumentiert den zureichenden Grund."),
            H2("Eingangsbestätigungen"),
            H3("EB-01 Eingangsbestätigung Antrag"),
            P("Ihr Antrag auf <Leistung> ist am <Eingangsdatum> bei uns eingegangen. Ihr Aktenzeichen lautet "
              "<Aktenzeichen>; bitte geben Sie es bei allen Schreiben und Anrufen an. Zuständig ist "
              "<Name der Sachbearbeitung>, erreichbar unter <Telefon> zu den Sprechzeiten <Sprechzeiten>. Wir "
              "prüfen Ihren Antrag und melden uns, falls wir weitere Unterlagen benötigen."),
            H3("EB-02 Eingangsbestätigung Widerspruch"),
            P("Ihr Widerspruch vom <Datum> gegen unseren Bescheid vom <Bescheiddatum> ist am <Eingangsdatum> "
              "bei uns eingegangen. Wir prüfen den Bescheid nun noch einmal vollständig. Wenn Sie Ihren "
              "Widerspruch noch begründen möchten, senden Sie uns die Begründung bitte bis zum <Datum>. Sie "
              "erhalten über das Ergebnis einen schriftlichen Bescheid."),
            H3("EB-03 Bestätigung nachgereichter Unterlagen"),
            P("Wir bestätigen den Eingang folgender Unterlagen am <Datum>: <Liste>. Bitte beachten Sie, dass "
              "die Prüfung auf Vollständigkeit noch aussteht."),
            H2("Zwischennachrichten"),
            H3("ZN-01 Zwischennachricht allgemein"),
            P("Leider konnten wir über Ihren Antrag vom <Datum> noch nicht entscheiden. Grund dafür ist "
              "<konkreter Grund, z. B. hohes Antragsaufkommen, Prüfung der Einkommensnachweise>. Wir rechnen "
              "mit einer Entscheidung bis voraussichtlich <Monat/Datum>. Sie müssen in dieser Zeit nichts "
              "unternehmen. Wir bitten um Ihr Verständnis."),
            H3("ZN-02 Verzögerung wegen Beteiligung Dritter"),
            P("Für die Entscheidung über Ihren Antrag benötigen wir eine Auskunft von <Stelle, z. B. Deutsche "
              "Rentenversicherung, Pflegekasse>. Wir haben diese am <Datum> angefordert. Sobald die Auskunft "
              "vorliegt, entscheiden wir umgehend. Wenn Ihnen durch die Wartezeit eine Notlage entsteht, melden "
              "Sie sich bitte bei uns; wir prüfen dann eine vorläufige Leistung."),
            H3("ZN-03 Antwort auf E-Mail-Anfragen"),
            P("Vielen Dank für Ihre Nachricht vom <Datum>. Wir benötigen für die Beantwortung noch etwas Zeit "
              "und melden uns bis spätestens <Datum> bei Ihnen. Bitte senden Sie uns keine Sozialdaten oder "
              "Unterlagen per unverschlüsselter E-Mail, sondern nutzen Sie das Online-Portal."),
            H2("Regeln für die Sachbearbeitung"),
            OL("Die Eingangsbestätigung wird vom Fachverfahren vorbereitet; die Sachbearbeitung prüft das Aktenzeichen und den Namen der Ansprechperson.",
               "Die Zwischennachricht muss einen konkreten Grund und einen voraussichtlichen Entscheidungszeitpunkt enthalten.",
               "Wird der angekündigte Zeitpunkt erneut überschritten, ist eine weitere Zwischennachricht mit Zustimmung der Sachgebietsleitung zu versenden.",
               "Jede Eingangsbestätigung und Zwischennachricht wird in der E-Akte als Ausgangsschreiben abgelegt.",
               "Bei Anträgen auf existenzsichernde Leistungen ersetzt eine Zwischennachricht nicht die Prüfung einer vorläufigen Leistung."),
        ],
    ),
    dict(
        path="S-Z/widerspruch_textbausteine.docx",
        title="Textbausteine Widerspruchsverfahren und Rechtsbehelfsbelehrungen",
        department="S-Z",
        doc_type="textbausteine",
        blocks=[
            P("Zentrale Textbausteine der Widerspruchsstelle (S-Z, Sachgebiet Rechtsbehelfe). Die "
              "Rechtsbehelfsbelehrungen RB-SGG und RB-VwGO sind verbindlich und dürfen nicht verändert werden. "
              "Die Bausteine WS-01 bis WS-05 können an den Einzelfall angepasst werden."),
            H2("Rechtsbehelfsbelehrungen"),
            H3("RB-SGG Belehrung für Bescheide nach SGB XII"),
            P("Gegen diesen Bescheid kann innerhalb eines Monats nach Bekanntgabe Widerspruch erhoben werden. "
              "Der Widerspruch ist schriftlich, in elektronischer Form oder zur Niederschrift bei der "
              "Landeshauptstadt München, Sozialreferat, <Dienststelle und Anschrift>, einzulegen. Die "
              "elektronische Form ist gewahrt, wenn der Widerspruch über das Bürgerkonto des Online-Portals "
              "oder als elektronisches Dokument mit qualifizierter elektronischer Signatur eingereicht wird. "
              "Eine einfache E-Mail genügt nicht."),
            H3("RB-VwGO Belehrung für Wohngeld und Unterhaltsvorschuss"),
            P("Gegen diesen Bescheid können Sie entweder Widerspruch einlegen oder unmittelbar Klage erheben. "
              "Wenn Sie Widerspruch einlegen, ist dieser innerhalb eines Monats nach Bekanntgabe schriftlich "
              "oder zur Niederschrift bei der Landeshauptstadt München, <Dienststelle und Anschrift>, "
              "einzulegen. Wenn Sie unmittelbar Klage erheben wollen, ist diese innerhalb eines Monats nach "
              "Bekanntgabe beim Bayerischen Verwaltungsgericht München schriftlich, zur Niederschrift oder "
              "elektronisch in einer für den Schriftformersatz zugelassenen Form zu erheben."),
            H3("Hinweise zur Verwendung der Belehrungen"),
            UL("RB-SGG für alle Bescheide nach SGB XII (Grundsicherung, Hilfe zur Pflege, BuT für SGB-XII-Berechtigte).",
               "RB-VwGO für Wohngeld, Unterhaltsvorschuss und BuT nach § 6b BKGG.",
               "Für Zuwendungsbescheide an Träger gilt die Belehrung RB-ZU (nur Klage, Vorverfahren entfallen).",
               "Eine fehlende oder falsche Belehrung verlängert die Frist auf ein Jahr (§ 66 Abs. 2 SGG, § 58 Abs. 2 VwGO)."),
            H2("Bausteine im Widerspruchsverfahren"),
            H3("WS-01 Eingangsbestätigung Widerspruch"),
            P("Wir bestätigen den Eingang Ihres Widerspruchs vom <Datum> gegen den Bescheid vom <Datum>. Ihr "
              "Widerspruch wird unter dem Aktenzeichen <Aktenzeichen> geführt. Wir überprüfen den Bescheid "
              "vollständig und teilen Ihnen das Ergebnis schriftlich mit."),
            H3("WS-02 Bitte um Begründung"),
            P("Ihr Widerspruch enthält bisher keine Begründung. Damit wir Ihre Einwände berücksichtigen "
              "können, bitten wir Sie, uns bis zum <Datum, vier Wochen> mitzuteilen, warum Sie den Bescheid für "
              "falsch halten. Geht keine Begründung ein, entscheiden wir auf Grundlage der vorliegenden Akte."),
            H3("WS-03 Hinweis auf verspäteten Widerspruch"),
            P("Ihr Widerspruch ist am <Eingangsdatum> eingegangen. Der Bescheid vom <Datum> gilt nach unserer "
              "Berechnung am <Bekanntgabedatum> als bekannt gegeben; die Widerspruchsfrist endete daher am "
              "<Fristende>. Falls Sie ohne Verschulden verhindert waren, die Frist einzuhalten, teilen Sie uns "
              "die Gründe bitte bis zum <Datum> mit. Wir prüfen dann, ob Wiedereinsetzung in den vorigen Stand "
              "gewährt werden kann. Unabhängig davon werten wir Ihr Schreiben als Antrag auf Überprüfung des "
              "Bescheids nach § 44 SGB X."),
            H3("WS-04 Abhilfebescheid"),
            P("Ihrem Widerspruch vom <Datum> wird abgeholfen. Der Bescheid vom <Datum> wird <ganz / insoweit, "
              "als ...> aufgehoben. <Neue Regelung>. Die Ihnen im Widerspruchsverfahren entstandenen notwendigen "
              "Aufwendungen werden auf Antrag erstattet (§ 63 SGB X)."),
            H3("WS-05 Rücknahme des Widerspruchs bestätigen"),
            P("Sie haben Ihren Widerspruch vom <Datum> am <Datum> zurückgenommen. Das Widerspruchsverfahren "
              "ist damit beendet. Der Bescheid vom <Datum> ist bestandskräftig."),
            H2("Übersicht Fristen im Widerspruchsverfahren"),
            TABLE(("Vorgang", "Frist", "Rechtsgrundlage"),
                  ("Widerspruch (SGB XII)", "ein Monat nach Bekanntgabe", "§ 84 Abs. 1 SGG"),
                  ("Widerspruch (Wohngeld, UVG)", "ein Monat nach Bekanntgabe", "§ 70 Abs. 1 VwGO"),
                  ("Fehlende oder falsche Belehrung", "ein Jahr", "§ 66 Abs. 2 SGG, § 58 Abs. 2 VwGO"),
                  ("Wiedereinsetzung beantragen", "ein Monat nach Wegfall des Hindernisses (SGG) bzw. zwei Wochen (VwGO)", "§ 67 SGG, § 60 VwGO"),
                  ("Untätigkeitsklage wegen Widerspruch", "nach drei Monaten", "§ 88 Abs. 2 SGG, § 75 VwGO"),
                  ("Klage nach Widerspruchsbescheid", "ein Monat nach Bekanntgabe", "§ 87 SGG, § 74 VwGO")),
        ],
    ),
]

# ---------------------------------------------------------------------------------------------
# PDF documents
# ---------------------------------------------------------------------------------------------

PDF_DOCS = [
    dict(
        path="S-I/erstattung_50_sgbx.pdf",
        title="Arbeitsanweisung Erstattung zu Unrecht erbrachter Leistungen",
        department="S-I",
        doc_type="arbeitsanweisung",
        stand="Stand: 15.01.2026",
        blocks=[
            H2("Zweck und Geltungsbereich"),
            P("Diese Arbeitsanweisung regelt im Amt für Soziale Sicherung (S-I) das Verfahren, wenn Leistungen "
              "nach dem SGB XII (Grundsicherung, Hilfe zum Lebensunterhalt, Hilfe zur Pflege, Bildung und "
              "Teilhabe) zu Unrecht erbracht worden sind. Sie beschreibt die Aufhebung der Bewilligung, die "
              "Festsetzung der Erstattung nach § 50 SGB X und die Übergabe an die Forderungsstelle."),
            P("Überzahlungen entstehen meist, weil Änderungen zu spät mitgeteilt wurden (z. B. Rentenerhöhung, "
              "Erbschaft, Umzug, Tod) oder weil bei der Bewilligung ein Fehler unterlaufen ist. Ziel ist eine "
              "zügige, rechtssichere und für die Betroffenen nachvollziehbare Rückforderung."),
            H3("Rechtsgrundlagen"),
            UL("§ 45 SGB X: Rücknahme eines rechtswidrigen begünstigenden Verwaltungsakts",
               "§ 48 SGB X: Aufhebung bei wesentlicher Änderung der Verhältnisse",
               "§ 50 SGB X: Erstattung zu Unrecht erbrachter Leistungen",
               "§ 24 SGB X: Anhörung vor dem belastenden Bescheid",
               "§ 44 SGB XII: Besonderheiten bei der Grundsicherung im Alter und bei Erwerbsminderung"),
            H2("Prüfung der Aufhebung"),
            H3("Aufhebung wegen Änderung der Verhältnisse"),
            P("Hat sich nach Erlass des Bewilligungsbescheids eine wesentliche Änderung ergeben, ist der "
              "Bescheid nach § 48 SGB X mit Wirkung für die Zukunft aufzuheben. Für die Vergangenheit ab dem "
              "Zeitpunkt der Änderung soll er aufgehoben werden, wenn die Person eine Mitteilungspflicht "
              "vorsätzlich oder grob fahrlässig verletzt hat, nach Antragstellung Einkommen erzielt wurde, das "
              "zum Wegfall oder zur Minderung des Anspruchs geführt hätte, oder die Person wusste oder grob "
              "fahrlässig nicht wusste, dass der Anspruch ganz oder teilweise weggefallen ist."),
            H3("Rücknahme eines von Anfang an fehlerhaften Bescheids"),
            P("War der Bescheid schon bei Erlass rechtswidrig, richtet sich die Rücknahme nach § 45 SGB X. Die "
              "Person genießt Vertrauensschutz, es sei denn, sie hat den Bescheid durch arglistige Täuschung, "
              "Drohung oder Bestechung erwirkt, er beruht auf vorsätzlich oder grob fahrlässig unrichtigen "
              "oder unvollständigen Angaben, oder sie kannte die Rechtswidrigkeit oder kannte sie infolge grober "
              "Fahrlässigkeit nicht."),
            H3("Fristen für Rücknahme und Aufhebung"),
            TABLE(("Frist", "Inhalt", "Rechtsgrundlage"),
                  ("ein Jahr ab Kenntnis", "Rücknahme oder Aufhebung für die Vergangenheit nur innerhalb eines Jahres seit Kenntnis der Tatsachen", "SGB X: § 45 Abs. 4, § 48 Abs. 4"),
                  ("zwei Jahre", "Rücknahme für die Zukunft nur bis zwei Jahre nach Bekanntgabe, außer bei Bösgläubigkeit", "SGB X: § 45 Abs. 3"),
                  ("zehn Jahre", "bei Täuschung oder grob fahrlässig falschen Angaben", "SGB X: § 45 Abs. 3"),
                  ("vier Jahre", "Verjährung des festgesetzten Erstattungsanspruchs nach Unanfechtbarkeit", "SGB X: § 50 Abs. 4")),
            P("Die Jahresfrist beginnt erst, wenn der Sachbearbeitung alle Tatsachen bekannt sind, die die "
              "Aufhebung rechtfertigen; dazu gehört auch das Ergebnis der Anhörung. Das Datum der Kenntnis ist "
              "in der E-Akte zu vermerken und eine Wiedervorlage spätestens zehn Monate danach zu setzen."),
            H2("Verfahrensschritte"),
            H3("Ermittlung der Überzahlung"),
            OL("Zeitraum der Überzahlung bestimmen: Beginn der Änderung bis zur Einstellung bzw. Anpassung.",
               "Neuberechnung für jeden betroffenen Monat im Fachverfahren durchführen (Funktion Probeberechnung).",
               "Überzahlungsbetrag pro Monat und gesamt ermitteln.",
               "Prüfen, ob Erstattungsansprüche anderer Träger bestehen (z. B. Nachzahlung der Rentenversicherung für denselben Zeitraum, §§ 102 ff. SGB X); dann vorrangig Erstattung vom Träger anfordern."),
            H3("Anhörung"),
            P("Vor Erlass des Aufhebungs- und Erstattungsbescheids ist die Person nach § 24 SGB X anzuhören. "
              "Das Anhörungsschreiben (Formblatt S-Z/AH-1 mit Anlage S-I/ER-2) nennt den Zeitraum, die Höhe, "
              "die Berechnung und die Tatsachen, aus denen sich grobe Fahrlässigkeit oder Kenntnis ergeben soll. "
              "Die Frist zur Äußerung beträgt zwei Wochen."),
            H3("Bescheid"),
            P("Die Aufhebung und die Festsetzung der Erstattung sind in einem Bescheid zu verbinden "
              "(§ 50 Abs. 3 SGB X). Der Bescheid enthält:"),
            UL("die aufgehobenen Bescheide mit Datum,",
               "den Zeitraum der Aufhebung,",
               "die Rechtsgrundlage der Aufhebung und die Begründung einschließlich Würdigung der Anhörung,",
               "bei § 45 SGB X die Ermessenserwägungen,",
               "den Erstattungsbetrag und die Berechnung als Anlage,",
               "die Rechtsbehelfsbelehrung RB-SGG."),
            P("Alle Aufhebungs- und Erstattungsbescheide unterliegen dem Vier-Augen-Prinzip; die Freigabe "
              "erfolgt durch die Sachgebietsleitung."),
            H2("Einzug und Aufrechnung"),
            H3("Übergabe an die Forderungsstelle"),
            P("Nach Bestandskraft oder bei Anordnung der sofortigen Vollziehung wird die Forderung im "
              "Fachverfahren an die Forderungsstelle der Stadtkasse übergeben. Die Forderungsstelle versendet "
              "die Zahlungsaufforderung und vereinbart Ratenzahlungen. Raten unter 20 EUR monatlich werden nur "
              "ausnahmsweise vereinbart."),
            H3("Aufrechnung mit laufenden Leistungen"),
            P("Bezieht die Person weiterhin Leistungen nach dem SGB XII, kann der Erstattungsanspruch nach "
              "§ 26 Abs. 2 SGB XII mit laufenden Leistungen aufgerechnet werden, wenn die Überzahlung auf "
              "vorsätzlich oder grob fahrlässig unrichtigen oder unvollständigen Angaben beruht. Die "
              "Aufrechnung ist auf das zum Lebensunterhalt Unerlässliche begrenzt; in S-I gilt als Obergrenze "
              "in der Regel ein Betrag von 5 Prozent der maßgebenden Regelbedarfsstufe monatlich. Vor der "
              "Aufrechnung ist anzuhören; bei Beträgen unter 70 EUR kann die Anhörung nach § 24 Abs. 2 Nr. 7 "
              "SGB X entfallen."),
            H3("Niederschlagung und Erlass"),
            P("Ist die Forderung dauerhaft nicht einbringlich, kann sie befristet oder unbefristet "
              "niedergeschlagen werden; ein Erlass kommt nur bei besonderer Härte in Betracht. Zuständig ist "
              "bis 5.000 EUR die Sachgebietsleitung, darüber die Amtsleitung S-I."),
        ],
    ),
    dict(
        path="S-II/unterhaltsvorschuss_rueckgriff.pdf",
        title="Arbeitsanweisung Rückgriff beim unterhaltspflichtigen Elternteil nach § 7 UVG",
        department="S-II",
        doc_type="arbeitsanweisung",
        stand="Stand: 01.12.2025",
        blocks=[
            H2("Grundlagen des Rückgriffs"),
            P("Mit der Zahlung von Unterhaltsvorschuss geht der Unterhaltsanspruch des Kindes gegen den "
              "anderen Elternteil in Höhe der gezahlten Leistung auf das Land über (§ 7 Abs. 1 UVG). Die "
              "Unterhaltsvorschusskasse des Stadtjugendamts (S-II) macht diesen Anspruch im Auftrag geltend. "
              "Der Rückgriff ist eine Pflichtaufgabe: Jede Bewilligung wird innerhalb von fünf Arbeitstagen an "
              "das Sachgebiet Rückgriff übergeben."),
            P("Ziel ist, den unterhaltspflichtigen Elternteil frühzeitig zur Zahlung zu bewegen. Erfahrungsgemäß "
              "ist die Rückgriffsquote umso höher, je schneller nach der Bewilligung der erste Kontakt erfolgt."),
            H3("Rechtswahrungsanzeige"),
            P("Für die Vergangenheit kann der übergegangene Anspruch nur ab dem Zeitpunkt geltend gemacht "
              "werden, in dem der Unterhaltspflichtige von dem Antrag auf Unterhaltsvorschuss Kenntnis "
              "erhalten hat und über die Möglichkeit der Inanspruchnahme belehrt worden ist (§ 7 Abs. 2 UVG). "
              "Deshalb ist die Rechtswahrungsanzeige (Formblatt S-II/UV-R1) unmittelbar nach Antragseingang "
              "zu versenden, nicht erst nach der Bewilligung. Die Zustellung ist zu dokumentieren."),
            H2("Ablauf im Sachgebiet Rückgriff"),
            H3("Erste Schritte"),
            OL("Übergabevermerk aus der Leistungsakte prüfen: Aktenzeichen, Zahlbetrag, Beginn, Angaben zum Unterhaltspflichtigen.",
               "Anschrift des Unterhaltspflichtigen über das Melderegister ermitteln; bei unbekanntem Aufenthalt Anfrage beim Bundeszentralamt für Steuern oder Ausländerzentralregister.",
               "Auskunftsersuchen nach § 6 Abs. 1 UVG über Einkommen und Vermögen versenden (Formblatt S-II/UV-R2), Frist drei Wochen.",
               "Bei fehlender Antwort: Erinnerung nach zwei Wochen, danach Auskunft beim Arbeitgeber (§ 6 Abs. 2 UVG) oder beim Finanzamt einholen.",
               "Leistungsfähigkeit berechnen (Selbstbehalt nach der Düsseldorfer Tabelle und den Unterhaltsleitlinien des OLG München)."),
            H3("Zahlungsaufforderung"),
            P("Ist der Unterhaltspflichtige leistungsfähig, wird er schriftlich zur Zahlung aufgefordert "
              "(Formblatt S-II/UV-R3). Die Aufforderung nennt den übergegangenen Betrag, den laufenden "
              "Monatsbetrag und das Zahlungskonto. Es wird eine Frist von vier Wochen gesetzt. Der "
              "Unterhaltspflichtige wird aufgefordert, eine Jugendamtsurkunde über den Unterhalt errichten zu "
              "lassen; das ist kostenfrei."),
            H2("Titulierung und Vollstreckung"),
            H3("Gerichtliches Verfahren"),
            P("Zahlt der Unterhaltspflichtige nicht und lässt er keinen Titel errichten, wird der Anspruch "
              "gerichtlich geltend gemacht. Zuständig ist das Familiengericht. Bei Rückständen bis zu "
              "2.000 EUR und klarer Sachlage kommt das vereinfachte Verfahren über den Unterhalt "
              "Minderjähriger in Betracht; ansonsten ist ein Unterhaltsantrag zu stellen. Der Entwurf wird "
              "von der Sachbearbeitung vorbereitet und von der Teamleitung freigegeben."),
            H3("Vollstreckung"),
            P("Aus einem Titel wird vollstreckt, wenn keine Zahlung erfolgt. Vorrangig ist die Pfändung des "
              "Arbeitseinkommens, weil sie laufende Zahlungen sichert. Bei Selbständigen kommen Kontopfändung "
              "und Vermögensauskunft in Betracht. Vollstreckungsaufträge werden über die Vollstreckungsstelle "
              "der Stadtkasse erteilt."),
            H3("Leistungsunfähige Unterhaltspflichtige"),
            P("Ist der Unterhaltspflichtige nicht leistungsfähig, weil er nur Bürgergeld bezieht und kein "
              "Einkommen hat, ist der Rückgriff ausgeschlossen, solange dieser Zustand besteht (§ 7a UVG). Es "
              "ist eine Wiedervorlage von zwölf Monaten zu setzen. Zu prüfen ist, ob ein fiktives Einkommen "
              "zugerechnet werden kann, wenn der Unterhaltspflichtige sich nicht ausreichend um Arbeit bemüht."),
            H2("Besondere Fallgestaltungen"),
            H3("Unterhaltspflichtiger im Ausland"),
            P("Lebt der Unterhaltspflichtige im Ausland, erfolgt der Rückgriff über das Bundesamt für Justiz "
              "als zentrale Behörde, sofern der Staat dem Haager Unterhaltsübereinkommen oder der "
              "EU-Unterhaltsverordnung beigetreten ist. Der Antrag wird mit Formblatt S-II/UV-R9 über die "
              "Teamleitung gestellt. Die Bearbeitung dauert erfahrungsgemäß mehrere Monate."),
            H3("Stundung, Ratenzahlung und Erlass"),
            TABLE(("Maßnahme", "Zuständig", "Voraussetzung"),
                  ("Ratenzahlung bis 24 Monate", "Sachbearbeitung", "laufender Unterhalt wird gezahlt"),
                  ("Ratenzahlung über 24 Monate", "Teamleitung", "Einkommensnachweis, Begründung"),
                  ("Stundung bis sechs Monate", "Teamleitung", "vorübergehende Notlage"),
                  ("Erlass", "Sachgebietsleitung", "besondere Härte, dauerhaft uneinbringlich")),
            H3("Verjährung"),
            P("Rückständige Unterhaltsansprüche verjähren in drei Jahren zum Jahresende (§§ 195, 199 BGB). "
              "Titulierte Ansprüche verjähren für die Zukunft fällig werdende Beträge ebenfalls in drei Jahren. "
              "Die Sachbearbeitung setzt für jeden Fall eine Wiedervorlage zum 1. Oktober des dritten Jahres "
              "und prüft verjährungshemmende Maßnahmen."),
        ],
    ),
    dict(
        path="S-III/wohngeld_bewilligung_weiterleistung.pdf",
        title="Arbeitsanweisung Wohngeld: Bewilligungszeitraum, Weiterleistung und Änderungen",
        department="S-III",
        doc_type="arbeitsanweisung",
        stand="Stand: 01.03.2026",
        blocks=[
            H2("Bewilligungszeitraum"),
            H3("Festlegung"),
            P("Wohngeld wird für einen Bewilligungszeitraum bewilligt, der in der Regel zwölf Monate beträgt "
              "(§ 25 Abs. 1 WoGG). Er kann bis zu 24 Monate betragen, wenn sich die maßgeblichen Verhältnisse "
              "voraussichtlich nicht verändern. In der Wohngeldstelle gilt:"),
            TABLE(("Fallgruppe", "Bewilligungszeitraum"),
                  ("Erwerbstätige, schwankendes Einkommen", "zwölf Monate"),
                  ("Befristete Arbeitsverträge", "bis zum Ende der Befristung, höchstens zwölf Monate"),
                  ("Rentnerhaushalte mit gleichbleibendem Einkommen", "bis zu 24 Monate"),
                  ("Studierende, Auszubildende", "bis zum Ende des Ausbildungsabschnitts"),
                  ("Unsichere Prognose", "sechs Monate")),
            P("Ein Bewilligungszeitraum von mehr als zwölf Monaten ist im Bescheid zu begründen und geht in die "
              "Zweitprüfung nach dem Vier-Augen-Prinzip."),
            H3("Beginn"),
            P("Der Bewilligungszeitraum beginnt am Ersten des Monats, in dem der Wohngeldantrag gestellt worden "
              "ist (§ 25 Abs. 2 WoGG). Maßgeblich ist der Eingang bei der Wohngeldstelle oder bei einer anderen "
              "Stelle, die den Antrag nach § 16 SGB I weiterleitet. Treten die Voraussetzungen erst später ein, "
              "beginnt der Bewilligungszeitraum am Ersten des Monats, in dem sie eintreten."),
            H2("Weiterleistungsantrag"),
            H3("Zeitpunkt der Antragstellung"),
            P("Wohngeld wird nicht automatisch weitergezahlt. Für die Zeit nach Ablauf des "
              "Bewilligungszeitraums ist ein neuer Antrag (Weiterleistungsantrag) erforderlich. Wird er "
              "frühestens zwei Monate vor Ablauf gestellt, schließt der neue Bewilligungszeitraum lückenlos an. "
              "Geht der Antrag erst nach Ablauf ein, beginnt der neue Bewilligungszeitraum erst mit dem Monat "
              "der Antragstellung; für die Zwischenzeit besteht kein Anspruch."),
            H3("Erinnerung durch die Wohngeldstelle"),
            P("Das Fachverfahren erzeugt zehn Wochen vor Ablauf des Bewilligungszeitraums ein "
              "Erinnerungsschreiben mit Textbaustein WG-BS-03 und dem vorausgefüllten Weiterleistungsantrag "
              "(Formblatt S-III/WG-1W). Die Erinnerung ist eine Serviceleistung; unterbleibt sie, verlängert "
              "sich der Bewilligungszeitraum nicht."),
            H3("Bearbeitung"),
            OL("Antrag mit Eingangsdatum erfassen und dem bisherigen Vorgang in der E-Akte zuordnen (kein neues Aktenzeichen).",
               "Nur geänderte Unterlagen anfordern: Einkommensnachweise, Mietänderungen, Änderungen im Haushalt.",
               "Neuberechnung im Fachverfahren; Änderungen gegenüber dem Vorbescheid farblich prüfen.",
               "Ziel: Bescheid vor Ablauf des laufenden Bewilligungszeitraums, damit keine Zahlungslücke entsteht."),
            H2("Änderungen während des Bewilligungszeitraums"),
            H3("Mitteilungspflichten"),
            P("Die wohngeldberechtigte Person muss der Wohngeldstelle unverzüglich mitteilen, wenn sich die "
              "Verhältnisse während des Bewilligungszeitraums ändern (§ 27 Abs. 3 und 4 WoGG). Dazu gehören:"),
            UL("Verringerung der Miete oder Belastung um mehr als 15 Prozent,",
               "Erhöhung des Gesamteinkommens um mehr als 15 Prozent,",
               "Auszug, Einzug oder Tod eines Haushaltsmitglieds,",
               "Umzug oder Aufgabe der Wohnung,",
               "Beantragung oder Bezug einer Transferleistung wie Bürgergeld oder Grundsicherung."),
            H3("Erhöhung des Wohngeldes"),
            P("Auf Antrag wird das Wohngeld erhöht, wenn sich die Zahl der Haushaltsmitglieder erhöht, die "
              "Miete um mehr als 10 Prozent steigt oder das Einkommen um mehr als 10 Prozent sinkt und das "
              "Wohngeld dadurch steigt (§ 27 Abs. 1 WoGG). Die Erhöhung wirkt ab dem Monat, in dem die "
              "Änderung eingetreten ist, wenn der Antrag bis zum Ende des Folgemonats gestellt wird; sonst ab "
              "dem Monat der Antragstellung."),
            H3("Verringerung und Wegfall"),
            P("Führt eine Änderung zu einem geringeren oder zu keinem Wohngeld, wird der Bescheid nach "
              "§ 27 Abs. 2 WoGG von dem Zeitpunkt an aufgehoben, zu dem die Änderung eingetreten ist. Vor der "
              "Aufhebung ist die Person anzuhören, soweit nicht lediglich einkommensabhängige Leistungen an "
              "geänderte Verhältnisse angepasst werden (§ 24 Abs. 2 Nr. 5 SGB X). Überzahlte Beträge sind "
              "nach § 50 SGB X zu erstatten."),
            H2("Unwirksamkeit und Sonderfälle"),
            H3("Unwirksamkeit kraft Gesetzes"),
            P("In bestimmten Fällen wird der Wohngeldbescheid ohne Aufhebungsbescheid unwirksam (§ 28 WoGG), "
              "insbesondere wenn die Wohnung nicht mehr genutzt wird oder die wohngeldberechtigte Person "
              "verstirbt und kein weiteres Haushaltsmitglied vorhanden ist. Die Wohngeldstelle teilt die "
              "Unwirksamkeit formlos mit und stellt die Zahlung ein."),
            H3("Tod eines Haushaltsmitglieds"),
            P("Stirbt ein Haushaltsmitglied, bleibt das Wohngeld bis zum Ende des Bewilligungszeitraums "
              "unverändert, wenn nicht die wohngeldberechtigte Person selbst verstorben ist. Eine Neuberechnung "
              "findet erst beim Weiterleistungsantrag statt. Die Mitteilung ist trotzdem in der E-Akte zu "
              "vermerken."),
            H3("Transferleistungsbezug"),
            P("Wird nachträglich Bürgergeld oder Grundsicherung bewilligt, wird der Wohngeldbescheid für die "
              "Zeit des Transferleistungsbezugs unwirksam. Das überzahlte Wohngeld wird nicht von der Person "
              "zurückgefordert, sondern über einen Erstattungsanspruch beim Jobcenter bzw. bei S-I geltend "
              "gemacht. Die Anmeldung erfolgt mit Formblatt S-III/WG-20 innerhalb von zwei Wochen nach "
              "Kenntnis."),
        ],
    ),
    dict(
        path="S-Z/e_akte_aktenfuehrung.pdf",
        title="Arbeitsanweisung Aktenführung in der E-Akte",
        department="S-Z",
        doc_type="arbeitsanweisung",
        stand="Stand: 01.02.2026",
        blocks=[
            H2("Grundsätze der Aktenführung"),
            P("Im Sozialreferat wird seit 2023 ausschließlich elektronisch geführt. Die E-Akte ist die "
              "führende Akte; Papierakten werden nicht mehr angelegt. Die Grundsätze ordnungsgemäßer "
              "Aktenführung verlangen, dass jederzeit vollständig und nachvollziehbar erkennbar ist, was in "
              "einem Verfahren wann, durch wen und mit welchem Ergebnis veranlasst wurde (Vollständigkeit, "
              "Nachvollziehbarkeit, Wahrheit)."),
            P("Diese Arbeitsanweisung gilt für alle Ämter. Fachverfahren wie die Software der Wohngeldstelle "
              "oder der Unterhaltsvorschusskasse übergeben ihre Dokumente automatisch an die E-Akte; die "
              "Regeln zur Ablage gelten trotzdem."),
            H3("Aufbau der E-Akte"),
            TABLE(("Ebene", "Beschreibung", "Beispiel"),
                  ("Akte", "alle Vorgänge zu einer Person oder einem Träger", "Akte Max Mustermann"),
                  ("Vorgang", "ein Verwaltungsverfahren, z. B. ein Antrag oder ein Widerspruch", "Wohngeld Erstantrag 2026"),
                  ("Dokument", "einzelnes Schriftstück mit Metadaten", "Mietbescheinigung vom 03.02.2026")),
            H2("Aktenzeichen und Vorgänge"),
            H3("Aufbau des Aktenzeichens"),
            P("Jeder Vorgang erhält bei Anlage ein eindeutiges Aktenzeichen nach dem Schema "
              "Amt-Sachgebiet/Jahr/laufende Nummer, zum Beispiel S-III-WG/2026/004711 für einen Wohngeldantrag "
              "oder S-Z-ZU/2026/0815 für einen Zuschussvorgang. Das Aktenzeichen wird automatisch vergeben und "
              "darf nicht manuell verändert werden. Es ist in allen Schreiben anzugeben."),
            H3("Vorgang anlegen"),
            OL("Prüfen, ob für die Person bereits eine Akte besteht (Suche nach Name und Geburtsdatum, nicht nur nach Name).",
               "Neuen Vorgang mit Vorgangstyp anlegen (z. B. Antrag, Widerspruch, Mitwirkung, Abgabe, BuT).",
               "Eingangsdatum des auslösenden Dokuments eintragen, nicht das Datum der Erfassung.",
               "Zuständige Sachbearbeitung und Wiedervorlage setzen."),
            P("Doppelte Akten zu derselben Person sind unverzüglich über das Funktionspostfach "
              "E-Akte-Support zusammenführen zu lassen."),
            H3("Eingang und Erledigung"),
            P("Jeder Vorgang hat einen Eingangsvermerk und einen Erledigungsvermerk. Der Eingangsvermerk wird "
              "beim Scannen oder beim elektronischen Eingang automatisch gesetzt. Der Erledigungsvermerk wird "
              "von der Sachbearbeitung gesetzt, sobald das Verfahren abgeschlossen ist, zum Beispiel nach "
              "Versand des Bescheids, nach Abgabe an eine andere Stelle oder nach Rücknahme des Antrags. "
              "Erledigungsgründe sind aus der Auswahlliste zu wählen: entschieden, abgegeben, zurückgenommen, "
              "erledigt durch Tod, sonstiges (mit Freitext)."),
            P("Ein erledigter Vorgang kann nur von der Sachgebietsleitung wieder geöffnet werden, etwa bei "
              "einem Widerspruch, der dem ursprünglichen Vorgang zugeordnet werden soll. Für Widersprüche ist "
              "in der Regel ein eigener Vorgang anzulegen, der mit dem Ausgangsvorgang verknüpft wird."),
            H2("Scannen und Posteingang"),
            H3("Zentrale Scanstelle"),
            P("Papierpost wird in der zentralen Scanstelle der Zentralen Dienste geöffnet, mit Eingangsstempel "
              "versehen, gescannt und über die Texterkennung den Vorgängen zugeordnet. Das Scannen erfolgt "
              "nach der Technischen Richtlinie des BSI für ersetzendes Scannen (TR-RESISCAN). Die Scanstelle "
              "prüft die Vollständigkeit und Lesbarkeit jeder Seite."),
            H3("Aufbewahrung der Papieroriginale"),
            P("Papieroriginale werden nach dem Scannen drei Monate in der Scanstelle aufbewahrt und danach "
              "datenschutzgerecht vernichtet. Ausgenommen sind Urkunden, deren Original rechtlich bedeutsam ist "
              "(z. B. notarielle Urkunden, Vollstreckungstitel, Sparbücher, Ausweise); diese werden nach dem "
              "Scannen an die einsendende Person zurückgegeben bzw. im Original zur Akte genommen. Ein "
              "entsprechender Hinweis erfolgt über den Stempel RÜCKGABE ORIGINAL."),
            H3("Eingänge direkt bei der Sachbearbeitung"),
            P("Unterlagen, die im Bürgerbüro oder bei einem Hausbesuch übergeben werden, sind noch am selben "
              "Tag mit Eingangsdatum an die Scanstelle zu geben oder am Arbeitsplatzscanner zu erfassen. "
              "E-Mails mit Anhängen werden über die Funktion Als Dokument ablegen in den Vorgang übernommen; "
              "die E-Mail selbst ist Teil der Akte."),
            H2("Aufbewahrung und Aussonderung"),
            H3("Aufbewahrungsfristen"),
            TABLE(("Aktenart", "Aufbewahrung nach Erledigung"),
                  ("Sozialhilfe, Grundsicherung, Hilfe zur Pflege", "zehn Jahre"),
                  ("Wohngeld", "zehn Jahre"),
                  ("Unterhaltsvorschuss", "zehn Jahre nach Ende des Rückgriffs"),
                  ("Zuschussvorgänge", "zehn Jahre nach Prüfung des Verwendungsnachweises"),
                  ("Allgemeiner Schriftverkehr ohne Leistungsbezug", "sechs Jahre")),
            P("Die Frist beginnt mit Ablauf des Jahres, in dem der letzte Vorgang der Akte erledigt wurde. Nach "
              "Ablauf schlägt die E-Akte die Aussonderung vor; die Sachgebietsleitung bestätigt sie. Vor der "
              "Löschung wird das Stadtarchiv beteiligt, das über die Archivwürdigkeit entscheidet."),
            H3("Vermerke und Notizen"),
            P("Telefonate, Gespräche und Entscheidungen ohne eigenes Schriftstück werden als Vermerk im "
              "Vorgang dokumentiert. Private Notizen außerhalb der E-Akte (Notizzettel, lokale Dateien) sind "
              "nicht zulässig. Vermerke werden nicht gelöscht; Korrekturen erfolgen durch einen neuen Vermerk "
              "mit Bezug auf den alten."),
        ],
    ),
    dict(
        path="S-Z/fristenberechnung.pdf",
        title="Arbeitsanweisung Fristenberechnung und Bekanntgabe",
        department="S-Z",
        doc_type="arbeitsanweisung",
        stand="Stand: 01.03.2026",
        blocks=[
            H2("Bekanntgabe von Bescheiden"),
            H3("Bekanntgabefiktion"),
            P("Ein schriftlicher Verwaltungsakt, der im Inland durch die Post übermittelt wird, gilt am vierten "
              "Tag nach der Aufgabe zur Post als bekannt gegeben (§ 37 Abs. 2 SGB X in der seit 1. Januar 2025 "
              "geltenden Fassung). Bis zum 31. Dezember 2024 galt der dritte Tag; ältere Arbeitshilfen und "
              "Musterschreiben mit der Drei-Tages-Regel dürfen nicht mehr verwendet werden. Ein elektronisch "
              "übermittelter Verwaltungsakt gilt ebenfalls am vierten Tag nach der Absendung als bekannt gegeben."),
            P("Die Fiktion gilt nicht, wenn der Bescheid nicht oder später zugegangen ist. Im Zweifel muss die "
              "Behörde den Zugang und dessen Zeitpunkt nachweisen. Für Verfahren nach dem Bayerischen "
              "Verwaltungsverfahrensgesetz (z. B. Zuschüsse) gilt Art. 41 BayVwVfG in seiner jeweils geltenden "
              "Fassung; bei Unsicherheit ist die Widerspruchsstelle zu fragen."),
            H3("Postaufgabevermerk"),
            P("Damit die Fiktion greift, muss der Tag der Aufgabe zur Post in der Akte dokumentiert sein. Der "
              "Postaufgabevermerk wird beim zentralen Druck automatisch gesetzt. Bei manuellem Versand vermerkt "
              "die Sachbearbeitung das Datum, an dem das Schreiben in den Postausgang gegeben wurde, mit Kürzel "
              "in der E-Akte. Das Datum des Bescheids ist nicht automatisch das Datum der Aufgabe zur Post."),
            H3("Fällt der vierte Tag auf ein Wochenende"),
            P("Nach der Rechtsprechung der Sozialgerichte gilt die Bekanntgabefiktion auch dann, wenn der vierte "
              "Tag auf einen Samstag, Sonntag oder Feiertag fällt; der Bekanntgabetag verschiebt sich nicht. "
              "Verschoben wird nur das Ende einer Frist (siehe Fristende am Wochenende). In Zweifelsfällen ist "
              "zugunsten der betroffenen Person zu rechnen."),
            H2("Berechnung von Fristen"),
            H3("Fristbeginn"),
            P("Für die Berechnung von Fristen gelten § 26 SGB X und § 64 SGG sowie die §§ 187 bis 193 BGB. Der "
              "Tag der Bekanntgabe wird nicht mitgerechnet; die Frist beginnt am folgenden Tag."),
            H3("Monatsfristen"),
            P("Eine nach Monaten bestimmte Frist endet mit Ablauf des Tages des letzten Monats, der nach seiner "
              "Zahl dem Tag der Bekanntgabe entspricht. Fehlt dieser Tag im letzten Monat, endet die Frist mit "
              "Ablauf des letzten Tages dieses Monats (§ 188 Abs. 3 BGB). Beispiel: Bekanntgabe am 31. Januar, "
              "Fristende am 28. Februar bzw. im Schaltjahr am 29. Februar."),
            H3("Wochen- und Tagesfristen"),
            P("Eine Wochenfrist endet mit Ablauf des Wochentags, der durch seine Benennung dem Tag der "
              "Bekanntgabe entspricht. Beispiel: Bekanntgabe am Mittwoch, Zwei-Wochen-Frist endet am Mittwoch "
              "zwei Wochen später. Bei Tagesfristen wird ab dem Folgetag gezählt."),
            H3("Fristende am Wochenende oder Feiertag"),
            P("Fällt das Ende einer Frist auf einen Sonnabend, einen Sonntag oder einen gesetzlichen Feiertag, "
              "endet die Frist mit Ablauf des nächstfolgenden Werktags (§ 26 Abs. 3 SGB X, § 64 Abs. 3 SGG). "
              "Maßgeblich sind die Feiertage in Bayern am Sitz der Behörde, für München also auch Heilige Drei "
              "Könige (6. Januar), Fronleichnam, Mariä Himmelfahrt (15. August) und Allerheiligen "
              "(1. November). Der Buß- und Bettag ist in Bayern kein gesetzlicher Feiertag; Heiligabend und "
              "Silvester sind Werktage."),
            H2("Rechenbeispiele"),
            H3("Beispiel Widerspruchsfrist im Normalfall"),
            P("Ein Bescheid wird am Donnerstag, 5. März 2026, zur Post gegeben. Er gilt am vierten Tag danach, "
              "also am Montag, 9. März 2026, als bekannt gegeben. Die Widerspruchsfrist von einem Monat beginnt "
              "am 10. März und endet mit Ablauf des Donnerstags, 9. April 2026."),
            H3("Beispiel Monatsende und Samstag"),
            P("Ein Bescheid wird am Dienstag, 27. Januar 2026, zur Post gegeben. Bekanntgabe ist am Samstag, "
              "31. Januar 2026; der Tag verschiebt sich nicht. Die Monatsfrist würde rechnerisch am 31. Februar "
              "enden; diesen Tag gibt es nicht, also endet sie am Samstag, 28. Februar 2026. Weil dies ein "
              "Samstag ist, endet die Frist erst mit Ablauf des Montags, 2. März 2026."),
            H3("Beispiel Feiertag"),
            P("Ein Bescheid wird am Donnerstag, 30. April 2026, zur Post gegeben. Bekanntgabe ist am Montag, "
              "4. Mai 2026. Die Monatsfrist endet rechnerisch am Donnerstag, 4. Juni 2026. Das ist Fronleichnam, "
              "in Bayern ein gesetzlicher Feiertag. Die Frist endet deshalb mit Ablauf des Freitags, "
              "5. Juni 2026."),
            H3("Beispiel Frist in einem Anhörungsschreiben"),
            P("Für Fristen, die die Behörde selbst setzt (Anhörung, Nachforderung von Unterlagen), wird immer "
              "ein konkretes Datum genannt. Die Sachbearbeitung rechnet: Datum der Aufgabe zur Post plus vier "
              "Tage plus die gewünschte Frist von zwei Wochen, und prüft, ob das Ergebnis auf ein Wochenende "
              "oder einen Feiertag fällt. Beispiel: Aufgabe zur Post am Montag, 2. März 2026, Bekanntgabe am "
              "Freitag, 6. März 2026, Frist bis Freitag, 20. März 2026."),
            H3("Fristenkontrolle"),
            P("Jede laufende Frist wird als Wiedervorlage im Fachverfahren erfasst. Für Eingänge nach "
              "Fristablauf gilt: Entscheidend ist der Eingang bei der Behörde, nicht das Datum des Poststempels. "
              "Schriftstücke, die nach Dienstschluss in den Hausbriefkasten eingeworfen werden, gelten als am "
              "selben Tag eingegangen, wenn sie bis 24 Uhr eingeworfen wurden; die Scanstelle versieht solche "
              "Eingänge mit dem Vermerk Nachtbriefkasten."),
        ],
    ),
]

# Sidecars for the hand-written HTML documents (Markdown uses front matter instead).
HTML_META = {
    "S-I/bildung_teilhabe_faq.html": ("FAQ Bildung und Teilhabe für Sachbearbeitung", "S-I", "faq"),
    "S-I/hilfe_zur_pflege_faq.html": ("FAQ Hilfe zur Pflege", "S-I", "faq"),
    "S-II/unterhaltsvorschuss_faq.html": ("FAQ Unterhaltsvorschuss", "S-II", "faq"),
    "S-III/wohngeld_faq.html": ("FAQ Wohngeld für Beratung und Sachbearbeitung", "S-III", "faq"),
    "S-Z/zuschuss_faq_traeger.html": ("FAQ Zuschüsse an freie Träger", "S-Z", "faq"),
    "S-Z/weiterleitung_16_sgbi.html": ("Arbeitsanweisung Weiterleitung von Anträgen an den zuständigen Träger", "S-Z", "arbeitsanweisung"),
    "S-Z/telefonleitfaden_buergerkontakt.html": ("Telefonleitfaden und Bürgerkontakt", "S-Z", "prozessleitfaden"),
}


# ---------------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------------

def _yaml_quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_sidecar(target: Path, title: str, department: str, doc_type: str) -> None:
    assert department in DEPARTMENTS, department
    assert doc_type in DOC_TYPES, doc_type
    sidecar = target.with_name(target.name + ".meta.yaml")
    sidecar.write_text(
        f"title: {_yaml_quote(title)}\ndepartment: {department}\ndoc_type: {doc_type}\n",
        encoding="utf-8",
    )


def build_docx(spec: dict) -> Path:
    import docx
    from docx.shared import Pt

    target = CORPUS / spec["path"]
    target.parent.mkdir(parents=True, exist_ok=True)
    document = docx.Document()
    props = document.core_properties
    props.title = spec["title"]
    props.author = "Landeshauptstadt München, Sozialreferat"
    props.subject = f"{spec['department']} {spec['doc_type']}"
    props.keywords = f"Lotse Demo-Korpus; {spec['department']}; {spec['doc_type']}"
    props.created = FIXED_DATE
    props.modified = FIXED_DATE
    props.last_modified_by = "build_demo_corpus.py"
    props.revision = 1

    document.add_heading(spec["title"], level=0)  # style "Title"
    for kind, payload in spec["blocks"]:
        if kind == "h2":
            document.add_heading(payload, level=2)
        elif kind == "h3":
            document.add_heading(payload, level=3)
        elif kind == "p":
            document.add_paragraph(payload)
        elif kind == "ol":
            for item in payload:
                document.add_paragraph(item, style="List Number")
        elif kind == "ul":
            for item in payload:
                document.add_paragraph(item, style="List Bullet")
        elif kind == "table":
            header, *rows = payload
            table = document.add_table(rows=1, cols=len(header))
            table.style = "Table Grid"
            for cell, text in zip(table.rows[0].cells, header):
                cell.text = text
                for run in cell.paragraphs[0].runs:
                    run.bold = True
                    run.font.size = Pt(10)
            for row in rows:
                cells = table.add_row().cells
                for cell, text in zip(cells, row):
                    cell.text = text
            document.add_paragraph("")
        else:
            raise ValueError(kind)
    document.save(target)
    _normalize_zip(target)
    write_sidecar(target, spec["title"], spec["department"], spec["doc_type"])
    return target


def _normalize_zip(path: Path) -> None:
    """Rewrite the DOCX container with fixed timestamps so repeated builds are byte-identical."""
    import zipfile

    with zipfile.ZipFile(path) as src:
        entries = [(info.filename, src.read(info.filename)) for info in src.infolist()]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, data)


_GLUE_RE = re.compile(r" (?=[\d§])")


def _pdf_text(text: str) -> str:
    """Latin-1 safe text with non-breaking spaces before numbers and paragraph signs."""
    text = text.replace("\u2013", "-").replace("\u2014", "-").replace("\u201e", '"').replace("\u201c", '"')
    text = text.replace("\u20ac", "EUR").replace("\u2019", "'")
    text = text.replace("§ ", "§\u00a0")
    text = _GLUE_RE.sub("\u00a0", text)
    text.encode("latin-1")  # raises if a character is not representable
    return text


def build_pdf(spec: dict) -> tuple[Path, list[str]]:
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    title = spec["title"]

    class DemoPDF(FPDF):
        def footer(self) -> None:  # noqa: D401 - fpdf hook
            self.set_y(-15)
            self.set_font("helvetica", "I", 8)
            self.cell(0, 10, f"Sozialreferat München - {title} - Seite {self.page_no()}/{{nb}}", align="C")

    pdf = DemoPDF(format="A4")
    pdf.set_title(title)
    pdf.set_author("Landeshauptstadt München, Sozialreferat")
    pdf.set_subject(f"{spec['department']} {spec['doc_type']}")
    pdf.set_keywords(f"Lotse Demo-Korpus {spec['department']} {spec['doc_type']}")
    pdf.set_creator("tools/build_demo_corpus.py")
    pdf.set_creation_date(FIXED_DATE.replace(tzinfo=_dt.timezone.utc))
    pdf.set_auto_page_break(auto=True, margin=20)
    pdf.set_margins(20, 20, 20)
    pdf.add_page()

    pdf.set_font("helvetica", "B", 17)
    pdf.multi_cell(0, 8, _pdf_text(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 9)
    pdf.multi_cell(0, 5, _pdf_text(f"Landeshauptstadt München, Sozialreferat. {spec['stand']}"),
                   new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)

    headings: list[str] = []
    sec = sub = 0
    for kind, payload in spec["blocks"]:
        if kind == "h2":
            sec += 1
            sub = 0
            if sec > 1:
                pdf.add_page()
            heading = f"{sec} {payload}"
            headings.append(heading)
            pdf.set_font("helvetica", "B", 14)
            pdf.multi_cell(0, 8, _pdf_text(heading), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif kind == "h3":
            sub += 1
            heading = f"{sec}.{sub} {payload}"
            headings.append(heading)
            pdf.ln(2)
            pdf.set_font("helvetica", "B", 12)
            pdf.multi_cell(0, 7, _pdf_text(heading), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(1)
        elif kind == "p":
            pdf.set_font("helvetica", "", 10.5)
            pdf.multi_cell(0, 5.5, _pdf_text(payload), new_x="LMARGIN", new_y="NEXT")
            pdf.ln(2)
        elif kind in ("ol", "ul"):
            pdf.set_font("helvetica", "", 10.5)
            for i, item in enumerate(payload, start=1):
                marker = f"({i})" if kind == "ol" else "-"
                pdf.set_x(24)
                pdf.multi_cell(0, 5.5, _pdf_text(f"{marker} {item}"), new_x="LMARGIN", new_y="NEXT")
                pdf.ln(0.5)
            pdf.ln(2)
        elif kind == "table":
            pdf.set_font("helvetica", "", 9.5)
            header, *rows = payload
            with pdf.table(
                headings_style=FontFace(emphasis="BOLD", fill_color=(225, 230, 240)),
                line_height=5,
                text_align="LEFT",
            ) as table:
                for row in [header, *rows]:
                    r = table.row()
                    for text in row:
                        r.cell(_pdf_text(text))
            pdf.ln(3)
        else:
            raise ValueError(kind)

    target = CORPUS / spec["path"]
    target.parent.mkdir(parents=True, exist_ok=True)
    pdf.output(str(target))
    write_sidecar(target, title, spec["department"], spec["doc_type"])
    return target, headings


def check_pdf(path: Path, expected: list[str]) -> list[str]:
    """Re-read the PDF like the loader does and report unexpected or missing heading lines."""
    from pypdf import PdfReader

    head_re = re.compile(r"^(\d+(?:\.\d+){0,3})\.?\s+([A-ZÄÖÜ][^\n]{1,90})$")
    law_re = re.compile(r"^(§\s*\d+[a-z]?\s+[A-ZÄÖÜ][^\n]{1,90})$")
    reader = PdfReader(str(path))
    found = []
    for page in reader.pages:
        for raw in (page.extract_text() or "").splitlines():
            line = raw.strip()
            if (head_re.match(line) and not line.endswith((".", ",", ";"))) or law_re.match(line):
                found.append(line.replace("\u00a0", " "))
    problems = []
    if found != expected:
        problems.append(f"{path.name}: headings found {found!r} != expected {expected!r}")
    if len(reader.pages) < 2:
        problems.append(f"{path.name}: only {len(reader.pages)} page(s)")
    return problems


def main() -> int:
    problems: list[str] = []
    for spec in DOCX_DOCS:
        out = build_docx(spec)
        print(f"docx  {out.relative_to(CORPUS)}")
    for spec in PDF_DOCS:
        out, headings = build_pdf(spec)
        problems += check_pdf(out, headings)
        print(f"pdf   {out.relative_to(CORPUS)}  ({len(headings)} headings)")
    for rel, (title, dept, dtype) in HTML_META.items():
        target = CORPUS / rel
        if not target.exists():
            problems.append(f"missing HTML document {rel}")
            continue
        write_sidecar(target, title, dept, dtype)
        print(f"meta  {rel}.meta.yaml")
    for problem in problems:
        print("PROBLEM:", problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
