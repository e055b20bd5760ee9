"""One table from business errors to HTTP statuses (web_ui.errors), roles as dependencies, no connectors in
the web layer."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

import assistant
from assistant.errors import (
    AssistantError,
    NotFoundError,
    SourceRefusedError,
    SourceUnavailableError,
    connector_errors,
    translate_connector_error,
)
from assistant.identity import Principal
from web_ui.errors import STATUS, install, status_for

ROOT = Path(__file__).resolve().parents[2]


def _business_error_classes() -> set[type]:
    """Every subclass of AssistantError defined in the code base (all assistant modules imported)."""
    for mod in pkgutil.walk_packages(assistant.__path__, "assistant."):
        if ".migrations" in mod.name:
            continue
        importlib.import_module(mod.name)
    found, todo = set(), [AssistantError]
    while todo:
        cls = todo.pop()
        if cls.__module__.split(".")[0] in ("assistant", "web_ui", "indexer", "connectors", "lotse"):
            found.add(cls)
        todo.extend(cls.__subclasses__())
    return found


def test_every_business_error_class_has_its_own_status():
    classes = _business_error_classes()
    assert len(classes) >= 20  # assistant, letters, training, report, library, accounts
    missing = sorted(f"{c.__module__}.{c.__qualname__}" for c in classes if c not in STATUS)
    assert missing == [], "add them to web_ui.errors.STATUS"
    assert all(isinstance(v, int) and 400 <= v < 600 for v in STATUS.values())


def test_statuses_as_documented():
    from assistant.letters import FeatureUnavailable, FilingError, FourEyesViolation, LetterConflict, LetterNotFound
    from assistant.training import ForbiddenError, TrainingConflict, TrainingError

    expected = {NotFoundError: 404, LetterNotFound: 404, LetterConflict: 409, FourEyesViolation: 403,
                FilingError: 502, FeatureUnavailable: 501, TrainingError: 422, TrainingConflict: 409,
                ForbiddenError: 403, SourceUnavailableError: 503, SourceRefusedError: 502, AssistantError: 503}
    assert {cls: STATUS[cls] for cls in expected} == expected


def test_an_unlisted_subclass_gets_its_nearest_base_class_status():
    class Special(NotFoundError):
        pass

    assert status_for(Special("x")) == 404
    assert status_for(ValueError("x")) == 500


def test_business_errors_carry_no_http_status():
    """No class of the business layer has a status_code/status attribute or parameter."""
    bad = []
    for path in (ROOT / "assistant").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ClassDef):
                continue
            bases = {getattr(b, "id", getattr(b, "attr", "")) for b in node.bases}
            if not any(b.endswith(("Error", "Exception", "Unavailable", "Violation", "Conflict", "NotFound"))
                       for b in bases):
                continue
            for sub in ast.walk(node):
                names = []
                if isinstance(sub, (ast.Assign, ast.AnnAssign)):
                    targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target]
                    names = [getattr(t, "id", getattr(t, "attr", "")) for t in targets]
                elif isinstance(sub, ast.arg):
                    names = [sub.arg]
                bad += [f"{path.relative_to(ROOT)}:{node.name}.{n}" for n in names if n in ("status_code", "status")]
    assert bad == []


def test_the_web_layer_never_imports_connectors():
    offenders = [str(p.relative_to(ROOT)) for p in (ROOT / "web_ui").rglob("*.py")
                 if "connectors" in p.read_text(encoding="utf-8")]
    assert offenders == []


def test_connector_errors_are_translated_by_the_business_layer():
    from connectors.efile.errors import EFileAuthError, EFileRefused
    from connectors.errors import ConnectorError, NotFound, SourceUnavailable

    cases = [(NotFound("weg"), NotFoundError), (SourceUnavailable("aus"), SourceUnavailableError),
             (EFileAuthError("nein"), SourceRefusedError), (EFileRefused("abgelehnt"), SourceRefusedError),
             (ConnectorError("kaputt"), SourceRefusedError)]
    for exc, expected in cases:
        out = translate_connector_error(exc)
        assert type(out) is expected and out.message == exc.message
        with pytest.raises(expected) as raised, connector_errors():
            raise exc
        assert raised.value.__cause__ is exc
    with pytest.raises(ValueError), connector_errors():  # anything else passes unchanged
        raise ValueError("x")


def _app() -> FastAPI:
    from web_ui.auth import require_roles

    app = FastAPI()
    install(app)
    who = {"p": Principal("anna", "Anna", frozenset({"sachbearbeitung"}))}

    @app.get("/api/raise/{name}")
    def raise_(name: str):
        cls = next(c for c in STATUS if c.__name__ == name)
        exc = cls.__new__(cls)
        AssistantError.__init__(exc, f"Meldung {name}")
        raise exc

    reviewer = require_roles(lambda: who["p"], "pruefung")

    @app.get("/api/review")
    def review(p: Principal = Depends(reviewer)):
        return {"user": p.user_id}

    app.state.who = who
    return app


def test_handlers_answer_with_the_table_status_and_the_german_detail():
    c = TestClient(_app(), raise_server_exceptions=False)
    for cls, status in STATUS.items():
        r = c.get(f"/api/raise/{cls.__name__}")
        assert (r.status_code, r.json()) == (status, {"detail": f"Meldung {cls.__name__}"}), cls


def test_role_check_is_a_dependency_with_a_german_403():
    app = _app()
    c = TestClient(app)
    r = c.get("/api/review")
    assert r.status_code == 403 and r.json() == {"detail": "Dafür fehlt Ihnen die Rolle Prüfung."}
    app.state.who["p"] = Principal("rita", "Rita", frozenset({"pruefung"}))
    assert c.get("/api/review").json() == {"user": "rita"}


def test_a_failing_knowledge_base_is_a_german_503_without_internal_details():
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from indexer.errors import LoaderError, StoreError
    from web_ui import messages
    from web_ui.errors import install

    app = FastAPI()
    install(app)

    @app.get("/store")
    def store():
        raise StoreError("Vektorspeicher (Chroma, embedded) nicht erreichbar unter /srv/lotse/data: disk I/O")

    @app.get("/file")
    def file():
        raise LoaderError("antrag.pdf", "Die Datei ist kein gültiges PDF (Kopfzeile fehlt).")

    client = TestClient(app, raise_server_exceptions=False)
    r = client.get("/store")
    assert r.status_code == 503 and r.json() == {"detail": messages.INDEX_UNAVAILABLE}
    assert "/srv/lotse" not in r.text
    r = client.get("/file")
    assert r.status_code == 422 and "kein gültiges PDF" in r.json()["detail"]
