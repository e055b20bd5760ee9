"""Trainer mode through its REST router on a plain FastAPI app: learning paths, quizzes, grading, results,
model answers preferred by the real assistant, departments, insights, roles. Demo corpus, real Chroma/SQLite."""

from __future__ import annotations

import json
import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from assistant import Assistant, AssistantConfig, ExtractiveConfig, Principal
from assistant.db import AuditEvent
from assistant.training import BLANK, CURATED_NOTICE, TrainingService, load_learning_paths
from assistant.training_models import TrainingQuiz
from tests.conftest import demo_kb_copy
from web_ui.errors import install as install_errors
from web_ui.services import Services, get_principal
from web_ui.training_api import router as training_router

ANNA = Principal("anna", "Anna Lernende", frozenset({"sachbearbeitung"}))
BERND = Principal("bernd", "Bernd Lernender", frozenset({"sachbearbeitung"}))
TRAINER = Principal("tina", "Tina Trainerin", frozenset({"sachbearbeitung", "schulung"}))
S1_ONLY = Principal("siggi", "Siggi Sozialhilfe", frozenset({"sachbearbeitung"}), ("S-I",))
S1_TRAINER = Principal("sabine", "Sabine S-I", frozenset({"schulung"}), ("S-I",))


@pytest.fixture(scope="module")
def demo_kb(tmp_path_factory, demo_index, embedder):
    return demo_kb_copy(demo_index, tmp_path_factory.mktemp("kb"), embedder)


@pytest.fixture
def assistant(demo_kb, tmp_path):
    return Assistant(AssistantConfig(), ExtractiveConfig(), demo_kb, f"sqlite:///{tmp_path / 'lotse.db'}")


@pytest.fixture
def service(assistant):
    return TrainingService(assistant.Session, assistant.kb)


class Client:
    """A TestClient whose principal the test switches with ``as_(...)``."""

    def __init__(self, service):
        self.principal = ANNA
        app = FastAPI()
        install_errors(app)  # the statuses of business errors (web_ui.errors), as create_app installs them
        app.state.services = Services(training=service)
        app.include_router(training_router)
        app.dependency_overrides[get_principal] = lambda: self.principal
        self.http = TestClient(app)

    def as_(self, principal: Principal) -> TestClient:
        self.principal = principal
        return self.http


@pytest.fixture
def client(service):
    return Client(service)


def _plain(text: str) -> str:
    return text.replace("**", "").replace("`", "")


def _ae(text: str) -> str:
    return text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")


def _expected(service, quiz_id: str) -> dict[str, str]:
    """The server-side answer key (what only the server knows before grading)."""
    with service.Session() as s:
        return {q["id"]: q["answer"] for q in s.get(TrainingQuiz, quiz_id).questions}


# -- learning paths ------------------------------------------------------------------------------

def test_learning_paths_cover_the_processes_with_steps_from_the_documents(client, demo_kb):
    paths = client.as_(ANNA).get("/api/training/paths").json()
    ids = [p["id"] for p in paths]
    assert {"zuschussverfahren", "wohngeld", "mitwirkung", "widerspruch", "hilfe_zur_pflege"} <= set(ids)
    assert all(p["title"] and p["description"] and p["steps"] >= 5 for p in paths)

    path = client.as_(ANNA).get("/api/training/paths/mitwirkung").json()
    assert path["title"] == "Mitwirkung, Versagung und Entziehung"
    steps = path["steps"]
    assert [s["n"] for s in steps] == list(range(1, len(steps) + 1))
    sections = [s["citations"][0]["section"] for s in steps]
    # process order: first request, then deadline, then decision, then making up for it
    assert sections.index("Erste Nachforderung") < sections.index("Fristsetzung") \
        < sections.index("Ablauf bis zum Bescheid") < sections.index("Nachholung der Mitwirkung")
    for step in steps:
        cite = step["citations"][0]
        row = demo_kb.chunk(cite["chunk_id"])
        assert row is not None and row.source == cite["source"] and row.section == cite["section"]
        assert cite["url"] == f"/api/sources/{cite['chunk_id']}"
        first = step["text"].split("\n")[0].removeprefix("– ")
        assert first and first in _plain(row.text), (first, row.text)  # the explanation is the source's text
    nachforderung = next(s for s in steps if s["citations"][0]["section"] == "Erste Nachforderung")
    assert "zwei Wochen" in nachforderung["text"]

    r = client.as_(ANNA).get("/api/training/paths/gibt-es-nicht")
    assert r.status_code == 404 and "Lernpfad" in r.json()["detail"]


def test_learning_paths_file_defines_german_titles_and_queries():
    catalog = load_learning_paths()
    assert len(catalog.paths) >= 5
    for p in catalog.paths:
        assert p.sources and p.steps and all(s.query and s.title for s in p.steps)


# -- quizzes -------------------------------------------------------------------------------------

def test_quiz_questions_are_true_to_their_sources_and_answers_stay_on_the_server(client, service, demo_kb):
    http = client.as_(ANNA)
    r = http.post("/api/training/paths/widerspruch/quiz", json={"count": 8, "seed": 7})
    assert r.status_code == 201, r.text
    quiz = r.json()
    questions = quiz["questions"]
    assert len(questions) == 8
    assert {q["kind"] for q in questions} <= {"cloze", "choice"}
    key = _expected(service, quiz["quiz_id"])
    for q in questions:
        assert set(q) == {"id", "kind", "prompt", "options", "hint", "citation"}  # no answer field
        assert q["prompt"].count(BLANK) == 1
        expected = key[q["id"]]
        assert expected not in q["prompt"]
        if q["kind"] == "cloze":
            assert q["options"] is None
            assert expected not in json.dumps(q, ensure_ascii=False)  # the learner has to know it
        else:
            assert expected in q["options"] and 3 <= len(q["options"]) <= 4
        row = demo_kb.chunk(q["citation"]["chunk_id"])
        assert row is not None and row.department == "S-Z"
        assert expected in row.text
        assert q["prompt"].replace(BLANK, expected) in _plain(row.text)

    # same seed, same quiz; the answer key comes back only with the grading
    again = http.post("/api/training/paths/widerspruch/quiz", json={"count": 8, "seed": 7}).json()
    assert [q["prompt"] for q in again["questions"]] == [q["prompt"] for q in questions]
    assert [q["options"] for q in again["questions"]] == [q["options"] for q in questions]
    graded = http.post(f"/api/training/quizzes/{quiz['quiz_id']}/answers", json={"answers": {}}).json()
    assert graded["score"] == 0 and graded["total"] == 8
    assert {res["id"]: res["expected"] for res in graded["results"]} == key
    for res in graded["results"]:
        assert res["citation"]["chunk_id"] and res["explanation"].startswith("Laut „")


def test_grading_is_tolerant_of_case_whitespace_and_umlaut_spelling(client, service):
    http = client.as_(ANNA)
    quiz = http.post("/api/training/paths/zuschussverfahren/quiz", json={"count": 12, "seed": 3}).json()
    key = _expected(service, quiz["quiz_id"])
    ids = sorted(key, key=lambda i: int(i[1:]))
    assert any(re.search("[äöüß]", v) for v in key.values()), key  # something to spell with ae/oe/ue
    wrong_id = ids[0]
    answers = {qid: "  " + _ae(key[qid]).upper().replace(" ", "   ") + " " for qid in ids[1:]}
    answers[wrong_id] = "sieben Jahre"
    r = http.post(f"/api/training/quizzes/{quiz['quiz_id']}/answers", json={"answers": answers})
    assert r.status_code == 200, r.text
    graded = r.json()
    by_id = {res["id"]: res for res in graded["results"]}
    assert by_id[wrong_id]["correct"] is False and by_id[wrong_id]["expected"] == key[wrong_id]
    assert all(by_id[qid]["correct"] for qid in ids[1:]), graded
    assert graded["score"] == len(ids) - 1 and graded["total"] == len(ids)

    # graded once: a second attempt with the now known answers does not count
    r = http.post(f"/api/training/quizzes/{quiz['quiz_id']}/answers", json={"answers": {wrong_id: key[wrong_id]}})
    assert r.status_code == 409 and "bereits ausgewertet" in r.json()["detail"]
    with service.Session() as s:
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "training_quiz_taken")).all()
    assert [(a.user_id, a.object_id, a.outcome) for a in audit] == [
        ("anna", quiz["quiz_id"], f"{len(ids) - 1}/{len(ids)}")]


def test_number_words_and_digits_are_the_same_answer(client, service):
    http = client.as_(ANNA)
    for seed in range(1, 30):
        quiz = http.post("/api/training/paths/mitwirkung/quiz", json={"count": 20, "seed": seed}).json()
        key = _expected(service, quiz["quiz_id"])
        hit = next((qid for qid, v in key.items() if v.startswith("zwei Wochen")), None)
        if hit:
            break
    assert hit, "no question about 'zwei Wochen' in the Mitwirkung path"
    graded = http.post(f"/api/training/quizzes/{quiz['quiz_id']}/answers",
                       json={"answers": {hit: "2 Wochen"}}).json()
    assert next(res for res in graded["results"] if res["id"] == hit)["correct"] is True
    assert graded["score"] == 1


def test_quiz_of_someone_else_and_malformed_answers(client, service):
    quiz = client.as_(ANNA).post("/api/training/paths/wohngeld/quiz", json={"count": 3, "seed": 1}).json()
    url = f"/api/training/quizzes/{quiz['quiz_id']}/answers"
    r = client.as_(BERND).post(url, json={"answers": {}})
    assert r.status_code == 404 and "Quiz" in r.json()["detail"]
    assert client.as_(ANNA).post(url, json={"answers": ["zwei Wochen"]}).status_code == 422
    assert client.as_(ANNA).post(url, json={"antworten": {}}).status_code == 422
    r = client.as_(ANNA).post(url, json={"answers": {"q99": "x"}})
    assert r.status_code == 422 and "q99" in r.json()["detail"]
    assert client.as_(ANNA).post("/api/training/paths/wohngeld/quiz", json={"count": 0}).status_code == 422
    assert client.as_(ANNA).post("/api/training/quizzes/unbekannt/answers", json={"answers": {}}).status_code == 404
    # the malformed attempts did not use up the quiz
    assert client.as_(ANNA).post(url, json={"answers": {}}).status_code == 200


# -- results -------------------------------------------------------------------------------------

def test_results_are_own_and_trainers_see_names_only_with_the_learners_consent(client, service):
    for who, path in ((ANNA, "wohngeld"), (ANNA, "widerspruch"), (BERND, "mitwirkung")):
        http = client.as_(who)
        quiz = http.post(f"/api/training/paths/{path}/quiz", json={"count": 4, "seed": 5}).json()
        key = _expected(service, quiz["quiz_id"])
        answers = dict(list(key.items())[:2]) if who is ANNA else {}
        http.post(f"/api/training/quizzes/{quiz['quiz_id']}/answers", json={"answers": answers})

    own = client.as_(ANNA).get("/api/training/results").json()
    assert {r["user_id"] for r in own["results"]} == {"anna"}
    assert sorted(r["path_id"] for r in own["results"]) == ["widerspruch", "wohngeld"]
    assert all(r["score"] == 2 and r["total"] == 4 for r in own["results"])
    assert [learner["user_id"] for learner in own["learners"]] == ["anna"]

    r = client.as_(ANNA).get("/api/training/results?all=true")
    assert r.status_code == 403 and "Schulung" in r.json()["detail"]

    # nobody agreed yet: trainers see pseudonyms, the day only, and the figures per learning path
    anonymous = client.as_(TRAINER).get("/api/training/results?all=true").json()
    text = json.dumps(anonymous, ensure_ascii=False)
    assert "anna" not in text and "Anna" not in text and "bernd" not in text and "Bernd" not in text
    assert {r["display_name"] for r in anonymous["results"]} == {"Lernende:r 1", "Lernende:r 2"}
    assert all(len(r["created_at"]) == 10 and r["quiz_id"] is None for r in anonymous["results"])
    groups = {g["path_id"]: g for g in anonymous["groups"]}
    assert (groups["wohngeld"]["learners"], groups["wohngeld"]["percent"]) == (1, 50)
    assert (groups["mitwirkung"]["quizzes"], groups["mitwirkung"]["percent"]) == (1, 0)

    # Bernd agrees (his own setting): from now on trainers see his name, Anna stays pseudonymous
    assert client.as_(BERND).get("/api/training/consent").json() == {"share_name": False}
    assert client.as_(BERND).put("/api/training/consent", json={"share_name": True}).json() == {"share_name": True}
    everyone = client.as_(TRAINER).get("/api/training/results?all=true").json()
    assert {r["user_id"] for r in everyone["results"]} == {"bernd", None}
    summary = {learner["display_name"]: learner for learner in everyone["learners"]}
    assert summary["Lernende:r 1"]["quizzes"] == 2 and summary["Lernende:r 1"]["percent"] == 50
    assert summary["Bernd Lernender"]["quizzes"] == 1 and summary["Bernd Lernender"]["percent"] == 0
    assert "Anna" not in json.dumps(everyone, ensure_ascii=False)
    # withdrawn: pseudonymous again
    client.as_(BERND).put("/api/training/consent", json={"share_name": False})
    assert "Bernd" not in client.as_(TRAINER).get("/api/training/results?all=true").text


# -- model answers -------------------------------------------------------------------------------

def test_model_answer_is_preferred_for_a_reworded_question_in_the_real_assistant(client, assistant, service):
    original = assistant.ask("Welche Frist gilt für den Widerspruch gegen einen Bescheid?", TRAINER)
    assert not original["refused"] and original["provider"] == "extractive"
    corrected = ("Der Widerspruch ist innerhalb eines Monats nach Bekanntgabe des Bescheids einzulegen [1]. "
                 "Fehlt die Rechtsbehelfsbelehrung, gilt die Jahresfrist.")

    r = client.as_(ANNA).post("/api/training/model-answers", json={"message_id": original["message_id"],
                                                                  "answer": corrected})
    assert r.status_code == 403 and "Schulung" in r.json()["detail"]
    # someone else's chat is not the trainer's to read
    private = assistant.ask("Welche Frist gilt für den Widerspruch gegen einen Bescheid?", ANNA)
    r = client.as_(TRAINER).post("/api/training/model-answers", json={"message_id": private["message_id"]})
    assert r.status_code == 404
    r = client.as_(TRAINER).post("/api/training/model-answers", json={"message_id": original["message_id"],
                                                                    "answer": corrected})
    assert r.status_code == 201, r.text
    model = r.json()
    assert model["question"] == "Welche Frist gilt für den Widerspruch gegen einen Bescheid?"
    assert [c["chunk_id"] for c in model["citations"]] == [c["chunk_id"] for c in original["citations"]]
    first_source = next(c["chunk_id"] for c in model["citations"] if c["n"] == 1)

    curated = assistant.ask("Wie lange hat man Zeit für einen Widerspruch gegen den Bescheid?", BERND)
    assert curated["provider"] == "kuratiert" and curated["notice"] == CURATED_NOTICE
    assert curated["answer"] == corrected and not curated["refused"]
    assert [c["chunk_id"] for c in curated["citations"]] == [first_source]  # the sources the text cites
    assert curated["citations"][0]["url"].startswith("/api/sources/")
    saved = assistant.get_conversation(BERND, curated["conversation_id"])
    assert [m["role"] for m in saved["messages"]] == ["user", "assistant"]
    assert saved["messages"][1]["provider"] == "kuratiert" and saved["messages"][1]["content"] == corrected

    events = list(assistant.ask_stream("Bis wann muss der Widerspruch gegen einen Bescheid eingelegt werden?", BERND))
    types = [e["type"] for e in events]
    assert types[:2] == ["conversation", "meta"] and types[-3:] == ["citations", "done", "saved"]
    assert "token" in types and events[1]["provider"] == "kuratiert"
    assert "".join(e["text"] for e in events if e["type"] == "token").strip() == corrected

    unrelated = assistant.ask("Welche Unterlagen brauche ich für den Wohngeldantrag?", BERND)
    assert unrelated["provider"] == "extractive" and unrelated["answer"] != corrected

    listed = client.as_(ANNA).get("/api/training/model-answers").json()
    assert [m["id"] for m in listed] == [model["id"]]
    assert client.as_(ANNA).delete(f"/api/training/model-answers/{model['id']}").status_code == 403
    assert client.as_(TRAINER).delete(f"/api/training/model-answers/{model['id']}").status_code == 204
    assert client.as_(TRAINER).delete(f"/api/training/model-answers/{model['id']}").status_code == 404
    after = assistant.ask("Wie lange hat man Zeit für einen Widerspruch gegen den Bescheid?", BERND)
    assert after["provider"] == "extractive"

    with service.Session() as s:
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action.like("model_answer%"))).all()
    assert [(a.action, a.object_id) for a in audit] == [("model_answer_created", str(model["id"])),
                                                         ("model_answer_deleted", str(model["id"]))]


def test_model_answer_from_corrected_text_and_its_validation(client, demo_kb):
    hit = demo_kb.search("Verwendungsnachweis Frist 30. Juni", 3, departments=["S-Z"])[0]
    http = client.as_(TRAINER)
    r = http.post("/api/training/model-answers", json={"question": "Bis wann ist der Verwendungsnachweis fällig?",
                                                       "answer": "Bis zum 30. Juni des Folgejahres [1].",
                                                       "citations": [{"n": 1, "chunk_id": hit.chunk_id}]})
    assert r.status_code == 201 and r.json()["citations"][0]["source"] == hit.source
    r = http.post("/api/training/model-answers", json={"question": "Frage?", "answer": "Antwort ohne Quelle."})
    assert r.status_code == 422 and "Quelle" in r.json()["detail"]
    r = http.post("/api/training/model-answers", json={"question": "Frage?", "answer": "Text [1].",
                                                       "citations": ["gibt-es-nicht"]})
    assert r.status_code == 422
    assert http.post("/api/training/model-answers", json={"message_id": 999999}).status_code == 404
    assert http.post("/api/training/model-answers", json={"question": 5, "citations": "x"}).status_code == 422


# -- departments ---------------------------------------------------------------------------------

def test_principal_of_one_department_gets_only_its_material(client, service, demo_kb, assistant):
    http = client.as_(S1_ONLY)
    paths = http.get("/api/training/paths").json()
    assert {p["id"] for p in paths} == {"mitwirkung", "hilfe_zur_pflege"}
    assert all(p["department"] == "S-I" for p in paths)
    for pid in ("wohngeld", "widerspruch", "zuschussverfahren"):
        assert http.get(f"/api/training/paths/{pid}").status_code == 404
        assert http.post(f"/api/training/paths/{pid}/quiz", json={"count": 3}).status_code == 404
    for step in http.get("/api/training/paths/hilfe_zur_pflege").json()["steps"]:
        assert all(c["department"] == "S-I" for c in step["citations"])

    # distractors, too, come only from what this person may read
    others = " ".join(_plain(r.text) for r in demo_kb.catalog.chunks(sorted(demo_kb.catalog.all_chunk_ids())).values()
                      if r.department != "S-I")
    own = " ".join(_plain(r.text) for r in demo_kb.catalog.chunks(sorted(demo_kb.catalog.all_chunk_ids())).values()
                   if r.department == "S-I")
    options = []
    for seed in (1, 2, 3):
        quiz = http.post("/api/training/paths/mitwirkung/quiz", json={"count": 10, "seed": seed}).json()
        for q in quiz["questions"]:
            assert q["citation"]["department"] == "S-I"
            assert demo_kb.chunk(q["citation"]["chunk_id"]).department == "S-I"
            options += q["options"] or []
    assert options
    for option in options:
        assert option in own, option
    assert any(o in others for o in options)  # the check above is not vacuous

    # a model answer citing S-III is neither listed for nor given to an S-I-only person
    wohngeld = demo_kb.search("Unterlagen Wohngeldantrag Checkliste", 3, departments=["S-III"])[0]
    r = client.as_(S1_TRAINER).post("/api/training/model-answers", json={
        "question": "Welche Unterlagen braucht der Wohngeldantrag?", "answer": "Siehe Checkliste [1].",
        "citations": [wohngeld.chunk_id]})
    assert r.status_code == 403  # a trainer cannot curate from sources they may not read
    model = client.as_(TRAINER).post("/api/training/model-answers", json={
        "question": "Welche Unterlagen braucht der Wohngeldantrag?", "answer": "Siehe Checkliste [1].",
        "citations": [wohngeld.chunk_id]}).json()
    assert client.as_(S1_ONLY).get("/api/training/model-answers").json() == []
    assert [m["id"] for m in client.as_(ANNA).get("/api/training/model-answers").json()] == [model["id"]]
    assert assistant.ask("Welche Unterlagen braucht man für den Wohngeldantrag?", ANNA)["provider"] == "kuratiert"
    assert assistant.ask("Welche Unterlagen braucht man für den Wohngeldantrag?", S1_ONLY)["provider"] != "kuratiert"


# -- insights ------------------------------------------------------------------------------------

def test_insights_show_frequent_and_unanswered_questions_with_personal_data_masked(client, assistant, service):
    secret = "Frau Sabine Müller mit IBAN DE89 3704 0044 0532 0130 00 fragt: wie wird das Wetter morgen?"
    for who in (ANNA, BERND):
        r = assistant.ask(secret, who)
        assert r["refused"], r["answer"]
    for _ in range(3):
        assistant.ask("Welche Frist gilt für den Widerspruch gegen einen Bescheid?", ANNA)
    assistant.ask("welche frist gilt für den widerspruch gegen einen bescheid", BERND)  # same, other spelling

    r = client.as_(ANNA).get("/api/training/insights")
    assert r.status_code == 403 and "Schulung" in r.json()["detail"]

    data = client.as_(TRAINER).get("/api/training/insights").json()
    top = data["top_questions"]
    assert top[0] == {"question": "Welche Frist gilt für den Widerspruch gegen einen Bescheid?", "count": 4}
    assert len(data["unanswered"]) == 1
    unanswered = data["unanswered"][0]
    assert unanswered["count"] == 2
    assert "[NAME]" in unanswered["question"] and "[IBAN]" in unanswered["question"]
    assert "Wetter" in unanswered["question"]
    text = json.dumps(data, ensure_ascii=False)
    assert "Müller" not in text and "Sabine" not in text and "DE89" not in text and "3704" not in text

    # a period without these questions
    past = client.as_(TRAINER).get("/api/training/insights?from=2020-01-01&to=2020-01-31").json()
    assert past["top_questions"] == [] and past["unanswered"] == []
    assert client.as_(TRAINER).get("/api/training/insights?from=2020-02-01&to=2020-01-01").status_code == 422
    assert client.as_(TRAINER).get("/api/training/insights?from=gestern").status_code == 422

    with service.Session() as s:
        audit = s.scalars(select(AuditEvent)).all()
    assert any(a.action == "training_insights_viewed" for a in audit)
    for a in audit:  # never question text in the audit trail
        fields = f"{a.action} {a.object_id} {a.outcome}"
        assert "Müller" not in fields and "Frist" not in fields and "Wetter" not in fields
