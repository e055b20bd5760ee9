"""The index catalog on its three homes, one implementation (SQLAlchemy Core): the SQLite file of the data
directory, an SQL database given by URL (tables ``index_*``; SQLite here, no server needed) and a real
PostgreSQL (``LOTSE_TEST_POSTGRES_URL``, set by ``scripts/test.sh``; skipped locally without it, failed
in CI). Also: the writers' lock excludes another process, an older catalog file is taken over into the
database once, and the factory puts the catalog into PostgreSQL only.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest

from indexer.catalog import Catalog
from indexer.catalog_schema import FileWarning, IndexRecord
from indexer.chunking import Chunk
from tests.pg import require_server, throwaway_database
from tests.conftest import ROOT

PG_URL = os.environ.get("LOTSE_TEST_POSTGRES_URL")


@pytest.fixture(scope="module")
def pg_server():
    return require_server(PG_URL)


@pytest.fixture
def pg_url(pg_server):
    with throwaway_database(pg_server, "lotse_i") as url:
        yield url


@pytest.fixture(params=["file", "sqlite-url", "postgresql"])
def catalog_target(request, tmp_path):
    """(kind, how to open a catalog on it)."""
    if request.param == "file":
        return "file", lambda: Catalog(tmp_path / "index.sqlite3")
    if request.param == "sqlite-url":
        url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
        return "url", lambda: Catalog(url=url)
    url = request.getfixturevalue("pg_url")
    return "url", lambda: Catalog(url=url)


def _record(key: str, n: int, text: str = "Text", warnings=()) -> IndexRecord:
    chunks = tuple(Chunk(f"{key}-{i}-{text}", f"{key}.md", "Titel", f"Abschnitt {i}", ("Titel", f"Abschnitt {i} ü"),
                         i or None, f"{text} {i}\x00", i, "S-III", "dokument", "h") for i in range(n))
    return IndexRecord(f"/r::{key}.md", "/r", f"{key}.md", f"d-{text}", "Titel", "S-III", "dokument", chunks,
                       tuple(f"term{i} wort" for i in range(n)), tuple(warnings))


def test_catalog_contract(catalog_target):
    kind, open_catalog = catalog_target
    cat = open_catalog()
    assert cat.shared == (kind == "url")
    g0 = cat.generation()
    pid = cat.begin_change(["b", "a", "a"])
    assert cat.pending_changes() == [(pid, ["a", "b"])]
    cat.replace_files([_record("a", 3, warnings=[FileWarning("steering", "Warnung", "Satz")]), _record("b", 2)])
    cat.end_change(pid)
    assert cat.pending_changes() == []
    assert cat.generation() == g0 + 1
    under = cat.files_under("/r")
    assert set(under) == {"/r::a.md", "/r::b.md"} and under["/r::a.md"].chunk_ids == ("a-0-Text", "a-1-Text", "a-2-Text")
    row = cat.chunks(["a-1-Text"])["a-1-Text"]
    assert row.heading_path == ("Titel", "Abschnitt 1 ü") and row.page == 1
    assert row.text in ("Text 1\x00", "Text 1")  # PostgreSQL text holds no NUL character
    ids, terms, _, _ = cat.all_terms()
    assert ids == ["a-0-Text", "a-1-Text", "a-2-Text", "b-0-Text", "b-1-Text"]  # insertion order
    # replacing a file: its new chunks come last, the old ones are gone
    cat.replace_files([_record("a", 1, "Neu")])
    assert cat.all_terms()[0] == ["b-0-Text", "b-1-Text", "a-0-Neu"]
    assert cat.existing_ids(["a-0-Text", "a-0-Neu"]) == {"a-0-Neu"}
    assert cat.existing_file_keys(["/r::a.md", "/r::x.md"]) == {"/r::a.md"}
    cat.record_error("/r::kaputt.md", "kaputt.md", "Grund")
    st = cat.stats()
    assert (st["documents"], st["chunks"], st["documents_by_department"]) == (2, 3, {"S-III": 2})
    assert st["errors"] == [{"source": "kaputt.md", "reason": "Grund"}] and st["warnings"] == []
    cat.clear_errors_under("/r", keep=set())
    assert cat.stats()["errors"] == []
    cat.set_meta("warnings_version", "1")
    cat.set_meta("warnings_version", "2")
    assert cat.get_meta("warnings_version") == "2"
    # case sync state
    cat.set_case_states([("COO.1", "efile:COO.1", "ap", 1), ("COO.1", "efile:COO.1", "ap2", 1)])
    assert cat.case_states() == {"COO.1": (None, "ap2", 1)}
    run = cat.start_case_run("alle", None)
    assert cat.resumable_case_run("alle", 60) == run
    cat.finish_case_run(run, "done")
    assert cat.resumable_case_run("alle", 60) is None and cat.start_case_run("alle", None) == run + 1
    cat.drop_case_state("COO.1")
    assert cat.case_states() == {}
    # a second catalog object on the same place sees the same state and generation
    other = open_catalog()
    assert other.generation() == cat.generation() and other.all_chunk_ids() == cat.all_chunk_ids()
    with cat.write_lock(), cat.write_lock():  # re-entrant
        cat.remove_files(["/r::a.md"])
    assert other.all_chunk_ids() == {"b-0-Text", "b-1-Text"}
    g = other.generation()
    other.clear()
    assert cat.stats()["documents"] == 0 and cat.generation() == g + 1


_HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from indexer.catalog import Catalog
    target = sys.argv[1]
    cat = Catalog(url=target) if "://" in target else Catalog(Path(target))
    with cat.write_lock():
        print("locked", flush=True)
        time.sleep(float(sys.argv[2]))
""")


def test_write_lock_excludes_another_process(catalog_target, tmp_path):
    kind, open_catalog = catalog_target
    cat = open_catalog()
    target = str(cat.path) if cat.path else cat.engine.url.render_as_string(hide_password=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, target, "2.0"], stdout=subprocess.PIPE, text=True,
                              env=env, cwd=tmp_path)
    try:
        assert holder.stdout.readline().strip() == "locked"
        t0 = time.monotonic()
        with cat.write_lock():
            waited = time.monotonic() - t0
        assert waited > 1.0, waited  # waited for the other process to let go
    finally:
        holder.wait(timeout=30)


def test_file_catalog_is_taken_over_into_the_database_once(tmp_path, pg_url):
    old = Catalog(tmp_path / "index.sqlite3")
    old.replace_files([_record("a", 2), _record("b", 1)])
    run = old.start_case_run("alle", None)
    db = Catalog(url=pg_url)
    assert db.adopt_file_catalog(tmp_path / "index.sqlite3")
    assert db.all_chunk_ids() == old.all_chunk_ids() and db.stats()["documents"] == 2
    # every taken-over chunk is journaled: the next writer embeds those the vector store lacks
    assert sorted(db.pending_changes()[-1][1]) == sorted(old.all_chunk_ids())
    assert db.start_case_run("alle", None) == run + 1  # the sequence continues above the copied runs
    assert not db.adopt_file_catalog(tmp_path / "index.sqlite3")  # once


def test_factory_puts_the_catalog_into_postgresql_only(tmp_path):
    from lotse.factory import catalog_database_url
    from lotse.settings import load_settings

    assert catalog_database_url(load_settings(data_dir=tmp_path)) is None
    assert catalog_database_url(load_settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path}/x.db")) is None
    url = "postgresql+psycopg://lotse:pw@db.example/lotse"
    assert catalog_database_url(load_settings(data_dir=tmp_path, database_url=url)) == url


def test_knowledge_base_on_postgresql(tmp_path, pg_url, embedder):
    from indexer import IndexConfig, KnowledgeBase

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# Wohngeld\n\n## Antrag\n\nDer Antrag auf Wohngeld wird schriftlich gestellt.\n",
                                 encoding="utf-8")
    kb = KnowledgeBase(IndexConfig(embedding_max_tokens=32), tmp_path / "data", embedder=embedder, database_url=pg_url)
    assert kb.catalog.shared and not (tmp_path / "data" / "index.sqlite3").exists()
    report = kb.index(folder, progress=False)
    assert report.added == 1 and not report.errors
    other = KnowledgeBase(IndexConfig(embedding_max_tokens=32), tmp_path / "other", embedder=embedder,
                          database_url=pg_url)
    assert other.stats()["documents"] == 1  # the catalog is the database's, not the data directory's
    hits = other.search("Wohngeld Antrag", 3, mode="lexical")
    assert hits and hits[0].source == "a.md"
    kb.catalog.engine.dispose()
    other.catalog.engine.dispose()


def test_cli_rebuild_on_the_embedded_default(tmp_path, run_lotse):
    """``--rebuild`` removes index.sqlite3 and chroma/ and indexes again in the same process (chromadb's
    cached client of the removed folder is let go first)."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# Wohngeld\n\n## Antrag\n\nDer Antrag wird schriftlich gestellt.\n", encoding="utf-8")
    env = {"LOTSE_INDEX__EMBEDDING_MAX_TOKENS": "32"}
    for args in (["index", str(folder)], ["index", "--rebuild", str(folder)]):
        r = run_lotse(args, env=env)
        assert r.returncode == 0 and "1 neu" in r.stdout, r.stdout + r.stderr
    r = run_lotse(["stats", "--verify"], env=env)
    assert r.returncode == 0, r.stdout + r.stderr


def test_cli_rebuild_empties_the_catalog_in_the_database(tmp_path, pg_url, run_lotse):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# Wohngeld\n\n## Antrag\n\nDer Antrag wird schriftlich gestellt.\n", encoding="utf-8")
    env = {"LOTSE_DATABASE_URL": pg_url, "LOTSE_INDEX__EMBEDDING_MAX_TOKENS": "32"}
    r = run_lotse(["index", str(folder)], env=env)
    assert r.returncode == 0 and "1 neu" in r.stdout, r.stdout + r.stderr
    cat = Catalog(url=pg_url)
    g = cat.generation()
    r = run_lotse(["index", "--rebuild", str(folder)], env=env)
    assert r.returncode == 0 and "1 neu" in r.stdout, r.stdout + r.stderr  # indexed again, not "unverändert"
    assert cat.generation() > g and cat.stats()["documents"] == 1
    cat.engine.dispose()
