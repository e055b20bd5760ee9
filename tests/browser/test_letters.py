"""Browser: the letter workspace against the real e-file double - case lookup, draft with proposals,
submit, review with version comparison, approval by a second person, filing with the e-file receipt,
DOCX download, optimistic locking (409) without losing what was typed."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.helpers import check_accessibility, screenshot

USED: set[str] = set()


def _draft(page, system, template: str, procedure: str = "WG"):
    """Look up an unused case of ``procedure``, choose ``template``, create the draft; returns the case."""
    case = system.case(procedure, USED)
    USED.add(case["objname"])
    page.goto("/schreiben")
    page.get_by_label("Aktenzeichen").fill(case["objname"])
    page.get_by_role("button", name="Akte suchen").click()
    templates = page.get_by_role("group", name="Vorlage wählen")
    expect(templates).to_be_visible()
    expect(page.locator("#akte")).to_contain_text("Wohngeld")
    templates.locator(f"input[value={template}]").check()
    page.get_by_role("button", name="Entwurf erstellen").click()
    expect(page.locator("#brief-titel")).to_contain_text(case["objname"], timeout=60_000)
    expect(page.locator("#brief .abzeichen.zustand-draft")).to_have_text("Entwurf")
    return case


def test_case_lookup_errors_are_german(login):
    page = login("alice", "/schreiben")
    page.get_by_role("button", name="Akte suchen").click()
    expect(page.locator("#akte .fehler")).to_contain_text("Bitte geben Sie ein Aktenzeichen ein.")
    expect(page.get_by_label("Aktenzeichen")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("Aktenzeichen").fill("S-III-WG/1999/000000")
    page.get_by_role("button", name="Akte suchen").click()
    expect(page.locator("#akte .fehler")).to_contain_text(re.compile(r"Akte|Aktenzeichen"))


def test_draft_submit_approve_file_with_receipt(login, system):
    alice = login("alice", "/schreiben")
    nav = alice.get_by_role("navigation", name="Hauptnavigation")
    expect(nav.get_by_role("link", name="Schreiben")).to_have_attribute("aria-current", "page")
    case = _draft(alice, system, "anforderung_unterlagen")
    brief = alice.locator("#brief")
    # prefilled from the e-file: recipient, file number, deadline; the list of documents is a proposal
    expect(brief.get_by_role("group", name=re.compile("Empfängerin oder Empfänger"))).to_be_visible()
    expect(brief.get_by_label("Frist (Pflichtangabe)")).to_have_value(re.compile(r"\d\d\.\d\d\.\d{4}"))
    proposal = brief.locator("[data-vorschlag=unterlagen]")
    expect(proposal).to_contain_text("Vorschlag")
    expect(proposal.get_by_role("button").first).to_be_visible()
    # a proposal's source opens in the side panel
    proposal.get_by_role("list").get_by_role("button").first.click()
    expect(alice.locator("aside#quelle .quellentext")).to_be_visible()
    alice.keyboard.press("Escape")
    screenshot(alice, "04-schreiben-entwurf")
    check_accessibility(alice, "schreiben-entwurf")

    # edit the proposed list, then accept it as edited
    field = brief.get_by_label("Unterlagen (Pflichtangabe)")
    field.fill("Mietbescheinigung des Vermieters\nKontoauszüge der letzten drei Monate")
    proposal.get_by_role("button", name=re.compile("Vorschlag übernehmen")).click()
    expect(brief.locator("#brief-meldung")).to_contain_text("übernommen")
    expect(brief.get_by_label("Unterlagen (Pflichtangabe)")).to_have_value(
        "Mietbescheinigung des Vermieters\nKontoauszüge der letzten drei Monate")
    # DOCX download of the draft
    href = brief.get_by_role("link", name="Als Word-Dokument herunterladen").get_attribute("href")
    r = alice.request.get(href)
    assert r.status == 200 and r.headers["content-type"].startswith("application/vnd.openxmlformats")

    alice.get_by_role("button", name="Zur Prüfung einreichen").click()
    expect(brief.locator(".abzeichen.zustand-submitted")).to_have_text("zur Prüfung eingereicht")
    expect(brief.get_by_text("Das Schreiben wartet auf die Prüfung.")).to_be_visible()
    mine = alice.locator("#meine")
    expect(mine.locator("li", has_text=case["objname"])).to_contain_text("zur Prüfung eingereicht")
    letter_id = re.search(r"brief=(\w+)", alice.url).group(1)

    # the reviewer: review queue, version comparison, approve, file
    bernd = login("bernd", "/schreiben")
    queue = bernd.locator("#pruefkorb")
    item = queue.locator(f"li[data-brief='{letter_id}']")
    expect(item).to_contain_text("Alice Sachbearbeitung")
    item.get_by_role("button", name=re.compile("Prüfen")).click()
    review = bernd.locator("#pruefung")
    expect(review).to_be_visible()
    versions = bernd.locator("#versionen")
    expect(versions).to_have_attribute("open", "")
    expect(versions.get_by_label("Vorher")).to_be_visible()
    expect(versions.locator("table")).to_contain_text("Unterlagen")
    expect(versions.locator("table")).to_contain_text("Mietbescheinigung des Vermieters")
    screenshot(bernd, "05-schreiben-pruefung")
    check_accessibility(bernd, "schreiben-pruefung")
    review.get_by_label("Kommentar").fill("Passt so.")
    review.get_by_role("button", name="Freigeben").click()
    brief_b = bernd.locator("#brief")
    expect(brief_b.locator(".abzeichen.zustand-approved")).to_have_text("freigegeben")
    with bernd.expect_response(lambda r: r.url.endswith("/file")) as resp:
        brief_b.get_by_role("button", name="In der E-Akte ablegen").click()
    assert resp.value.status == 200, resp.value.text()
    receipt = bernd.locator("#ablage-quittung")
    expect(receipt).to_contain_text("In der E-Akte abgelegt")
    objname = bernd.locator("#ablage-objname").inner_text()
    assert case["objname"] in objname, objname
    expect(brief_b.locator(".abzeichen.zustand-filed")).to_have_text("in der E-Akte abgelegt")
    screenshot(bernd, "06-schreiben-abgelegt")

    # the author sees the filed state and the receipt
    alice.reload()
    expect(alice.locator("#ablage-objname")).to_have_text(objname)


def test_return_with_comment_and_four_eyes(login, system):
    alice = login("alice", "/schreiben")
    _draft(alice, system, "zwischennachricht")
    brief = alice.locator("#brief")
    brief.get_by_label("Grund der Verzögerung (Pflichtangabe)").fill("Wir warten auf die Stellungnahme der Rentenversicherung.")
    brief.get_by_label("Voraussichtlich entschieden bis (Pflichtangabe)").fill("30.09.2027")
    brief.get_by_role("button", name="Speichern").click()
    expect(brief.locator("#brief-meldung")).to_contain_text("Gespeichert")
    alice.get_by_role("button", name="Zur Prüfung einreichen").click()
    expect(brief.locator(".abzeichen.zustand-submitted")).to_be_visible()
    letter_id = re.search(r"brief=(\w+)", alice.url).group(1)

    bernd = login("bernd", f"/schreiben?brief={letter_id}")
    review = bernd.locator("#pruefung")
    review.get_by_role("button", name="Zurückgeben").click()
    expect(bernd.locator("#brief-meldung .fehler")).to_contain_text("Kommentar")
    review.get_by_label("Kommentar").fill("Bitte das Datum prüfen.")
    review.get_by_role("button", name="Zurückgeben").click()
    expect(bernd.locator("#brief .abzeichen.zustand-returned")).to_have_text("zurückgegeben")

    alice.reload()
    expect(brief.locator(".kommentare")).to_contain_text("Bitte das Datum prüfen.")
    expect(brief.get_by_label("Voraussichtlich entschieden bis (Pflichtangabe)")).to_be_editable()


def test_conflicting_edit_keeps_the_typed_text(login, system):
    first = login("alice", "/schreiben")
    _draft(first, system, "zwischennachricht")
    url = first.url
    second = login("alice", url.split(system.base_url, 1)[1])
    expect(second.locator("#brief-titel")).to_be_visible()
    field = "Grund der Verzögerung (Pflichtangabe)"
    first.locator("#brief").get_by_label(field).fill("Erste Fassung.")
    first.locator("#brief").get_by_role("button", name="Speichern").click()
    expect(first.locator("#brief-meldung")).to_contain_text("Gespeichert")

    second.locator("#brief").get_by_label(field).fill("Zweite Fassung, parallel geschrieben.")
    with second.expect_response(lambda r: r.request.method == "PUT") as resp:
        second.locator("#brief").get_by_role("button", name="Speichern").click()
    assert resp.value.status == 409
    message = second.locator("#brief-meldung .fehler")
    expect(message).to_contain_text("inzwischen")
    expect(message).to_contain_text("Ihre Eingaben stehen weiterhin im Formular")
    expect(second.locator("#brief").get_by_label(field)).to_have_value("Zweite Fassung, parallel geschrieben.")
    screenshot(second, "07-schreiben-konflikt")
    message.get_by_role("button", name="Aktuellen Stand laden").click()
    expect(second.locator("#brief").get_by_label(field)).to_have_value("Erste Fassung.")


def test_filing_waits_while_the_efile_is_down(login, system):
    alice = login("alice", "/schreiben")
    _draft(alice, system, "zwischennachricht")
    brief = alice.locator("#brief")
    brief.get_by_label("Grund der Verzögerung (Pflichtangabe)").fill("Die Stellungnahme des Jobcenters fehlt noch.")
    brief.get_by_label("Voraussichtlich entschieden bis (Pflichtangabe)").fill("31.10.2027")
    alice.get_by_role("button", name="Zur Prüfung einreichen").click()  # saves the typed fields first
    expect(brief.locator(".abzeichen.zustand-submitted")).to_be_visible()
    letter_id = re.search(r"brief=(\w+)", alice.url).group(1)

    bernd = login("bernd", f"/schreiben?brief={letter_id}")
    bernd.locator("#pruefung").get_by_role("button", name="Freigeben").click()
    brief_b = bernd.locator("#brief")
    expect(brief_b.locator(".abzeichen.zustand-approved")).to_be_visible()
    system.double.set_faults(error_rate_500=1.0)
    try:
        brief_b.get_by_role("button", name="In der E-Akte ablegen").click()
        pending = bernd.locator("#ablage-wartet")
        expect(pending).to_contain_text("wartet auf die Ablage", timeout=60_000)
        expect(brief_b.locator(".abzeichen.zustand-to_be_filed")).to_have_text("wartet auf Ablage in der E-Akte")
        screenshot(bernd, "14-schreiben-ablage-wartet")
    finally:
        system.double.clear_faults()
    brief_b.get_by_role("button", name="Ablage jetzt erneut versuchen").click()
    expect(bernd.locator("#ablage-quittung")).to_contain_text("In der E-Akte abgelegt", timeout=60_000)


INTERNAL_KEYS = ("vwgo_wahl", "vwgo_klage", "sgg", "aus empfaenger abgeleitet", "antragsart", "eingangsdatum",
                 "nachforderung", "empfaenger", "case_type", "gruende")


def test_reasons_from_blocks_and_the_reviewer_reads_the_rendered_letter(login, system):
    alice = login("alice", "/schreiben")
    case = _draft(alice, system, "ablehnung")
    brief = alice.locator("#brief")
    # the office rules' proposal was shown with the templates
    expect(alice.locator("#naechstes-schreiben")).to_contain_text("Nach den Amtsregeln")
    reasons = brief.get_by_role("group", name=re.compile("Gründe"))
    expect(reasons).to_be_visible()
    block = reasons.locator("[data-baustein='WG-AB-TRANSFER']")
    block.get_by_role("checkbox").check()
    block.get_by_label("Leistungsbezug seit").fill("01.01.2026")
    block.get_by_label("Welche Leistung?").fill("Bürgergeld nach dem SGB II")
    expect(block.locator(".baustein-text")).to_contain_text(
        "Sie erhalten seit dem 01.01.2026 Bürgergeld nach dem SGB II; die Leistung zahlt […]")
    screenshot(alice, "07a-schreiben-begruendung-bausteine")
    alice.get_by_role("button", name="Speichern").click()
    expect(brief.locator("#brief-meldung")).to_contain_text("Gespeichert")
    # submit with a missing fact: § 35 SGB X message in German, naming the question
    alice.get_by_role("button", name="Zur Prüfung einreichen").click()
    expect(brief.locator("#brief-meldung")).to_contain_text("Wer zahlt die Leistung?")
    block = brief.locator("[data-baustein='WG-AB-TRANSFER']")
    block.get_by_label("Wer zahlt die Leistung?").fill("das Jobcenter München")
    alice.get_by_role("button", name="Zur Prüfung einreichen").click()
    expect(brief.locator(".abzeichen.zustand-submitted")).to_have_text("zur Prüfung eingereicht")
    letter_id = re.search(r"brief=(\w+)", alice.url).group(1)

    bernd = login("bernd", f"/schreiben?brief={letter_id}")
    page = bernd.locator("#briefansicht .brief-seite")
    expect(page).to_contain_text(
        "Sie erhalten seit dem 01.01.2026 Bürgergeld nach dem SGB II; die Leistung zahlt das Jobcenter München.")
    expect(page).to_contain_text("wird abgelehnt")
    expect(page).to_contain_text(case["objname"])
    expect(page.locator("table.anschrift-info")).to_contain_text("Sachbearbeitung")
    expect(bernd.locator("#versionen")).to_have_attribute("open", "")
    expect(bernd.locator("#textvergleich")).to_contain_text("Änderungen im Brieftext")
    expect(bernd.locator("#textvergleich ins").first).to_be_visible()
    text = bernd.locator("#brief").inner_text()
    for key in INTERNAL_KEYS:
        assert key not in text, key
    screenshot(bernd, "07b-schreiben-pruefung-briefansicht")
    check_accessibility(bernd, "schreiben-pruefung-briefansicht")
