"""The public write API of the knowledge base (``write_records``, ``remove``, ``generation``,
``recover``) against real Chroma and the shipped embedding model.

Interrupted writes are reproduced as the state a ``kill -9`` leaves behind after a given step of the
protocol (:class:`indexer.pipeline.IndexWriter`), made with the stores' own operations; the real
``kill -9`` runs are in test_indexing.py (folders) and test_case_sync.py (e-file cases).
"""

from __future__ import annotations

import hashlib
import sqlite3

from indexer import IndexRecord
from indexer.chunking import Chunk
from indexer.pipeline import chunk_terms


def record(key: str, *texts: str, department: str = "S-I") -> IndexRecord:
    chunks = tuple(
        Chunk(hashlib.sha1(f"{key}\x1f{i}\x1f{t}".encode()).hexdigest(), key, f"Titel {key}", f"Abschnitt {i}",
              (f"Titel {key}", f"Abschnitt {i}"), None, t, i, department, "dokument",
              hashlib.sha256(t.encode()).hexdigest())
        for i, t in enumerate(texts))
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()
    return IndexRecord(key, "test", key, digest, f"Titel {key}", department, "dokument", chunks,
                       tuple(chunk_terms(c, None) for c in chunks))


def ids(rec: IndexRecord) -> set[str]:
    return {c.chunk_id for c in rec.chunks}


def state(kb) -> tuple[set[str], set[str]]:
    return kb.catalog.all_chunk_ids(), kb.vectors.all_ids()


A1 = record("a", "Für fehlende Kontoauszüge ist eine Frist von zwei Wochen zu setzen.",
            "Nach Fristablauf kann die Leistung nach § 66 SGB I versagt werden.")
A2 = record("a", "Für fehlende Kontoauszüge ist eine Frist von drei Wochen zu setzen.",
            "Nach Fristablauf kann die Leistung nach § 66 SGB I versagt werden.")
B = record("b", "Der Mietzuschuss wird für zwölf Monate bewilligt.", department="S-III")


def test_write_replace_remove_and_generation(make_kb):
    kb = make_kb()
    g0 = kb.generation()
    assert kb.write_records([A1, B]) == 3
    g1 = kb.generation()
    assert g1 > g0
    cat, vec = state(kb)
    assert cat == vec == ids(A1) | ids(B)
    assert set(kb.records_under("test")) == {"a", "b"}
    assert kb.records_under("test")["a"].digest == A1.digest

    # replacing a record: the changed chunk's old vector goes, the unchanged chunk keeps its id
    assert kb.write_records([A2]) == 2
    g2 = kb.generation()
    assert g2 > g1
    cat, vec = state(kb)
    assert cat == vec == ids(A2) | ids(B)
    assert ids(A1) & ids(A2) and ids(A1) - ids(A2)
    hits = kb.search("Frist drei Wochen Kontoauszüge", k=3)
    assert hits and hits[0].source == "a"

    assert kb.remove(["a", "gibt-es-nicht"]) == 1
    g3 = kb.generation()
    assert g3 > g2
    cat, vec = state(kb)
    assert cat == vec == ids(B)
    assert set(kb.records_under("test")) == {"b"}
    assert not kb.catalog.pending_changes()

    # generation is the catalog's: another knowledge base on the same data dir sees the same number
    other = make_kb(kb.data_dir)
    assert other.generation() == g3


def test_interrupted_write_before_the_catalog_commit_is_rolled_back_on_the_next_open(make_kb):
    kb = make_kb()
    kb.write_records([A1])
    # killed after step 3 (journal written, new vectors upserted), before the catalog commit
    new = [c for c in A2.chunks if c.chunk_id not in ids(A1)]
    kb.catalog.begin_change(sorted(ids(A1) | ids(A2)))
    kb.vectors.upsert([c.chunk_id for c in new], kb.embedder.embed_documents([c.text for c in new]),
                      [{"department": c.department, "doc_type": c.doc_type, "source": c.source} for c in new])
    g = kb.generation()
    assert kb.vectors.all_ids() == ids(A1) | ids(A2)

    # the next knowledge base replays the journal before its first write
    reopened = make_kb(kb.data_dir)
    reopened.write_records([B])
    cat, vec = state(reopened)
    assert cat == vec == ids(A1) | ids(B)
    assert reopened.records_under("test")["a"].digest == A1.digest
    assert not reopened.catalog.pending_changes()
    assert reopened.generation() == g + 1


def test_interrupted_write_after_the_catalog_commit_is_completed_on_the_next_open(make_kb):
    kb = make_kb()
    kb.write_records([A1, B])
    # killed after step 4 (catalog committed) but before the new vectors of "a" were all there and
    # before the stale ones were deleted: the old vectors still stand, one new one is missing
    kb.catalog.begin_change(sorted(ids(A1) | ids(A2)))
    kb.catalog.replace_files([A2])
    g = kb.generation()
    assert kb.vectors.all_ids() == ids(A1) | ids(B)

    reopened = make_kb(kb.data_dir)
    assert reopened.recover() == 1
    cat, vec = state(reopened)
    assert cat == vec == ids(A2) | ids(B)
    assert not reopened.catalog.pending_changes()
    assert reopened.generation() == g  # nothing new was committed, the committed write was completed
    assert reopened.recover() == 0


def test_interrupted_remove_is_completed_on_the_next_open(make_kb):
    kb = make_kb()
    kb.write_records([A1, B])
    # killed after the catalog commit of a removal, before its vectors were deleted
    kb.catalog.begin_change(sorted(ids(A1)))
    kb.catalog.remove_files(["a"])

    reopened = make_kb(kb.data_dir)
    reopened.remove([])  # nothing to do: no write, so no replay either
    assert reopened.catalog.pending_changes()
    assert reopened.remove(["a"]) == 0  # already gone from the catalog; the journal is replayed first
    cat, vec = state(reopened)
    assert cat == vec == ids(B)
    assert not reopened.catalog.pending_changes()


def test_case_sync_state_of_an_older_data_dir_is_taken_over(make_kb):
    """Data dirs from before the case sync state moved into the catalog kept it in cases.sqlite3."""
    from indexer.cases import CaseState, file_key

    kb = make_kb()
    old = kb.data_dir / "cases.sqlite3"
    db = sqlite3.connect(old)
    db.executescript("""
        CREATE TABLE cases (coo TEXT PRIMARY KEY, file_key TEXT NOT NULL, apentry TEXT, digest TEXT NOT NULL,
                            run_id INTEGER, synced_at REAL NOT NULL);
        CREATE TABLE runs (run_id INTEGER PRIMARY KEY AUTOINCREMENT, scope TEXT NOT NULL, started_at REAL NOT NULL,
                           finished_at REAL, status TEXT NOT NULL, error TEXT);
    """)
    db.execute("INSERT INTO cases VALUES('COO.1', ?, 'AP.1', 'x', 3, 1.0)", (file_key("COO.1"),))
    db.execute("INSERT INTO runs VALUES(3, 'all', strftime('%s','now'), NULL, 'failed', 'HTTP 500')")
    db.commit()
    db.close()

    st = CaseState(kb.catalog, old)
    assert st.cases() == {"COO.1": (None, "AP.1", 3)}  # no record indexed: no digest
    assert st.resumable_run("all", 3600) == 3
    assert st.start_run("all", 3) == 3
    st.finish_run(3, "done")
    # taken over once: a second open leaves the catalog's state alone
    CaseState(kb.catalog, old)
    assert st.resumable_run("all", 3600) is None
    assert old.is_file()
