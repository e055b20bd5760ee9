"""Browser: login, the chat page with streamed answers, citations, source panel, feedback, follow-ups,
refusals, curated model answers, session expiry, roles in the navigation."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from tests.browser.conftest import PASSWORD
from tests.browser.helpers import check_accessibility, screenshot

QUESTION = "Welche Unterlagen braucht man für den Wohngeldantrag?"


def _ask(page, question: str):
    """Type a question, send it with Enter and wait for the finished answer; returns the answer article."""
    page.locator("#frageformular[data-verbunden=ja]").wait_for()
    before = page.locator("article.antwort").count()
    page.get_by_label("Ihre Frage").fill(question)
    page.get_by_label("Ihre Frage").press("Enter")
    answer = page.locator("article.antwort").nth(before)
    expect(answer).not_to_have_attribute("aria-busy", "true", timeout=60_000)
    return answer


def test_wrong_password_shows_german_error(browser, system):
    ctx = browser.new_context(base_url=system.base_url, locale="de-DE", bypass_csp=True)
    page = ctx.new_page()
    page.goto("/login")
    expect(page).to_have_title(re.compile("Anmelden"))
    assert page.locator("html").get_attribute("lang") == "de"
    page.get_by_label("Benutzername").fill("alice")
    page.get_by_label("Passwort").fill("falsch-falsch-falsch")
    with page.expect_response(lambda r: r.url.endswith("/login") and r.request.method == "POST") as resp:
        page.get_by_role("button", name="Anmelden").click()
    assert resp.value.status == 401
    error = page.locator("#anmeldefehler")
    expect(error).to_be_visible()
    expect(error).to_contain_text(re.compile(r"Benutzername oder Passwort|nicht korrekt|falsch|stimmt nicht", re.I))
    expect(page.get_by_label("Passwort")).to_have_attribute("aria-invalid", "true")
    assert page.get_by_label("Benutzername").get_attribute("autocomplete") == "username"
    assert page.get_by_label("Passwort").get_attribute("autocomplete") == "current-password"
    screenshot(page, "01-anmeldung-fehler")
    check_accessibility(page, "anmeldung")
    # the right password still works from the error page
    page.get_by_label("Benutzername").fill("alice")
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(system.base_url + "/")
    ctx.close()


def test_streamed_answer_with_citations_source_panel_and_feedback(login):
    page = login("alice")
    expect(page.get_by_role("navigation", name="Hauptnavigation")).to_be_visible()
    nav = page.get_by_role("navigation", name="Hauptnavigation")
    expect(nav.get_by_role("link", name="Fragen")).to_have_attribute("aria-current", "page")
    expect(nav.get_by_role("link", name="Verwaltung")).to_have_count(0)  # role administration only
    expect(nav.get_by_role("link", name="Bericht")).to_have_count(0)
    expect(page.locator("#nutzer-name")).to_contain_text("Alice Sachbearbeitung")

    frames: list[dict] = []

    def on_ws(ws):
        ws.on("framereceived", lambda payload: frames.append(json.loads(payload)) if isinstance(payload, str) else None)

    page.on("websocket", on_ws)
    page.reload()
    page.locator("#nutzer-name").wait_for()
    expect(page.locator("#gespraechsliste .laden")).to_have_count(0)
    page.evaluate("""() => { window.__renders = 0; new MutationObserver(() => { window.__renders++; })
        .observe(document.getElementById('verlauf'), {childList: true, subtree: true, characterData: true}); }""")
    answer = _ask(page, QUESTION)
    for _ in range(100):  # the answer renders on "done"; "saved" (database write) follows a moment later
        if any(f.get("type") == "saved" for f in frames):
            break
        page.wait_for_timeout(100)

    tokens = [f for f in frames if f.get("type") == "token"]
    assert len(tokens) >= 2, f"answer not streamed token by token: {[f.get('type') for f in frames]}"
    assert [f["type"] for f in frames if f["type"] in ("conversation", "done", "saved")] == ["conversation", "done", "saved"]
    assert page.evaluate("window.__renders") >= 2
    expect(page.locator("#status")).to_have_attribute("aria-live", "polite")
    expect(page.locator("#status")).to_contain_text("Antwort fertig")
    expect(answer.locator(".abzeichen.auszug")).to_have_text("Auszug aus den Quellen, ohne Sprachmodell")
    expect(answer.locator(".antworttext")).to_contain_text("Wohngeld")
    inline = answer.locator(".antworttext button.zitat")
    assert inline.count() >= 1
    chips = answer.get_by_role("list", name="Quellen dieser Antwort").get_by_role("button")
    assert chips.count() >= 1
    expect(chips.first).to_contain_text("[1]")
    expect(chips.first).to_contain_text("Checkliste Unterlagen Wohngeldantrag")

    # open the first citation: the side panel shows the passage with the cited sentences marked
    chips.first.click()
    panel = page.locator("aside#quelle")
    expect(panel).to_be_visible()
    expect(panel.get_by_role("heading", level=2)).to_have_text("Checkliste Unterlagen Wohngeldantrag")
    expect(panel.locator(".quellentext mark").first).to_be_visible()
    cited = answer.locator(".antworttext").inner_text().split("[1]")[0].split(":", 1)[-1].strip()[:40]
    # the quote is the passage's own text (table cells are quoted "a – b", shown "a | b" in the passage)
    passage = " ".join(panel.locator(".quellentext").inner_text().split()).replace(" | ", " – ")
    assert cited and cited in passage
    expect(chips.first).to_have_attribute("aria-expanded", "true")
    screenshot(page, "02-chat-antwort-quelle")
    check_accessibility(page, "chat-mit-quelle")
    # Escape closes the panel and gives the focus back to the chip
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(chips.first).to_be_focused()
    # the inline [n] marker opens the panel as well (keyboard)
    inline.first.focus()
    page.keyboard.press("Enter")
    expect(panel).to_be_visible()
    page.keyboard.press("Escape")

    # feedback: thumbs down with a comment
    answer.get_by_role("button", name="Nicht hilfreich").click()
    answer.get_by_label("Kommentar (freiwillig)").fill("Die Frist fehlt.")
    with page.expect_response(lambda r: r.url.endswith("/api/feedback")) as resp:
        answer.get_by_role("button", name="Rückmeldung senden").click()
    assert resp.value.status == 201
    assert resp.value.request.headers.get("x-csrf-token")
    expect(answer.get_by_text("Danke für Ihre Rückmeldung.")).to_be_visible()
    expect(answer.get_by_role("button", name="Nicht hilfreich")).to_be_disabled()

    # copy button
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    answer.get_by_role("button", name="Antwort kopieren").click()
    expect(answer.get_by_role("button", name=re.compile("Kopiert|Kopieren nicht möglich"))).to_be_visible()

    # a follow-up continues the conversation (same conversation_id, one entry in the list)
    conv_ids = {f["conversation_id"] for f in frames if f.get("type") == "conversation"}
    follow = _ask(page, "Und wie lange dauert die Bearbeitung?")
    expect(follow.locator(".antworttext")).not_to_be_empty()
    for _ in range(100):
        if sum(f.get("type") == "saved" for f in frames) >= 2:
            break
        page.wait_for_timeout(100)
    ids = {f["conversation_id"] for f in frames if f.get("type") == "conversation"}
    assert ids == conv_ids and len(ids) == 1
    asks = [f for f in frames if f.get("type") == "saved"]
    assert len(asks) == 2
    expect(page.locator("#gespraechsliste button.oeffnen[aria-current=true]")).to_have_count(1)
    expect(page.locator(".nachricht.frage")).to_have_count(2)

    # reopening the conversation from the list renders both turns with their citations
    page.get_by_role("button", name="Neues Gespräch").click()
    expect(page.locator(".nachricht.frage")).to_have_count(0)
    page.locator("#gespraechsliste button.oeffnen", has_text=QUESTION).first.click()
    expect(page.locator(".nachricht.frage")).to_have_count(2)
    expect(page.locator("article.antwort").first.get_by_role("list", name="Quellen dieser Antwort")).to_be_visible()


def test_refused_answer_is_marked_with_suggestions(login):
    page = login("alice")
    answer = _ask(page, "Wie wird das Wetter morgen in Hamburg?")
    expect(answer.locator(".abzeichen.abgelehnt")).to_have_text("Keine gesicherte Antwort in den Quellen")
    suggestions = answer.get_by_role("list", name="Am nächsten kommende Dokumente").get_by_role("button")
    assert suggestions.count() >= 1
    suggestions.first.click()
    expect(page.locator("aside#quelle .quellentext")).to_be_visible()
    expect(answer.get_by_role("button", name="Als Musterantwort übernehmen")).to_have_count(0)


def test_trainer_adopts_model_answer_and_it_is_served_curated(login):
    tina = login("tina")
    nav = tina.get_by_role("navigation", name="Hauptnavigation")
    expect(nav.get_by_role("link", name="Bericht")).to_be_visible()
    expect(nav.get_by_role("link", name="Verwaltung")).to_have_count(0)
    question = "Welche Mietenstufe hat München beim Wohngeld?"
    answer = _ask(tina, question)
    adopt = answer.get_by_role("button", name="Als Musterantwort übernehmen")
    with tina.expect_response(lambda r: r.url.endswith("/api/training/model-answers")) as resp:
        adopt.click()
    assert resp.value.status == 201, resp.value.text()
    expect(answer.get_by_role("button", name="Als Musterantwort übernommen")).to_be_disabled()

    # the same question again (new conversation): the curated answer, clearly marked
    tina.get_by_role("button", name="Neues Gespräch").click()
    curated = _ask(tina, question)
    expect(curated.locator(".abzeichen.kuratiert")).to_contain_text("Musterantwort")
    screenshot(tina, "03-chat-musterantwort")

    # it is listed for trainers on the training page
    tina.get_by_role("navigation", name="Hauptnavigation").get_by_role("link", name="Schulung").click()
    expect(tina.locator("#musterantworten")).to_contain_text(question)


def test_lost_websocket_shows_notice_and_reconnects(browser, login):
    page = login("alice")
    page.locator("#frageformular[data-verbunden=ja]").wait_for()
    connections = []

    def route(ws):
        connections.append(ws)
        if len(connections) == 1:
            ws.close()  # the server "goes away" right after the handshake
        else:
            ws.connect_to_server()

    page.route_web_socket(re.compile(r".*/ws/chat$"), route)
    page.reload()
    notice = page.locator("#verbindung")
    expect(notice).to_contain_text("Die Verbindung zum Server ist unterbrochen")
    expect(notice).to_contain_text("wiederhergestellt", timeout=15_000)
    answer = _ask(page, QUESTION)
    expect(answer.locator(".antworttext")).to_contain_text("Wohngeld")


def test_fallback_and_stop_are_marked(login):
    """The server side of /ws/chat is played by the test (route_web_socket): a language-model fallback
    answer and a cancelled answer, as the assistant would send them."""
    page = login("alice")
    sent: list[dict] = []

    def route(ws):
        def on_message(message):
            data = json.loads(message)
            sent.append(data)
            if data["type"] == "ask" and "Ersatz" in data["question"]:
                for ev in ({"type": "conversation", "conversation_id": "c-fallback"},
                           {"type": "meta", "query": data["question"], "support": 0.5, "provider": "openai"},
                           {"type": "token", "text": "Ein halber Satz vom Modell"},
                           {"type": "replace", "text": "Laut Quelle (Abschnitt): Ein Satz aus der Quelle. [1]\n\n"
                            "Hinweis: Das Sprachmodell war nicht verfügbar.", "reason": "Zeitüberschreitung beim Sprachmodell"},
                           {"type": "citations", "citations": []},
                           {"type": "done", "answer": "Laut Quelle (Abschnitt): Ein Satz aus der Quelle. [1]",
                            "citations": [], "refused": False, "provider": "extractive (Ersatz für openai)",
                            "fallback": "Zeitüberschreitung beim Sprachmodell", "suggestions": None, "cancelled": False}):
                    ws.send(json.dumps(ev))
            elif data["type"] == "ask":
                ws.send(json.dumps({"type": "conversation", "conversation_id": "c-stop"}))
                ws.send(json.dumps({"type": "token", "text": "Die Antwort beginnt"}))
            elif data["type"] == "cancel":
                ws.send(json.dumps({"type": "done", "answer": "Die Antwort beginnt", "citations": [], "refused": False,
                                    "provider": "openai", "fallback": None, "suggestions": None, "cancelled": True}))

        ws.on_message(on_message)

    page.route_web_socket(re.compile(r".*/ws/chat$"), route)
    page.reload()
    answer = _ask(page, "Bitte eine Ersatzantwort")
    expect(answer.locator(".abzeichen.ersatz")).to_have_text("Ersatzantwort")
    expect(answer.locator(".abzeichen.auszug")).to_have_text("Auszug aus den Quellen, ohne Sprachmodell")
    expect(answer.locator(".hinweis")).to_contain_text("Zeitüberschreitung beim Sprachmodell")
    expect(answer.locator(".antworttext")).not_to_contain_text("halber Satz")

    page.get_by_label("Ihre Frage").fill("Eine lange Frage")
    page.get_by_role("button", name="Fragen").click()
    stop = page.get_by_role("button", name="Stopp")
    expect(stop).to_be_enabled()
    expect(page.locator("article.antwort").nth(1).locator(".antworttext")).to_contain_text("Die Antwort beginnt")
    stop.click()
    second = page.locator("article.antwort").nth(1)
    expect(second.locator(".hinweis")).to_contain_text("abgebrochen")
    expect(page.locator("#status")).to_contain_text("Antwort abgebrochen")
    expect(stop).to_be_disabled()
    assert [m["type"] for m in sent] == ["ask", "ask", "cancel"]
    assert sent[1]["conversation_id"] == "c-fallback"  # the follow-up continues the conversation


def test_session_expiry_links_to_login_and_logout(login, system):
    page = login("alice")
    expect(page.locator("#gespraechsliste")).not_to_contain_text("Wird geladen")
    page.context.clear_cookies()
    page.get_by_role("button", name="Neues Gespräch").click()  # reloads the list: 401
    alert = page.locator("#sitzung-abgelaufen")
    expect(alert).to_contain_text("Ihre Sitzung ist abgelaufen")
    link = alert.get_by_role("link", name="Zur Anmeldung")
    expect(link).to_have_attribute("href", re.compile(r"^/login\?next="))
    link.click()
    page.wait_for_url(re.compile(r"/login"))
    page.get_by_label("Benutzername").fill("alice")
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    page.wait_for_url(system.base_url + "/")
    page.locator("#nutzer-name").wait_for()
    page.get_by_role("button", name="Abmelden").click()
    page.wait_for_url(re.compile(r"/login"))
    page.goto("/schreiben")
    page.wait_for_url(re.compile(r"/login\?next=/schreiben"))


def test_pages_fit_200_percent_zoom_and_keep_the_csp(browser, system):
    """1280 px at 200 % zoom = 640 CSS pixels: no horizontal scrolling on any main page. This context
    enforces the Content-Security-Policy: no page may trigger a violation (no inline scripts)."""
    ctx = browser.new_context(viewport={"width": 640, "height": 800}, device_scale_factor=2,
                              base_url=system.base_url, locale="de-DE")
    page = ctx.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    # adam (administration, schulung) sees chat, training, report, admin; bernd (pruefung) the letters
    for user, paths in (("adam", ("/", "/schulung", "/bericht", "/verwaltung")), ("bernd", ("/schreiben",))):
        page.goto("/login")
        page.get_by_label("Benutzername").fill(user)
        page.get_by_label("Passwort").fill(PASSWORD)
        page.get_by_role("button", name="Anmelden").click()
        page.wait_for_url(system.base_url + "/")
        for path in paths:
            page.goto(path)
            page.locator("#nutzer-name").wait_for()
            expect(page.locator(".laden")).to_have_count(0, timeout=30_000)
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 1, f"{path}: {overflow}px horizontal overflow at 200 % zoom"
            if path == "/":
                screenshot(page, "09-chat-200-prozent")
        page.get_by_role("button", name="Abmelden").click()
        page.wait_for_url("**/login")
    ctx.close()
    assert not problems, "\n".join(problems)


def test_a_question_with_personal_data_is_flagged_before_sending_and_sent_masked(login):
    """A caseworker pastes a name and an IBAN into the question: before anything is sent, the chat says
    so and shows the question without them; "Ohne diese Angaben senden" sends that one, and the
    conversation list shows no name or IBAN."""
    page = login("alice")
    page.locator("#frageformular[data-verbunden=ja]").wait_for()
    iban = "DE89 3704 0044 0532 0130 00"
    page.get_by_label("Ihre Frage").fill(f"Frau Erika Mustermann, IBAN {iban}, hat Unterlagen nicht geschickt. "
                                         "Welche Frist setze ich?")
    page.get_by_label("Ihre Frage").press("Enter")
    warning = page.locator("#pii-warnung")
    expect(warning).to_contain_text("personenbezogene Daten")
    expect(warning.locator("q.maskiert")).not_to_contain_text("Mustermann")
    expect(warning.locator("q.maskiert")).not_to_contain_text("3704")
    expect(page.locator("article.antwort")).to_have_count(0)  # nothing sent yet
    screenshot(page, "18-warnung-personendaten")
    warning.get_by_role("button", name="Ohne diese Angaben senden").click()
    answer = page.locator("article.antwort").first
    expect(answer).not_to_have_attribute("aria-busy", "true", timeout=60_000)
    expect(page.locator("div.nachricht.frage").last).not_to_contain_text("Mustermann")
    expect(page.locator("#gespraechsliste")).not_to_contain_text("Mustermann")
    expect(page.locator("#gespraechsliste")).not_to_contain_text("3704")
    assert not page.js_errors, page.js_errors
