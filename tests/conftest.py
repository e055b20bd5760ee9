"""Shared fixtures: a clean LOTSE_* environment, data under tmp_path, the shipped model loaded once."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAW_CORPUS = Path(os.environ.get("LOTSE_LAW_CORPUS", ROOT.parent / "shared" / "corpus" / "gesetze"))
VENV_BIN = Path(sys.executable).parent

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["ANONYMIZED_TELEMETRY"] = "False"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch, tmp_path):
    for key in list(os.environ):
        if key.startswith("LOTSE_") and key != "LOTSE_LAW_CORPUS":
            monkeypatch.delenv(key)
    monkeypatch.setenv("LOTSE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def embedder():
    from indexer.embeddings import LocalEmbedder

    return LocalEmbedder()


@pytest.fixture
def make_kb(tmp_path, embedder):
    """Factory for a KnowledgeBase on a fresh data dir, sharing the loaded model."""
    from indexer import IndexConfig, KnowledgeBase

    def make(data_dir: Path | None = None, **cfg):
        return KnowledgeBase(IndexConfig(**cfg), data_dir or tmp_path / "data", embedder=embedder)

    return make


def lotse_cmd() -> list[str]:
    return [str(VENV_BIN / "lotse")] if (VENV_BIN / "lotse").exists() else [sys.executable, "-m", "lotse.cli"]


def web_login(client, user: str, password: str, *, expect_ok: bool = True):
    """Log in through the real login form (CSRF token from the page); sets the X-CSRF-Token header that
    every mutating API call needs. Works for TestClient and httpx.Client. Returns the login response."""
    import re

    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/login", data={"username": user, "password": password, "csrf_token": token, "next": "/"},
                    follow_redirects=False)
    if expect_ok:
        assert r.status_code == 303, r.text[:500]
        me = client.get("/api/me").json()
        client.headers["X-CSRF-Token"] = me["csrf_token"]
    return r
