"""Browser: training (learning path, citations, quiz with graded result), the report for the city council
committee, the administration page (index status, upload/remove, re-index progress, accounts), and
axe-core checks with screenshots of each page."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.helpers import check_accessibility, screenshot


def test_learning_path_and_quiz(login):
    page = login("alice", "/schulung")
    paths = page.locator("#pfade li")
    # the first request of a fresh server builds the learning paths from the index (several seconds)
    expect(paths.first).to_be_visible(timeout=30_000)
    expect(page.locator("#trainer")).to_be_hidden()  # trainer views only for role schulung
    paths.first.get_by_role("button").click()
    path = page.locator("#pfad")
    expect(path.locator("#pfad-titel")).to_be_focused()
    steps = path.locator("ol.schritte > li")
    assert steps.count() >= 1
    # a step's citation opens the passage
    steps.first.get_by_role("list").get_by_role("button").first.click()
    expect(page.locator("aside#quelle .quellentext")).to_be_visible()
    page.keyboard.press("Escape")

    path.get_by_role("button", name="Quiz zu diesem Lernpfad starten").click()
    quiz = page.locator("#quizformular")
    questions = quiz.locator("fieldset.quizfrage")
    expect(questions.first).to_be_visible()
    n = questions.count()
    assert n >= 1
    kinds = set()
    for i in range(n):
        q = questions.nth(i)
        kind = q.get_attribute("data-art")
        kinds.add(kind)
        if kind == "choice" and q.locator("input[type=radio]").count():
            q.locator("input[type=radio]").first.check()
        else:
            q.get_by_label("Ihre Antwort für die Lücke").fill("zwei Wochen")
    screenshot(page, "08-schulung-quiz")
    check_accessibility(page, "schulung-quiz")
    quiz.get_by_role("button", name="Antworten auswerten").click()
    result = page.locator("#quiz-ergebnis")
    expect(result).to_contain_text(re.compile(rf"\d+ von {n} richtig"))
    items = page.locator("#quiz ol > li")
    expect(items).to_have_count(n)
    expect(items.first).to_contain_text("Laut")  # explanation with its source
    items.first.get_by_role("list").get_by_role("button").first.click()
    expect(page.locator("aside#quelle .quellentext mark").first).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#ergebnisse table")).to_contain_text("/ " + str(n))
    screenshot(page, "10-schulung-ergebnis")


def test_trainer_views(login):
    page = login("tina", "/schulung")
    trainer = page.locator("#trainer")
    expect(trainer).to_be_visible()
    expect(page.locator("#einblicke")).not_to_contain_text("Wird geladen")
    expect(page.locator("#einblicke")).to_contain_text("Häufigste Fragen")
    expect(page.locator("#alle-ergebnisse")).not_to_contain_text("Wird geladen")
    screenshot(page, "11-schulung-trainer")
    check_accessibility(page, "schulung-trainer")


def test_report_as_administration(login):
    page = login("adam", "/bericht")
    expect(page.locator("#bericht-zeitraum")).to_contain_text("Zeitraum")
    expect(page.locator("#kz-fragen")).to_have_text(re.compile(r"\d"))
    charts = page.locator("svg.diagramm[role=img]")
    assert charts.count() >= 3
    expect(charts.first.locator(":scope > title")).to_have_text("Fragen je Monat nach Ergebnis")
    expect(page.get_by_label("Minuten je beantworteter Frage")).to_have_value(re.compile(r"\d"))
    hours_before = page.locator("#kz-stunden").inner_text()
    page.get_by_label("Minuten je beantworteter Frage").fill("30")
    page.get_by_role("button", name="Bericht aktualisieren").click()
    expect(page.locator("#bericht table").filter(has_text="Annahmen der Schätzung")).to_contain_text("30")
    csv = page.get_by_role("link", name="Als CSV herunterladen (Excel)")
    expect(csv).to_have_attribute("href", re.compile(r"minutes_per_answer=30"))
    r = page.request.get(csv.get_attribute("href"))
    assert r.status == 200 and r.headers["content-type"].startswith("text/csv")
    assert "Annahmen" in r.text()
    printable = page.get_by_role("link", name=re.compile("Druckansicht"))
    expect(printable).to_have_attribute("href", re.compile(r"^/bericht/druck\?.*minutes_per_answer=30"))
    r = page.request.get(printable.get_attribute("href"))
    assert r.status == 200 and "Stadtratsausschuss" in r.text()
    assert hours_before  # the figure was there before the update too
    screenshot(page, "12-bericht")
    check_accessibility(page, "bericht")


FITS_AND_MONTHS_ON_ONE_LINE = """() => {
    const tables = [...document.querySelectorAll('table')].filter(t => t.closest('section'));
    const overflowing = tables.filter(t => t.getBoundingClientRect().right > document.documentElement.clientWidth + 1
                                           || (t.parentElement.scrollWidth > t.parentElement.clientWidth + 1))
                              .map(t => (t.caption && t.caption.textContent) || '?');
    const broken = [...document.querySelectorAll('td.monat, th.month')].filter(c => {
        const r = document.createRange(); r.selectNodeContents(c);
        return r.getClientRects().length > 1 ||
            c.getBoundingClientRect().height > 2.6 * parseFloat(getComputedStyle(c).fontSize) + 20;
    }).map(c => c.textContent);
    return {overflowing, broken, months: document.querySelectorAll('td.monat, th.month').length};
}"""


def test_report_tables_fit_1280_px_and_print_without_breaking_month_names(login):
    page = login("adam", "/bericht")
    # the page's first report (default period) must be in before the form is changed, or its late
    # answer overwrites the chosen period
    expect(page.locator("#bericht")).to_contain_text("Zeitraum:", timeout=30_000)
    page.get_by_label("Von", exact=True).fill("2025-01-01")
    page.get_by_label("Bis (einschließlich)", exact=True).fill("2025-12-31")
    page.get_by_role("button", name="Bericht aktualisieren").click()
    expect(page.locator("#bericht")).to_contain_text("Dezember 2025")
    expect(page.locator("#annahme-zeit")).to_contain_text("nicht als falsch markierten Fragen")
    expect(page.locator("ul.kennzahlen")).to_contain_text("Beantwortet, als falsch markiert")
    found = page.evaluate(FITS_AND_MONTHS_ON_ONE_LINE)
    assert found["months"] >= 24 and found["overflowing"] == [] and found["broken"] == [], found
    screenshot(page, "12b-bericht-monate-1280")
    printable = page.context.new_page()
    printable.goto("/bericht/druck?from=2025-01-01&to=2025-12-31")
    printable.emulate_media(media="print")
    printable.set_viewport_size({"width": 700, "height": 1000})  # A4 minus the page margins
    found = printable.evaluate(FITS_AND_MONTHS_ON_ONE_LINE)
    assert found["months"] >= 24 and found["overflowing"] == [] and found["broken"] == [], found
    screenshot(printable, "12c-bericht-druck")


def test_report_forbidden_for_clerks(login):
    page = login("alice")
    expect(page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Bericht")).to_have_count(0)
    r = page.goto("/bericht")
    assert r.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Kein Zugriff"))


def test_admin_index_upload_reindex_accounts(login, tmp_path):
    page = login("adam", "/verwaltung")
    expect(page.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Verwaltung")) \
        .to_have_attribute("aria-current", "page")
    expect(page.locator("#index-dokumente")).to_have_text(re.compile(r"[1-9]"))
    expect(page.locator("#indexstatus")).to_contain_text("Dokumente je Fachbereich")
    expect(page.locator("#vorlagen table").first).to_contain_text("Zwischennachricht")
    expect(page.locator("#konten table")).to_contain_text("alice")
    screenshot(page, "13-verwaltung")
    check_accessibility(page, "verwaltung")

    # upload a policy document with its department, then remove it again
    doc = tmp_path / "browser_testhinweis.md"
    doc.write_text("---\ntitle: Testhinweis Browser\n---\n# Testhinweis Browser\n\n## Geltung\n\n"
                   "Dieser Hinweis prüft das Hochladen über die Verwaltungsseite. Er gilt nur im Test.\n",
                   encoding="utf-8")
    page.get_by_label("Datei", exact=True).set_input_files(str(doc))
    page.get_by_label("Fachbereich", exact=True).fill("S-III")
    page.get_by_role("button", name="Hochladen").click()
    expect(page.locator("#upload-meldung")).to_contain_text("Hochgeladen und indiziert", timeout=120_000)
    row = page.locator("#dokumente tr", has_text="browser_testhinweis.md")
    expect(row).to_contain_text("S-III")
    page.once("dialog", lambda d: d.accept())
    row.get_by_role("button", name=re.compile("Dokument entfernen")).click()
    expect(page.locator("#upload-meldung")).to_contain_text("entfernt")
    expect(page.locator("#dokumente tr", has_text="browser_testhinweis.md")).to_have_count(0)

    # re-index with a progress bar until it is finished
    page.get_by_role("button", name="Alles neu indizieren").click()
    expect(page.locator("#reindex-fortschritt")).to_be_visible()
    expect(page.locator("#reindex-ergebnis")).to_contain_text("abgeschlossen", timeout=240_000)
    expect(page.get_by_role("button", name="Alles neu indizieren")).to_be_enabled()

    # create an account and change its roles
    page.locator("#konto-neu summary").click()
    form = page.locator("#konto-neu-formular")
    form.get_by_label("Benutzername").fill("clara")
    form.get_by_label("Anzeigename").fill("Clara Neu")
    form.get_by_label("Prüfung").check()
    form.get_by_label("Fachbereiche").fill("S-III, S-I")
    form.get_by_label("Passwort").fill("Clara-Passwort-2026")
    form.get_by_role("button", name="Konto anlegen").click()
    row = page.locator("#konten tr", has_text="clara")
    expect(row).to_contain_text("Clara Neu")
    expect(row).to_contain_text("S-III, S-I")
    row.locator("summary").click()
    row.get_by_label("Schulung").check()
    row.get_by_label("Zimmer").fill("3.021")  # the contact printed on her letters
    row.get_by_label("Telefon (Durchwahl)").fill("089 233-96555")
    row.get_by_label("E-Mail").fill("clara.neu@muenchen.de")
    row.get_by_role("button", name="Änderungen speichern").click()
    expect(page.locator("#konten")).to_contain_text("gespeichert")
    expect(page.locator("#konten tr", has_text="clara")).to_contain_text("Schulung")
    users = page.request.get("/api/admin/users").json()
    assert next(u for u in users if u["id"] == "clara")["kontakt"] == {
        "zimmer": "3.021", "telefon": "089 233-96555", "email": "clara.neu@muenchen.de"}

    # audit search finds the account change
    page.get_by_label("Aktion", exact=True).fill("user_updated")
    page.get_by_role("button", name="Suchen").click()
    expect(page.locator("#protokoll table")).to_contain_text("user_updated")


def test_admin_forbidden_without_role(login):
    page = login("tina")
    r = page.goto("/verwaltung")
    assert r.status == 403
