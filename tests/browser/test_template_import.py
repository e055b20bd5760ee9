"""Administration: upload an office's own Word letter, see its placeholders, map them, save, read the
import report (issue 15, items 3 and 4)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.helpers import check_accessibility, screenshot
from tests.unit.test_template_import import make_letter


def test_admin_imports_a_word_template_with_mapping_and_report(login, system, tmp_path):
    data, _ = make_letter("bracket")
    src = tmp_path / "Anforderung Amt.docx"
    src.write_bytes(data)
    page = login("adam", "/verwaltung")
    expect(page.locator("#vorlagen table").first).to_contain_text("Zwischennachricht")
    page.get_by_label("Word-Datei (.docx)").set_input_files(str(src))
    page.get_by_role("button", name="Platzhalter erkennen").click()
    table = page.locator("#vorlage-import table")
    expect(table).to_contain_text("[Aktenzeichen]")
    expect(table.locator("tbody tr")).to_have_count(7)
    # suggestions: Aktenzeichen from the case, the unknown one is a user input marked to check
    expect(page.get_by_label("Zuordnung für [Aktenzeichen]")).to_have_value("case")
    expect(page.get_by_label("Aktenfeld für [Aktenzeichen]")).to_have_value("akte.aktenzeichen")
    row = table.locator("tr", has_text="[Unterlagen_Liste]")
    expect(row).to_contain_text("bitte prüfen")
    # map it to a text proposal from the knowledge base
    page.get_by_label("Zuordnung für [Unterlagen_Liste]").select_option("generated")
    page.get_by_label("Suchanfrage für [Unterlagen_Liste]").fill("fehlende Unterlagen Wohngeld")
    page.get_by_label("Titel", exact=True).fill("Anforderung (Amtsvorlage)")
    page.get_by_label("Vier-Augen-Prinzip").check()
    screenshot(page, "16-vorlage-zuordnen")
    check_accessibility(page, "vorlage-zuordnen")
    page.get_by_role("button", name="Vorlage speichern").click()
    expect(page.locator("#vorlage-ergebnis")).to_contain_text("gespeichert und sofort nutzbar", timeout=60_000)
    report = page.locator("#importbericht")
    expect(report).to_contain_text("Übernommen (8)")  # 7 placeholders and where the template was stored
    expect(report).to_contain_text("„[Unterlagen_Liste]“ (Text in Klammern, Brieftext) → Textvorschlag aus der "
                                   "Wissensbasis")
    expect(report).to_contain_text("Zu entscheiden (0)")  # the administrator confirmed every mapping
    expect(page.locator("#vorlagen table").first).to_contain_text("Anforderung (Amtsvorlage)")
    screenshot(page, "17-vorlage-importbericht")
    # the template is usable for letters at once (loaded without problems)
    listing = page.request.get("/api/admin/templates").json()
    assert any(t["name"] == "anforderung_amt" and t["four_eyes"] for t in listing["templates"])
    assert not [p for p in listing["problems"] if p["template"] == "anforderung_amt"]
    # a broken Word file: German error, nothing stored
    bad = tmp_path / "kaputt.docx"
    bad.write_bytes(b"kein Word")
    page.get_by_label("Word-Datei (.docx)").set_input_files(str(bad))
    page.get_by_role("button", name="Platzhalter erkennen").click()
    expect(page.locator("#vorlage-import")).to_contain_text(re.compile("kein lesbares Word-Dokument"))
