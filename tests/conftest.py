"""Shared fixtures: a clean LOTSE_* environment, data under tmp_path, the shipped model loaded once,
the demo corpus indexed once per session (copied where a test needs an indexed data dir), and the
``lotse`` command run in this process."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
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


def _demo_index_key(embedder) -> str:
    """What the built demo index depends on: every file of the indexer and connectors packages (code, demo
    corpus, catalog), the embedding model and the Chroma version. A change to any of them builds it anew."""
    import hashlib

    import chromadb

    h = hashlib.sha256(f"{embedder.model_id}|{chromadb.__version__}|{sys.version_info[:2]}".encode())
    for package in ("indexer", "connectors"):
        for path in sorted((ROOT / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                h.update(str(path.relative_to(ROOT)).encode())
                h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _build_demo_index(data: Path, embedder) -> None:
    from indexer import DEMO_CORPUS, IndexConfig, KnowledgeBase

    kb = KnowledgeBase(IndexConfig(), data, embedder=embedder)
    report = kb.index(DEMO_CORPUS, progress=False)
    assert report.errors == [] and report.added > 0, report
    assert kb.vectors.count() == kb.catalog.stats()["chunks"] > 0


@pytest.fixture(scope="session")
def demo_index(tmp_path_factory, embedder) -> Path:
    """A data dir holding the bundled demo corpus indexed with the shipped model.

    It is a template: never open a KnowledgeBase on it; copy it (``copy_demo_index``, ``demo_kb_copy``,
    ``demo_data_dir``). Copying the data dir takes well under a second, embedding the corpus a minute.
    Built once and kept in ``.pytest_cache/lotse-demo-index/<key>`` (one build for all xdist workers and
    later runs); the key hashes everything the index depends on, so a stale template is never used.
    ``LOTSE_TEST_FRESH_INDEX=1`` builds it in a temporary directory instead.
    """
    if os.environ.get("LOTSE_TEST_FRESH_INDEX") == "1":
        data = tmp_path_factory.mktemp("demo-index") / "data"
        _build_demo_index(data, embedder)
        return data
    from filelock import FileLock

    cache = ROOT / ".pytest_cache" / "lotse-demo-index"
    cache.mkdir(parents=True, exist_ok=True)
    key = _demo_index_key(embedder)
    data = cache / key / "data"
    with FileLock(str(cache / f"{key}.lock")):
        if not (cache / key / "complete").exists():
            shutil.rmtree(cache / key, ignore_errors=True)
            for old in cache.iterdir():  # templates of older code
                if old.is_dir():
                    shutil.rmtree(old, ignore_errors=True)
            _build_demo_index(data, embedder)
            (cache / key / "complete").write_text("ok\n")
    return data


def copy_demo_index(template: Path, target: Path) -> Path:
    """Copy the demo index template into the data dir ``target`` (new or empty)."""
    shutil.copytree(template, target, dirs_exist_ok=True)
    return target


def demo_kb_copy(demo_index: Path, data_dir: Path, embedder, **cfg):
    """A KnowledgeBase on a private copy of the demo index (for module-scoped fixtures)."""
    from indexer import IndexConfig, KnowledgeBase

    return KnowledgeBase(IndexConfig(**cfg), copy_demo_index(demo_index, data_dir), embedder=embedder)


@pytest.fixture
def demo_data_dir(demo_index, tmp_path) -> Path:
    """This test's LOTSE_DATA_DIR (``tmp_path/data``), already holding the indexed demo corpus."""
    return copy_demo_index(demo_index, tmp_path / "data")


def run_lotse_in_process(args: list[str], env: dict[str, str | None] | None = None, stdin: str | None = None,
                         cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``lotse ARGS`` in this process (``lotse.cli.main``, the code path of the command) and return a
    ``subprocess.CompletedProcess`` with the exit code and the captured stdout/stderr.

    The environment is the test's LOTSE_* variables (as the ``_clean_env`` fixture leaves them) changed by
    ``env`` (value: set, None: removed); ``stdin`` is the text the command reads from stdin; ``cwd`` the
    working directory (default: the test's, ``tmp_path``). Saves the
    start of a Python process that imports torch (15-25 s on the 2-core machine). Tests that need a real
    process (kill -9, one smoke test per command) use ``lotse_cmd()``.
    """
    from lotse.cli import main

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as m:
        for key, value in (env or {}).items():
            if value is None:
                m.delenv(key, raising=False)
            else:
                m.setenv(key, value)
        m.setattr(sys, "stdin", io.StringIO(stdin or ""))
        if cwd is not None:
            m.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(list(args))
            except SystemExit as exc:  # argparse: usage errors exit 2
                rc = exc.code if isinstance(exc.code, int) else 1
    return subprocess.CompletedProcess(["lotse", *args], rc, out.getvalue(), err.getvalue())


@pytest.fixture
def run_lotse():
    """``run_lotse(args, env=..., stdin=...)``: ``lotse ARGS`` in this process, see ``run_lotse_in_process``."""
    return run_lotse_in_process


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
