"""The yearly report for the city council committee on a real SQLite database (Alembic migrations
via ``make_engine``), through the real router on a FastAPI app: figures, period filtering in
Europe/Berlin, CSV for Excel, the printable page with SVG charts, no personal data, errors, roles."""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assistant import Principal
from assistant.db import AuditEvent, Conversation, Feedback, Message, User, make_engine, make_sessionmaker
from assistant.letters.models import Letter
from assistant.report import ReportService
from web_ui.errors import install as install_errors
from web_ui.report_api import router as report_router
from web_ui.services import Services, get_principal

NOW = datetime(2026, 3, 15, 10, 0, tzinfo=timezone.utc)
YEAR_2025 = {"from": "2025-01-01", "to": "2025-12-31"}

# Personal data planted in the database; none of it may reach the report.
PLANTED = ["Obermaier-Kowalski", "Gruber-Lindqvist", "u-7f3kq", "u-9x2pl", "Annegret Musterfrau",
           "Bernd Prüfling", "S-III-WG/2025/000123", "Kindergeldnummer"]

MERKBLATT = {"n": 1, "source": "wohngeld/merkblatt.md", "title": "Merkblatt Wohngeld", "section": "Antrag",
             "page": None, "chunk_id": "c1", "url": "/api/sources/c1"}
MITWIRKUNG = {"n": 1, "source": "sgb/mitwirkung.pdf", "title": "Arbeitshilfe Mitwirkung", "section": "§ 66 SGB I",
              "page": 3, "chunk_id": "c2", "url": "/api/sources/c2"}
CHECKLISTE = {"n": 2, "source": "wohngeld/checkliste.md", "title": "Checkliste Wohngeld", "section": "Unterlagen",
              "page": None, "chunk_id": "c3", "url": "/api/sources/c3"}
CASE = {"n": 1, "source": "efile:S-III-WG/2025/000123", "title": "Akte S-III-WG/2025/000123",
        "section": "Wohngeld", "page": None, "chunk_id": "c4", "url": "/api/sources/c4"}
PFLEGE = {"n": 1, "source": "pflege/leitfaden.md", "title": "Leitfaden Hilfe zur Pflege", "section": "Antrag",
          "page": None, "chunk_id": "c5", "url": "/api/sources/c5"}


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def add_answer(s, at: datetime, outcome: str, citations: list[dict], question: str = "Welche Unterlagen "
               "braucht es für den Wohngeldantrag?", user: str = "u-7f3kq", delete_conversation: bool = False):
    """One asked question as the assistant stores it: conversation, both messages, audit event."""
    conv = Conversation(user_id=user, title=question[:120], created_at=at, updated_at=at)
    s.add(conv)
    s.flush()
    s.add(Message(conversation_id=conv.id, role="user", content=question, created_at=at))
    answer = Message(conversation_id=conv.id, role="assistant", created_at=at,
                     content="Dazu finde ich nichts in den freigegebenen Quellen." if outcome == "refused"
                     else "Sie brauchen den Mietvertrag [1].", citations=citations,
                     provider="extractive" if outcome != "fallback" else "extractive (Ersatz für openai)",
                     fallback="Zeitüberschreitung beim Sprachmodell" if outcome == "fallback" else None,
                     refused=outcome == "refused")
    s.add(answer)
    s.add(AuditEvent(at=at, user_id=user, action="answer", object_id=conv.id, outcome=outcome))
    s.flush()
    if delete_conversation:
        s.delete(conv)
        s.add(AuditEvent(at=at, user_id=user, action="conversation_deleted", object_id=conv.id, outcome="ok"))
    return answer


def add_letter(s, created: datetime, submitted=None, approved=None, filed=None) -> None:
    state = "filed" if filed else "approved" if approved else "submitted" if submitted else "draft"
    s.add(Letter(aktenzeichen="S-III-WG/2025/000123", case_coo="COO.1.2.3", template="anhoerung",
                 case_type="wohngeld", title="Anhörung vor Aufhebung", state=state, author_id="u-9x2pl",
                 author_name="Bernd Prüfling", created_at=created,
                 updated_at=filed or approved or submitted or created,
                 submitted_at=submitted, approved_at=approved, filed_at=filed,
                 filing_objname="Anhörung Obermaier-Kowalski" if filed else None))


@pytest.fixture(scope="module")
def session_factory(tmp_path_factory):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('report') / 'lotse.db'}")
    Session = make_sessionmaker(engine)
    with Session() as s:
        s.add(User(id="u-7f3kq", display_name="Annegret Musterfrau", roles=["sachbearbeitung"], departments="S-III"))
        # -- 2025 in Berlin time: 7 answered from sources, 2 fallback, 2 refused ------------------
        a1 = add_answer(s, utc(2024, 12, 31, 23, 30), "answered", [MERKBLATT])  # 1 Jan 2025, 00:30 in Munich
        add_answer(s, utc(2025, 1, 15, 9), "answered", [MERKBLATT, dict(MITWIRKUNG, n=2)])
        add_answer(s, utc(2025, 1, 20, 9), "answered", [MITWIRKUNG])
        add_answer(s, utc(2025, 1, 22, 9), "refused", [])
        a5 = add_answer(s, utc(2025, 3, 3, 9), "fallback", [MITWIRKUNG])
        add_answer(s, utc(2025, 3, 4, 9), "answered", [CASE, CHECKLISTE])  # case record first: not a topic title
        add_answer(s, utc(2025, 3, 5, 9), "answered", [CASE])
        add_answer(s, utc(2025, 3, 6, 9), "refused", [],
                   question="Darf ich Frau Obermaier-Kowalski die Kindergeldnummer nennen?")
        a9 = add_answer(s, utc(2025, 6, 10, 9), "answered", [MERKBLATT],
                        question="Frau Zeynep Obermaier-Kowalski fragt nach dem Mietzuschuss", user="u-9x2pl")
        add_answer(s, utc(2025, 9, 1, 9), "answered", [PFLEGE], delete_conversation=True)
        add_answer(s, utc(2025, 12, 31, 22, 30), "fallback", [MERKBLATT])  # 31 Dec 2025, 23:30 in Munich
        # -- outside 2025 ----------------------------------------------------------------------
        add_answer(s, utc(2024, 12, 31, 22, 0), "answered", [MERKBLATT])  # 31 Dec 2024, 23:00 in Munich
        add_answer(s, utc(2025, 12, 31, 23, 30), "refused", [])  # 1 Jan 2026, 00:30 in Munich
        add_answer(s, utc(2026, 2, 10, 9), "answered", [PFLEGE])
        s.add(AuditEvent(at=utc(2025, 5, 5, 9), user_id="u-7f3kq", action="login", outcome="ok"))
        # -- feedback: 2025 three up, one down; outside one of each ----------------------------
        for at, msg, rating, comment in [
            (utc(2025, 1, 2, 8), a1, 1, None),
            (utc(2025, 3, 3, 10), a5, -1, "Ersatzantwort war zu lang"),
            (utc(2025, 3, 10, 10), a5, 1, None),
            (utc(2025, 6, 10, 10), a9, 1, "Hat Herrn Gruber-Lindqvist sehr geholfen"),
            (utc(2024, 12, 20, 10), a1, -1, None),
            (utc(2026, 1, 10, 10), a9, 1, None),
        ]:
            s.add(Feedback(message_id=msg.id, conversation_id=msg.conversation_id, user_id="u-7f3kq",
                           rating=rating, comment=comment, created_at=at))
        # -- letters: filed in 2025 after 26 h, 48 h, 120 h and 578 h (drafted in 2024) ----------
        add_letter(s, utc(2025, 2, 3, 8), utc(2025, 2, 3, 12), utc(2025, 2, 4, 9), utc(2025, 2, 4, 10))
        add_letter(s, utc(2025, 4, 1, 8), utc(2025, 4, 2, 8), utc(2025, 4, 3, 7), utc(2025, 4, 3, 8))
        add_letter(s, utc(2025, 5, 5, 8), utc(2025, 5, 6, 8), utc(2025, 5, 9, 8), utc(2025, 5, 10, 8))
        add_letter(s, utc(2025, 6, 1, 8), utc(2025, 6, 2, 8))
        add_letter(s, utc(2025, 7, 1, 8))
        add_letter(s, utc(2024, 12, 15, 8), utc(2024, 12, 16, 8), utc(2025, 1, 8, 8), utc(2025, 1, 8, 10))
        add_letter(s, utc(2025, 12, 20, 8), utc(2025, 12, 22, 8), utc(2026, 1, 5, 8), utc(2026, 1, 6, 8))
        add_letter(s, utc(2026, 1, 10, 8))
        s.commit()
    yield Session
    engine.dispose()


@pytest.fixture
def principal():
    return {"value": Principal("u-1a", "Ada Admin", frozenset({"administration"}))}


@pytest.fixture
def client(session_factory, principal):
    service = ReportService(session_factory, clock=lambda: NOW)
    app = FastAPI()
    install_errors(app)  # the statuses of business errors (web_ui.errors), as create_app installs them
    app.state.services = Services(report=service)
    app.include_router(report_router)
    app.dependency_overrides[get_principal] = lambda: principal["value"]
    with TestClient(app) as c:
        yield c


def get_report(client, **params) -> dict:
    r = client.get("/api/report", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def csv_rows(client, **params) -> tuple[bytes, list[list[str]]]:
    r = client.get("/api/report.csv", params=params)
    assert r.status_code == 200, r.text
    return r.content, list(csv.reader(io.StringIO(r.content.decode("utf-8-sig")), delimiter=";"))


def section(rows: list[list[str]], title: str) -> tuple[list[str], list[list[str]]]:
    """Header and data rows of one CSV section (title row, header row, rows up to the empty row)."""
    i = rows.index([title])
    end = rows.index([], i)
    return rows[i + 1], rows[i + 2:end]


# -- figures ----------------------------------------------------------------------------------
def test_figures_of_a_year_match_the_stored_data(client):
    report = get_report(client, **YEAR_2025)
    assert report["period"] == {"from": "2025-01-01", "to": "2025-12-31", "label": "01.01.2025 bis 31.12.2025",
                                "timezone": "Europe/Berlin"}
    q = report["questions"]
    # the question of the deleted conversation still counts (audit), its topic no longer exists
    # a1's latest rating is a thumbs-up, a5's thumbs-down is on a fallback answer: none marked wrong
    assert (q["asked"], q["answered_not_marked_wrong"], q["answered_marked_wrong"], q["fallback"], q["refused"]) == \
        (11, 7, 0, 2, 2)
    assert (q["share_answered_not_marked_wrong_pct"], q["share_fallback_pct"], q["share_refused_pct"]) == \
        (63.6, 18.2, 18.2)
    assert report["feedback"] == {"up": 3, "down": 1, "total": 4, "share_positive_pct": 75.0}
    letters = report["letters"]
    assert {k: letters[k] for k in ("drafted", "submitted", "approved", "filed")} == \
        {"drafted": 6, "submitted": 5, "approved": 4, "filed": 4}
    # median of 26, 48, 120 and 578 hours (the last drafted in 2024, filed in January 2025)
    assert (letters["median_draft_to_filed_hours"], letters["median_draft_to_filed_days"]) == (84.0, 3.5)
    assert report["topics"] == [
        {"rank": 1, "topic": "Merkblatt Wohngeld", "count": 4},
        {"rank": 2, "topic": "Arbeitshilfe Mitwirkung", "count": 2},
        {"rank": 3, "topic": "Auskunft aus Akten (Wohngeld)", "count": 1},
        {"rank": 4, "topic": "Checkliste Wohngeld", "count": 1},
    ]
    # 7 answered and not marked wrong x 6 min + 4 filed letters x 20 min = 122 min (fallback saves nothing)
    saved = report["time_saved"]
    assert (saved["minutes_answers"], saved["minutes_letters"], saved["minutes_total"], saved["hours_total"]) == \
        (42, 80, 122, 2.0)
    assert [(a["label"], a["value"], a["unit"]) for a in report["assumptions"]] == [
        ("Eingesparte Arbeitszeit je beantworteter, nicht als falsch markierter Frage", 6, "Minuten"),
        ("Eingesparte Arbeitszeit je abgelegtem Schreiben", 20, "Minuten")]


def test_monthly_series_counts_by_munich_time(client):
    months = {m["month"]: m for m in get_report(client, **YEAR_2025)["monthly"]}
    assert list(months) == [f"2025-{m:02d}" for m in range(1, 13)]
    jan, mar, dec = months["2025-01"], months["2025-03"], months["2025-12"]
    # 31 Dec 2024 23:30 UTC is New Year's Day in Munich; 31 Dec 2024 22:00 UTC is still 2024
    assert (jan["questions"], jan["answered_not_marked_wrong"], jan["refused"]) == (4, 3, 1)
    assert (mar["questions"], mar["answered_not_marked_wrong"], mar["fallback"], mar["refused"]) == (4, 2, 1, 1)
    assert (dec["questions"], dec["fallback"], dec["letters_drafted"], dec["letters_filed"]) == (1, 1, 1, 0)
    assert (jan["letters_filed"], months["2025-02"]["letters_filed"], months["2025-02"]["letters_drafted"]) == (1, 1, 1)
    assert (mar["feedback_up"], mar["feedback_down"]) == (1, 1)
    assert months["2025-08"]["questions"] == 0 and months["2025-08"]["hours_saved"] == 0
    # January: 3 answered x 6 min + 1 filed letter x 20 min = 38 min
    assert jan["hours_saved"] == 0.6
    assert sum(m["questions"] for m in months.values()) == 11


def test_period_filters_all_figures(client):
    march = get_report(client, **{"from": "2025-03-01", "to": "2025-03-31"})
    assert (march["questions"]["asked"], march["questions"]["answered_not_marked_wrong"],
            march["questions"]["fallback"], march["questions"]["refused"]) == (4, 2, 1, 1)
    assert march["feedback"] == {"up": 1, "down": 1, "total": 2, "share_positive_pct": 50.0}
    assert march["letters"]["drafted"] == 0 and march["letters"]["median_draft_to_filed_hours"] is None
    assert [m["month"] for m in march["monthly"]] == ["2025-03"]
    new_year = get_report(client, **{"from": "2026-01-01", "to": "2026-01-01"})
    assert (new_year["questions"]["asked"], new_year["questions"]["refused"]) == (1, 1)
    empty = get_report(client, **{"from": "2023-05-01", "to": "2023-05-31"})
    assert empty["questions"]["asked"] == 0 and empty["questions"]["share_refused_pct"] is None
    assert empty["feedback"]["share_positive_pct"] is None and empty["topics"] == []


def test_default_period_is_the_current_year_up_to_today(client):
    report = get_report(client)
    assert (report["period"]["from"], report["period"]["to"]) == ("2026-01-01", "2026-03-15")
    assert (report["questions"]["asked"], report["questions"]["refused"]) == (2, 1)
    assert (report["letters"]["drafted"], report["letters"]["filed"]) == (1, 1)
    assert [m["month"] for m in report["monthly"]] == ["2026-01", "2026-02", "2026-03"]


def test_time_saved_follows_changed_assumptions(client):
    report = get_report(client, minutes_per_answer="10", minutes_per_letter="30", **YEAR_2025)
    saved = report["time_saved"]
    assert (saved["minutes_answers"], saved["minutes_letters"], saved["hours_total"]) == (70, 120, 3.2)
    assert [a["value"] for a in report["assumptions"]] == [10, 30]
    decimal_comma = get_report(client, minutes_per_answer="7,5", **YEAR_2025)  # 52.5 + 80 min
    assert (decimal_comma["time_saved"]["minutes_total"], decimal_comma["time_saved"]["hours_total"]) == (132.5, 2.2)
    assert decimal_comma["assumptions"][0]["value"] == 7.5


# -- CSV --------------------------------------------------------------------------------------
def test_csv_opens_in_excel_with_german_headers(client):
    raw, rows = csv_rows(client, minutes_per_answer="10", **YEAR_2025)
    assert raw.startswith(b"\xef\xbb\xbf")
    assert rows[1] == ["Zeitraum", "01.01.2025 bis 31.12.2025"]
    header, data = section(rows, "Fragen und Antworten")
    assert header == ["Kennzahl", "Anzahl", "Anteil in %"]
    assert ["Gestellte Fragen", "11", "100,0"] in data
    assert ["Beantwortet, nicht als falsch markiert", "7", "63,6"] in data
    assert ["Beantwortet, als falsch markiert (Daumen runter)", "0", "0,0"] in data
    assert ["Abgelehnt (keine passende Quelle)", "2", "18,2"] in data
    assert ["Hilfreich (Daumen hoch)", "3", "75,0"] in section(rows, "Rückmeldungen zu Antworten")[1]
    letters = section(rows, "Routineschreiben")[1]
    assert ["In der E-Akte abgelegt", "4", "Schreiben"] in letters
    assert ["Median Entwurf bis Ablage", "3,5", "Tage"] in letters
    header, topics = section(rows, "Häufigste Themen")
    assert header[1] == "Thema (Titel des zuerst zitierten Dokuments)" and topics[0] == ["1", "Merkblatt Wohngeld", "4"]
    saved = section(rows, "Geschätzte eingesparte Arbeitszeit")[1]
    assert saved[0] == ["Beantwortete, nicht als falsch markierte Fragen", "7", "10", "70", "1,2"]
    assert saved[-1][-1] == "2,5"
    header, months = section(rows, "Monatsverlauf")
    assert header[0] == "Monat" and len(months) == 12 and months[0][:2] == ["Januar 2025", "4"]
    assumptions = section(rows, "Annahmen")[1]
    assert [r[:3] for r in assumptions] == [["Eingesparte Arbeitszeit je beantworteter, nicht als falsch "
                                            "markierter Frage", "10", "Minuten"],
                                           ["Eingesparte Arbeitszeit je abgelegtem Schreiben", "20", "Minuten"]]


def test_csv_is_a_named_download(client):
    r = client.get("/api/report.csv", params=YEAR_2025)
    assert r.headers["content-type"].startswith("text/csv")
    assert 'attachment; filename="lotse-bericht_2025-01-01_bis_2025-12-31.csv"' in r.headers["content-disposition"]


# -- printable page ---------------------------------------------------------------------------
def test_print_page_shows_the_figures_with_svg_charts(client):
    r = client.get("/bericht/druck", params=YEAR_2025)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert page.startswith("<!DOCTYPE html>") and '<html lang="de">' in page
    assert "@media print" in page and "<caption>" in page and 'scope="col"' in page and 'scope="row"' in page
    for figure in ("<dd>11</dd>", "<dd>63,6 %</dd>", "<dd>75,0 %</dd>", "<dd>2,0 Std.</dd>",
                   "84,0 Stunden (3,5 Tage)", "Merkblatt Wohngeld", "01.01.2025 bis 31.12.2025",
                   "Eingesparte Arbeitszeit je beantworteter, nicht als falsch markierter Frage"):
        assert figure in page, figure
    svgs = re.findall(r"<svg\b.*?</svg>", page, flags=re.S)
    assert len(svgs) == 3
    charts = [ET.fromstring(svg) for svg in svgs]  # well-formed XML
    ns = "{http://www.w3.org/2000/svg}"
    for chart in charts:
        assert chart.get("role") == "img" and chart.find(f"{ns}title").text
        assert "Monatsverlauf" in chart.find(f"{ns}desc").text
    questions = charts[0]
    assert questions.find(f"{ns}title").text == "Fragen je Monat nach Ergebnis"
    bars = [rect.find(f"{ns}title").text for rect in questions.iter(f"{ns}rect") if rect.find(f"{ns}title") is not None]
    assert "Januar 2025: Beantwortet 3" in bars and "März 2025: Abgelehnt 1" in bars
    assert "Höchster Monatswert: Januar 2025 mit 4 Fragen" in questions.find(f"{ns}desc").text


def test_print_page_is_self_contained(client):
    page = client.get("/bericht/druck", params=YEAR_2025).text
    assert "<script" not in page.lower() and "<link" not in page.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page)


def test_print_page_shows_changed_assumptions(client):
    page = client.get("/bericht/druck", params={**YEAR_2025, "minutes_per_answer": "10"}).text
    assert "10 Minuten" in page and "(Standardwert: 6 Minuten)" in page
    assert "<dd>2,5 Std.</dd>" in page  # 70 + 80 minutes
    assert 'name="minutes_per_answer" value="10"' in page


# -- no personal data -------------------------------------------------------------------------
def test_report_contains_no_personal_data(client):
    outputs = {"json": client.get("/api/report", params=YEAR_2025).text,
               "csv": client.get("/api/report.csv", params=YEAR_2025).content.decode("utf-8-sig"),
               "html": client.get("/bericht/druck", params=YEAR_2025).text}
    for kind, text in outputs.items():
        assert "Merkblatt Wohngeld" in text, kind  # the report really is there
        for planted in PLANTED + ["Wohngeldantrag", "Ersatzantwort war zu lang", "Ada Admin", "u-1a"]:
            assert planted not in text, (kind, planted)


# -- errors and roles -------------------------------------------------------------------------
@pytest.mark.parametrize("params, message", [
    ({"from": "2025-06-01", "to": "2025-05-31"},
     "Der Beginn des Zeitraums (01.06.2025) liegt nach dem Ende (31.05.2025)"),
    ({"from": "2020-01-01", "to": "2025-01-01"}, "höchstens 5 Jahre"),
    ({"from": "2025-13-01", "to": "2025-12-31"}, "Ungültiges Datum „2025-13-01“"),
    ({"from": "01.01.2025"}, "JJJJ-MM-TT"),
    ({"minutes_per_answer": "sechs"}, "„sechs“ ist keine Zahl"),
    ({"minutes_per_letter": "-5"}, "von 0 bis 480 Minuten"),
])
def test_invalid_parameters_get_a_german_422(client, params, message):
    r = client.get("/api/report", params=params)
    assert r.status_code == 422 and message in r.json()["detail"]
    assert client.get("/api/report.csv", params=params).status_code == 422
    page = client.get("/bericht/druck", params=params)
    assert page.status_code == 422 and message in page.text and '<html lang="de">' in page.text


def test_five_years_are_allowed(client):
    assert get_report(client, **{"from": "2021-01-01", "to": "2025-12-31"})["questions"]["asked"] == 12


@pytest.mark.parametrize("roles, status", [({"schulung"}, 200), ({"administration", "sachbearbeitung"}, 200),
                                           ({"sachbearbeitung"}, 403), ({"pruefung"}, 403), (set(), 403)])
def test_only_administration_and_training_see_the_report(client, principal, roles, status):
    principal["value"] = Principal("u-2b", "Beate Beispiel", frozenset(roles))
    for path in ("/api/report", "/api/report.csv", "/bericht/druck"):
        r = client.get(path, params=YEAR_2025)
        assert r.status_code == status, path
        if status == 403:
            assert "nur für die Rollen „Administration“ und „Schulung“ freigegeben" in r.text
            assert "Merkblatt Wohngeld" not in r.text
    # the role check comes first: no hint about parameters for someone without access
    r = client.get("/api/report", params={"from": "x"})
    assert r.status_code == (422 if status == 200 else 403)


# -- a report that does not flatter (issue 14) ------------------------------------------------
@pytest.fixture
def split_client(tmp_path):
    """2025: four answers (two marked wrong, one of them later deleted), one refused, one fallback with a
    thumbs-down; S-I and S-III people, letters of both departments."""
    engine = make_engine(f"sqlite:///{tmp_path / 'split.db'}")
    Session = make_sessionmaker(engine)
    with Session() as s:
        s.add(User(id="s3", display_name="S-III Person", roles=["sachbearbeitung"], departments="S-III"))
        s.add(User(id="s1", display_name="S-I Person", roles=["sachbearbeitung"], departments="S-I"))
        good = add_answer(s, utc(2025, 2, 3, 9), "answered", [MERKBLATT], user="s3")
        wrong = add_answer(s, utc(2025, 2, 4, 9), "answered", [MERKBLATT], user="s3")
        add_answer(s, utc(2025, 2, 5, 9), "answered", [MERKBLATT], user="s3")
        gone = add_answer(s, utc(2025, 3, 5, 9), "answered", [MERKBLATT], user="s3")
        add_answer(s, utc(2025, 3, 6, 9), "refused", [], user="s3")
        fallback = add_answer(s, utc(2025, 3, 7, 9), "fallback", [MERKBLATT], user="s3")
        for msg, rating in ((good, 1), (wrong, -1), (gone, -1), (fallback, -1)):
            s.add(Feedback(message_id=msg.id, conversation_id=msg.conversation_id, user_id="s3", rating=rating,
                           created_at=msg.created_at))
        s.flush()
        s.delete(s.get(Conversation, gone.conversation_id))  # deleted after the thumbs-down
        for i in range(5):  # another department's questions
            add_answer(s, utc(2025, 4, 1 + i, 9), "answered", [PFLEGE], user="s1",
                       question=f"Geheime S-I-Frage {i}")
        add_letter(s, utc(2025, 2, 3, 8), filed=utc(2025, 2, 3, 10))
        s.query(Letter).update({"department": "S-III"})
        s.add(Letter(aktenzeichen="S-I-HZP/2025/1", case_coo="COO.9", template="t", title="t", state="filed",
                     author_id="s1", author_name="S-I Person", department="S-I", created_at=utc(2025, 4, 1, 8),
                     updated_at=utc(2025, 4, 1, 9), filed_at=utc(2025, 4, 1, 9)))
        s.commit()
    viewer = {"value": Principal("root", "Alle", frozenset({"administration"}))}
    service = ReportService(Session, clock=lambda: NOW)
    app = FastAPI()
    install_errors(app)
    app.state.services = Services(report=service)
    app.include_router(report_router)
    app.dependency_overrides[get_principal] = lambda: viewer["value"]
    with TestClient(app) as c:
        yield c, viewer
    engine.dispose()


def test_thumbs_down_answers_are_their_own_group_and_save_no_time(split_client):
    client, viewer = split_client
    viewer["value"] = Principal("t3", "Trainerin S-III", frozenset({"schulung"}), ("S-III",))
    report = get_report(client, **YEAR_2025)
    q = report["questions"]
    # 4 answered: 2 marked wrong (one in a conversation deleted since), 2 not; the fallback's thumbs-down
    # stays with the fallback group
    assert (q["asked"], q["answered_not_marked_wrong"], q["answered_marked_wrong"], q["refused"], q["fallback"]) \
        == (6, 2, 2, 1, 1)
    assert q["answered_not_marked_wrong"] + q["answered_marked_wrong"] + q["refused"] + q["fallback"] == q["asked"]
    months = {m["month"]: m for m in report["monthly"]}
    assert (months["2025-02"]["answered_not_marked_wrong"], months["2025-02"]["answered_marked_wrong"]) == (2, 1)
    assert (months["2025-03"]["answered_marked_wrong"], months["2025-03"]["refused"],
            months["2025-03"]["fallback"]) == (1, 1, 1)
    # hours saved from the 2 good answers only: 2 x 6 min + 1 filed letter x 20 min
    saved = report["time_saved"]
    assert (saved["answers"], saved["minutes_answers"], saved["minutes_total"]) == (2, 12, 32)
    assert months["2025-02"]["hours_saved"] == 0.5 and months["2025-03"]["hours_saved"] == 0
    # the assumption is printed where the figure is: on the page and in the CSV
    page = client.get("/bericht/druck", params=YEAR_2025).text
    assert "Annahme:" in page and "nur aus beantworteten, nicht als falsch markierten Fragen" in page
    assert "Beantwortet, als falsch markiert (Daumen runter)" in page
    _raw, rows = csv_rows(client, **YEAR_2025)
    assert ["Beantwortet, als falsch markiert (Daumen runter)", "2", "33,3"] in section(rows, "Fragen und Antworten")[1]
    assert any(r and r[0] == "Grundlage der Schätzung" and "nicht als falsch markierten" in r[1] for r in rows)


def test_report_of_a_department_viewer_counts_only_that_department(split_client):
    client, viewer = split_client
    everything = get_report(client, **YEAR_2025)
    assert everything["questions"]["asked"] == 11 and everything["letters"]["filed"] == 2
    assert everything["scope"] == "alle Fachbereiche"
    viewer["value"] = Principal("t3", "Trainerin S-III", frozenset({"schulung"}), ("S-III",))
    mine = get_report(client, **YEAR_2025)
    assert mine["questions"]["asked"] == 6 and mine["letters"]["filed"] == 1
    assert [t["topic"] for t in mine["topics"]] == ["Merkblatt Wohngeld"]  # not the S-I "Leitfaden Hilfe zur Pflege"
    assert mine["scope"] == "Fachbereiche S-III"
    assert {m["month"]: m["questions"] for m in mine["monthly"]}["2025-04"] == 0
