"""Case sync (indexer/cases.py + indexer/pii.py) against the e-file double as a real process.

(a) planted personal data: 1,000 generated cases, synced with scrubbed free text switched ON (the
    stricter mode: the default record is a subset of it); no planted value may appear in any file
    of the data directory (catalog, cases.sqlite3, Chroma's sqlite and binary segment files, the
    captured log), searched as bytes, case-insensitive, also umlaut-folded and without spaces.
(b) incremental: a second sync skips everything; filing an Erledigung changes exactly one case;
    a case the e-file no longer returns is removed.
(c) faults: the e-file fails mid-sync -> German error in the report, nothing removed; the rerun
    resumes and ends with exactly the index of a clean sync (same chunk ids in catalog and Chroma).
(d) search: "Wohngeld Akte" in S-III finds case records (doc_type "akte") without planted values.
(e) isolation: ``lotse sync-cases`` as a real process (the reading runs in its own child process,
    indexer/case_reader.py) leaves no planted value in ANY file of its data directory, Chroma's
    HNSW files included; the child's answers hold only scrubbed records; connector errors and a
    crash of the child end in the German report, and the next run resumes.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import pickle
import re
import signal
import sqlite3
import subprocess
from pathlib import Path

import pytest

from connectors.efile.config import EFileConfig
from connectors.efile.double.generator import generate_cases
from connectors.efile.procedures import PROCEDURE_TYPES
from indexer.analysis import fold
from indexer.case_reader import ChildReader
from indexer.cases import CaseSync, file_key, run_sync
from indexer.pii import CaseRecord, CaseRecordBuilder
from tests.conftest import lotse_cmd

try:
    from tests.integration.efile_fixtures import TECH_USER, DoubleProcess, efile_double_factory, make_client
except ImportError:  # pragma: no cover - depends on how pytest puts tests on sys.path
    from efile_fixtures import TECH_USER, DoubleProcess, efile_double_factory, make_client  # type: ignore

__all__ = ["efile_double_factory"]  # re-exported fixture

pytestmark = pytest.mark.slow

BIG_N, BIG_SEED = 1000, 11
SMALL_N, SMALL_SEED = 40, 5
# Planted values shorter than this are not searched: a 5-character string ("Ahmad", a house
# number) also occurs by chance in binary vector files and in legitimate text. The generator's
# values are full names, dates, IBANs etc., so in practice nothing is skipped (asserted below).
MIN_LEN = 6


# -- helpers ------------------------------------------------------------------------------------


def _variants(value: str) -> set[bytes]:
    out = set()
    for v in (value, fold(value), re.sub(r"\s+", "", value), fold(re.sub(r"\s+", "", value))):
        if len(v) >= MIN_LEN:
            out.add(v.lower().encode("utf-8"))
    return out


def _finder(words: set[bytes]):
    """``find(blob)``: every occurrence (overlapping ones too) of many literals in a byte string.
    Aho-Corasick (ahocorasick-rs): ~150 MB/s on binary process memory, where a trie-shaped regex
    managed 15 (the memory scans below read several hundred MB)."""
    import ahocorasick_rs

    patterns = sorted(words)
    automaton = ahocorasick_rs.BytesAhoCorasick(patterns)

    def find(blob: bytes) -> list[bytes]:
        return [patterns[i] for i, _, _ in automaton.find_matches_as_indexes(blob, overlapping=True)]

    return find


# Chroma's persisted HNSW segment files. Observed in CI: data_level0.bin of a case sync once held
# planted values (a date of birth, a tax id) although Lotse never passes text to Chroma's vector
# store: hnswlib writes buffers that contain uninitialised process memory, and the same process had
# just read case JSON from the e-file. Fixed structurally: ``lotse sync-cases`` reads and scrubs the
# cases in a separate child process (indexer/case_reader.py), so the writing process never holds
# raw case data; test_hnsw_files_hold_no_process_memory runs the real CLI and scans every file.
# The other scans here run the sync inside pytest, which itself generated (holds) the planted values,
# so Chroma's HNSW files may carry them from pytest's own memory: those scans leave them out.
HNSW_FILES = {"data_level0.bin", "link_lists.bin", "header.bin", "length.bin"}
HNSW_METADATA = "index_metadata.pickle"  # written by Chroma whenever it persists the HNSW index


def _leaks(data_dir: Path, planted, *, include_hnsw: bool = False) -> list[tuple[str, str, str]]:
    """(file, category, value) for every planted value found in any file under data_dir
    (Chroma's HNSW segment files only with ``include_hnsw``, see HNSW_FILES)."""
    by_variant: dict[bytes, tuple[str, str]] = {}
    for p in planted:
        for v in _variants(p.value):
            by_variant[v] = (p.category, p.value)
    find = _finder(set(by_variant))
    found = []
    files = [f for f in data_dir.rglob("*") if f.is_file() and (include_hnsw or f.name not in HNSW_FILES)]
    assert files
    for f in files:
        blob = f.read_bytes().lower()
        for hit in find(blob):
            cat, value = by_variant[hit]
            found.append((str(f.relative_to(data_dir)), cat, value))
    return found


def _memory_hits(pid: int, planted, contexts: dict[str, bytes] | None = None) -> tuple[dict[str, int], int]:
    """Planted values (8+ characters, as UTF-8 and as CPython keeps str objects: Latin-1, UCS-2,
    UCS-4) in the anonymous memory (heap, stacks, anonymous mappings) of process ``pid``.
    Linux only; the caller must be allowed to read /proc/<pid>/mem (pid is our child).
    Returns the hits and the number of bytes read; ``contexts`` (if given) receives the bytes around each
    value's first hit, so that a failure shows where the value sits (which object, which text)."""
    encoded: dict[bytes, str] = {}
    for p in planted:
        if len(p.value) < 8:
            continue
        for enc in ("utf-8", "latin-1", "utf-16-le", "utf-32-le"):
            try:
                encoded[p.value.encode(enc)] = p.value
            except UnicodeEncodeError:
                pass
    find = _finder(set(encoded))
    hits: dict[str, int] = {}
    scanned = 0
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            parts = line.split()
            if "r" not in parts[1] or (len(parts) > 5 and not parts[5].startswith("[")):
                continue  # unreadable, or a mapped file (libraries, model weights)
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            try:
                mem.seek(lo)
                chunk = mem.read(hi - lo)
            except (OSError, ValueError, OverflowError):
                continue  # e.g. [vvar]
            scanned += len(chunk)
            for hit in find(chunk):
                value = encoded[hit]
                hits[value] = hits.get(value, 0) + 1
                if contexts is not None and value not in contexts:
                    i = chunk.find(hit)
                    contexts[value] = chunk[max(0, i - 160):i + len(hit) + 160]
    return hits, scanned


def _efile_cfg(double: DoubleProcess) -> EFileConfig:
    """The configuration ``lotse sync-cases`` would build for the double (as make_client)."""
    return EFileConfig(kind="eakte_rest", url=double.base_url, user=TECH_USER[0], password=TECH_USER[1],
                       timeout_s=15.0, retries=2, userlogin="max.mustermann", joboe="COO.1.2300.1.847")


def _catalog_ids(kb) -> set[str]:
    return {r[0] for r in kb.catalog._conn().execute("SELECT chunk_id FROM chunks WHERE doc_type='akte'")}


def _index_state(kb) -> tuple[set[str], set[str], int]:
    rows = kb.catalog._conn().execute("SELECT chunk_id FROM chunks WHERE doc_type='akte'").fetchall()
    return {r[0] for r in rows}, kb.vectors.all_ids(), len(rows)


class HashEmbedder:
    """Deterministic bag-of-words hashing vectors (384 dims); stands in for the transformer."""

    model_id = "hash-test@384"
    dim = 384

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        import hashlib
        import math

        out = []
        for text in texts:
            vec = [0.0] * self.dim
            for word in re.findall(r"\w+", text.lower()):
                h = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "little")
                vec[h % self.dim] += 1.0 if h & 1 << 31 else -1.0
            norm = math.sqrt(sum(v * v for v in vec)) or 1.0
            out.append([v / norm for v in vec])
        return out

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]


# -- (a) + (d): 1,000 cases -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_double(tmp_path_factory):
    """The e-file double with the 1,000 generated cases (read-only for every user of it)."""
    tmp = tmp_path_factory.mktemp("casesync-double")
    double = DoubleProcess(tmp / "eakte.sqlite3", ["--generate", str(BIG_N), "--seed", str(BIG_SEED)]).start(
        timeout=120)
    yield double
    double.stop()


@pytest.fixture(scope="module")
def big(tmp_path_factory, big_double):
    from indexer import IndexConfig, KnowledgeBase

    tmp = tmp_path_factory.mktemp("casesync-big")
    data_dir = tmp / "data"
    # The transformer embeds only ~10-20 records/s on a 2-core CPU (1,000 records: ~110 s), and the
    # static embedder needs ~2 minutes to distil. This test is about personal data: vectors are floats
    # and cannot carry text, while Chroma's metadata and the catalog are the same with any embedder.
    # So the 1,000-case run uses a hashing embedder; the transformer (session `embedder`) is used by
    # the incremental and fault tests below, including a search.
    kb = KnowledgeBase(IndexConfig(), data_dir, embedder=HashEmbedder())
    # every log record of the sync (all loggers, DEBUG) goes to a file in the data dir, which is scanned
    handler = logging.FileHandler(data_dir / "sync.log", encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    # the production path: cases read in the isolated child process (its log records come back here)
    sync = CaseSync(kb, _efile_cfg(big_double), builder=CaseRecordBuilder(include_free_text=True))
    try:
        report = sync.sync(progress=True)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
        sync.close()
    _, planted = generate_cases(BIG_N, BIG_SEED)
    return kb, report, planted, data_dir


def test_big_sync_complete(big):
    kb, report, planted, _ = big
    cases, _ = generate_cases(BIG_N, BIG_SEED)
    active = [c for c in cases if c.get("state") != "Storniert"]
    assert report.ok, report.error
    assert report.complete and not report.truncated
    assert report.added == len(active) == report.cases_found
    assert len(_catalog_ids(kb)) == len(active)
    assert (Path(big[3]) / "sync.log").stat().st_size > 0


def test_no_planted_value_anywhere_in_data_dir(big):
    kb, report, planted, data_dir = big
    assert len(planted) > 10 * BIG_N * 0.9
    skipped = [p for p in planted if len(p.value) < MIN_LEN]
    assert not skipped, f"{len(skipped)} planted values too short to search"
    cats = {p.category for p in planted}
    assert cats >= {"name", "geburtsdatum", "anschrift", "iban", "telefon", "email", "steuer_id", "sv_nummer",
                    "gesundheit"}
    leaks = _leaks(data_dir, planted)
    assert not leaks, f"{len(leaks)} planted values found, e.g. {leaks[:5]}"


def test_no_planted_name_in_lexical_terms(big):
    """Names must not survive as analysed index terms either (lower-cased, folded, stemmed)."""
    from indexer.analysis import analyze

    kb, _, planted, _ = big
    chunk_terms = {}
    for key, t in kb.catalog._conn().execute("SELECT file_key, terms FROM chunks WHERE doc_type='akte'"):
        chunk_terms[key.split("::", 1)[1]] = set(t.split())
    all_terms = set().union(*chunk_terms.values())
    leaked = set()
    for p in planted:
        if p.category != "name":
            continue
        toks = analyze(p.value, compounds=False)
        # a surname as a term anywhere (first names alone also name places: "St. Anna"), or the
        # whole name in the record of its own case
        if toks and len(toks[-1]) >= 4 and toks[-1] in all_terms:
            leaked.add(p.value)
        if toks and set(toks) <= chunk_terms.get(p.case_coo, set()):
            leaked.add(p.value)
    assert not leaked, sorted(leaked)[:20]


def test_scrubbed_free_text_was_indexed(big):
    """The stress mode really put scrubbed subjects into the index (placeholders present)."""
    kb, _, _, _ = big
    row = kb.catalog._conn().execute(
        "SELECT count(*) FROM chunks WHERE doc_type='akte' AND text LIKE '%[NAME]%'").fetchone()
    assert row[0] > BIG_N * 0.5


def test_search_finds_case_records_without_personal_data(big):
    kb, _, planted, _ = big
    hits = kb.search("Wohngeld Akte", departments=["S-III"], k=10)
    assert hits
    assert all(h.doc_type == "akte" and h.department == "S-III" for h in hits)
    assert all(h.source.startswith("efile:S-III-WG/") and h.title.startswith("Akte S-III-WG/") for h in hits)
    assert all(h.section == "Wohngeld" for h in hits)
    values = [p.value.lower() for p in planted if len(p.value) >= MIN_LEN]
    for h in hits:
        low = h.text.lower()
        assert not [v for v in values if v in low]
    other = kb.search("Unterhaltsvorschuss Akte", departments=["S-II"], k=5)
    assert other and all(h.department == "S-II" and h.doc_type == "akte" for h in other)


# -- (b) incremental -------------------------------------------------------------------------------


def _small_double(efile_double_factory, tmp_path, cases, name="eakte.sqlite3") -> DoubleProcess:
    cases_file = tmp_path / f"{name}.json"
    cases_file.write_text(json.dumps({"cases": cases}, ensure_ascii=False), encoding="utf-8")
    return efile_double_factory(tmp_path / name, ["--cases", str(cases_file)])


def _active_procedure(cases) -> tuple[str, str]:
    """(case coo, procedure coo) of a non-cancelled case with an open procedure."""
    for c in cases:
        if c.get("state") == "Storniert":
            continue
        for p in c["procedures"]:
            if p.get("state", "In Bearbeitung") == "In Bearbeitung":
                return c["coo"], p["coo"]
    raise AssertionError("no open procedure")


def test_incremental_sync(efile_double_factory, make_kb, tmp_path):
    cases, planted = generate_cases(SMALL_N, SMALL_SEED)
    active = [c for c in cases if c.get("state") != "Storniert"]
    double = _small_double(efile_double_factory, tmp_path, cases)
    kb = make_kb()
    client = make_client(double.base_url)
    sync = CaseSync(kb, client)
    first = sync.sync()
    assert first.ok and first.added == len(active) and first.updated == first.removed == 0

    double.reset_stats()
    second = sync.sync()
    assert second.ok
    assert (second.added, second.updated, second.removed, second.unchanged) == (0, 0, 0, len(active))
    assert second.chunks_written == 0
    assert double.requests("POST /api/outgoings") == 0

    case_coo, proc_coo = _active_procedure(cases)
    before = {r[0]: r[1] for r in kb.catalog._conn().execute(
        "SELECT file_key, group_concat(chunk_id) FROM chunks WHERE doc_type='akte' GROUP BY file_key")}
    receipt = client.file_outgoing(proc_coo, "Mitwirkungsaufforderung", "Bitte Unterlagen nachreichen",
                                   "mitwirkung.txt", b"Bitte reichen Sie die Unterlagen nach.", "test-case-sync-1")
    assert receipt.objid
    third = sync.sync()
    assert third.ok
    assert (third.added, third.updated, third.removed, third.unchanged) == (0, 1, 0, len(active) - 1)
    after = {r[0]: r[1] for r in kb.catalog._conn().execute(
        "SELECT file_key, group_concat(chunk_id) FROM chunks WHERE doc_type='akte' GROUP BY file_key")}
    changed = {k for k in after if after[k] != before.get(k)}
    assert changed == {file_key(case_coo)}
    assert before[file_key(case_coo)] not in kb.vectors.all_ids()  # old vector gone
    row = kb.catalog._conn().execute("SELECT text FROM chunks WHERE file_key=?", (file_key(case_coo),)).fetchone()
    assert "Mitwirkungsaufforderung" in row[0]
    catalog_ids, vector_ids, n = _index_state(kb)
    assert catalog_ids == vector_ids and n == len(active)
    hits = kb.search("Wohngeld Akte", departments=["S-III"], k=3)  # real transformer vectors here
    assert hits and all(h.doc_type == "akte" and h.section == "Wohngeld" for h in hits)
    sync.close()
    client.close()

    # the e-file no longer returns three cases (e.g. cancelled): they leave the index
    gone = [c["coo"] for c in active[:3]]
    rest = [c for c in cases if c["coo"] not in gone]
    double2 = _small_double(efile_double_factory, tmp_path, rest, name="eakte2.sqlite3")
    client2 = make_client(double2.base_url)
    sync2 = CaseSync(kb, client2)
    fourth = sync2.sync()
    assert fourth.ok and fourth.removed == 3
    assert not {file_key(c) for c in gone} & set(kb.catalog.files_under("efile"))
    catalog_ids, vector_ids, n = _index_state(kb)
    assert catalog_ids == vector_ids and n == len(active) - 3
    # the default record (no free text at all) carries no planted value either
    assert not _leaks(kb.data_dir, planted)
    sync2.close()
    client2.close()


# -- (e) isolation ---------------------------------------------------------------------------------


def test_hnsw_files_hold_no_process_memory(big_double, tmp_path):
    """``lotse sync-cases`` as a real process: no planted value in any file of its data directory,
    nor in the memory of that process once all cases are written.

    Only a separate process proves this: pytest itself generated the planted values. The CLI indexes
    the demo corpus (~350 chunks) and then the ~950 cases; Chroma persists its HNSW index every 1,000
    vectors (``hnsw:sync_threshold``), so the HNSW files are written again while cases are being
    synced, after the first ones were read (asserted below). Before the fix the reading ran in the
    same process and such a write could carry fragments of the raw case JSON. The embedder reads 32
    tokens per text here instead of 128 (a setting): four times less CPU, the same files and memory
    to scan — vectors are floats either way.
    """
    cases, planted = generate_cases(BIG_N, BIG_SEED)
    active = [c for c in cases if c.get("state") != "Storniert"]
    data_dir = tmp_path / "cli-data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOTSE_")}
    env.update(LOTSE_DATA_DIR=str(data_dir), LOTSE_EFILE_KIND="eakte_rest", LOTSE_EFILE_URL=big_double.base_url,
               LOTSE_EFILE_USER=TECH_USER[0], LOTSE_EFILE_PASSWORD=TECH_USER[1],
               LOTSE_EFILE_USERLOGIN="max.mustermann", LOTSE_EFILE_JOBOE="COO.1.2300.1.847",
               LOTSE_EFILE_TIMEOUT_S="20", LOTSE_LOG_LEVEL="INFO", LOTSE_INDEX__EMBEDDING_MAX_TOKENS="32")
    proc = subprocess.Popen(lotse_cmd() + ["sync-cases", "--json"], env=env, cwd=tmp_path, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stderr: list[str] = []
    baseline: dict[str, int] | None = None
    memory_hits: dict[str, int] | None = None
    contexts: dict[str, bytes] = {}
    scanned = 0
    try:
        assert proc.stderr is not None and proc.stdout is not None
        for line in proc.stderr:
            stderr.append(line)
            if "indexer.cases: case sync run" not in line:
                continue
            if baseline is None and "cases listed" in line:
                # control: before any case is read (libraries' own strings may match short values,
                # e.g. ISO dates in docstrings)
                os.kill(proc.pid, signal.SIGSTOP)
                try:
                    baseline, _ = _memory_hits(proc.pid, planted)
                finally:
                    os.kill(proc.pid, signal.SIGCONT)
            elif memory_hits is None and "added=" in line:
                # every case is written now: freeze the writing process and read its memory
                os.kill(proc.pid, signal.SIGSTOP)
                try:
                    memory_hits, scanned = _memory_hits(proc.pid, planted, contexts)
                finally:
                    os.kill(proc.pid, signal.SIGCONT)
        stdout = proc.stdout.read()
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    out = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, "".join(stderr))
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    assert report["error"] is None and report["complete"], report
    assert report["added"] == report["cases_found"] == len(active)

    # precondition: the HNSW index on disk was (re)written during the case sync: it holds case vectors
    segments = list(data_dir.rglob(HNSW_METADATA))
    assert len(segments) == 1, "Chroma never persisted its HNSW index: the scan would prove nothing"
    with segments[0].open("rb") as fh:
        persisted = pickle.load(fh)
    with sqlite3.connect(data_dir / "index.sqlite3") as db:
        policy_chunks = db.execute("SELECT count(*) FROM chunks WHERE doc_type != 'akte'").fetchone()[0]
    id_to_label = persisted["id_to_label"] if isinstance(persisted, dict) else persisted.id_to_label
    assert len(id_to_label) > policy_chunks + 100
    hnsw = {f.name: f.stat().st_size for f in segments[0].parent.iterdir() if f.name in HNSW_FILES}
    assert hnsw.get("data_level0.bin", 0) > 0, hnsw

    # ALL files, the HNSW files included, every planted value
    leaks = _leaks(data_dir, planted, include_hnsw=True)
    assert not leaks, f"{len(leaks)} planted values found, e.g. {leaks[:5]}"
    printed = (out.stdout + out.stderr).lower()
    assert not [p.value for p in planted if len(p.value) >= MIN_LEN and p.value.lower() in printed]

    # and the point of it all: the process that wrote Chroma never held the raw cases (before the fix,
    # hundreds of the planted values were found in its memory at this point)
    assert baseline is not None and memory_hits is not None, "log lines of the case sync not seen"
    assert scanned > 100_000_000, f"only {scanned} bytes read: had the process already ended?"
    assert len(baseline) <= 10, baseline  # chance matches only, the check keeps its power
    new = sorted(set(memory_hits) - set(baseline))
    assert not new, (f"{len(new)} planted values in the writer's memory, e.g. {new[:5]}; around them: "
                     + "; ".join(repr(contexts.get(v, b"")) for v in new[:3]))


def test_child_reader_answers_hold_only_scrubbed_records(big_double):
    """Everything the reader process sends to the writing process, byte for byte: COO addresses,
    counts and records made by CaseRecordBuilder (free text on, scrubbed), nothing else."""
    _, planted = generate_cases(BIG_N, BIG_SEED)
    reader = ChildReader(_efile_cfg(big_double), CaseRecordBuilder(include_free_text=True), workers=4).start()
    received: list[bytes] = []

    class Tap:
        def __init__(self, stream):
            self.stream = stream

        def readline(self) -> bytes:
            line = self.stream.readline()
            received.append(line)
            return line

        def close(self) -> None:
            self.stream.close()

    try:
        reader._proc.stdout = Tap(reader._proc.stdout)
        coos: list[str] = []
        for p in PROCEDURE_TYPES:
            found, hits = reader.search(p.apentry_coo)
            assert hits == len(found)
            coos += found
        assert len(coos) > 300
        records = []
        for i in range(0, 300, 50):
            results, failure = reader.read(coos[i:i + 50])
            assert failure is None
            records += [r.record for r in results if r.record is not None]
        assert reader.import_warnings() == []
    finally:
        reader.close()
    assert records and all(type(r) is CaseRecord for r in records)
    assert any("[NAME]" in t for r in records for t in r.free_text)  # free text came, scrubbed
    answers = [json.loads(line) for line in received]
    for a in answers:
        assert set(a) <= {"ok", "log", "error"} and "error" not in a
        for r in (a.get("ok") or {}).get("results", ()):
            assert set(r) == {"coo", "apentry", "record"}
            assert set(r["record"]) == {f.name for f in dataclasses.fields(CaseRecord)}
    blob = b"".join(received).lower()
    values = {v for p in planted for v in _variants(p.value)}
    assert not [v for v in values if v in blob]


def test_isolated_sync_errors_crash_and_resume(efile_double_factory, make_kb, tmp_path):
    """Errors of the reader process end in the German report; the next run resumes."""
    cases, _ = generate_cases(SMALL_N, SMALL_SEED + 2)
    active = [c for c in cases if c.get("state") != "Storniert"]
    double = _small_double(efile_double_factory, tmp_path, cases)
    kb = make_kb()
    sync = CaseSync(kb, _efile_cfg(double), batch_size=10, workers=2)
    pids: list[int] = []
    state = {"n": 0, "action": None}

    def on_case(coo: str) -> None:
        if sync._reader.pid not in pids:
            pids.append(sync._reader.pid)
        state["n"] += 1
        if state["n"] == 10 and state["action"]:
            state["action"]()

    # a connector error inside the child (every case read fails with HTTP 500, after retries)
    state["action"] = lambda: double.set_faults(error_rate_500=1.0, match="GET /api/files")
    failed = sync.sync(on_case=on_case)
    assert not failed.ok and not failed.complete
    assert failed.error.startswith("Abgleich mit der E-Akte abgebrochen nach 10 von ")
    assert "HTTP 500" in failed.error and "nichts entfernt" in failed.error
    assert failed.added == 10 and failed.removed == 0 and len(_catalog_ids(kb)) == 10

    # the child dies mid-sync (killed): the same kind of report, nothing removed
    double.clear_faults()
    state["n"] = 0
    state["action"] = lambda: os.kill(sync._reader.pid, signal.SIGKILL)
    crashed = sync.sync(on_case=on_case)
    assert not crashed.ok and crashed.resumed and crashed.resumed_skipped == 10
    assert crashed.error.startswith("Abgleich mit der E-Akte abgebrochen nach 10 von ")
    assert "Leseprozess" in crashed.error and "unerwartet beendet" in crashed.error
    assert "nichts entfernt" in crashed.error and "setzt an dieser Stelle fort" in crashed.error
    assert crashed.removed == 0 and len(_catalog_ids(kb)) == 20

    state["action"] = None
    resumed = sync.sync(on_case=on_case)
    assert resumed.ok and resumed.complete and resumed.resumed and resumed.resumed_skipped == 20
    assert resumed.added == len(active) - 20 and resumed.removed == 0
    cat, vec, n = _index_state(kb)
    assert cat == vec and n == len(active)
    again = sync.sync()
    assert again.ok and not again.resumed and again.unchanged == len(active)
    sync.close()

    # one child per run, and none outlives its run
    assert len(pids) == 3
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)

    # the CLI path: always the child; an e-file that is switched off is a German message
    off = run_sync(kb, EFileConfig())
    assert not off.ok and "nicht angebunden" in off.error


# -- (c) faults ------------------------------------------------------------------------------------


def test_fault_mid_sync_then_resume_equals_clean_sync(efile_double_factory, make_kb, tmp_path):
    cases, _ = generate_cases(SMALL_N, SMALL_SEED + 1)
    active = [c for c in cases if c.get("state") != "Storniert"]
    double = _small_double(efile_double_factory, tmp_path, cases)
    kb = make_kb()
    client = make_client(double.base_url)
    sync = CaseSync(kb, client, batch_size=10, workers=2)

    # first batch of 10 goes through; then every case read fails with HTTP 500 (after retries)
    state = {"n": 0}

    def on_case(coo: str) -> None:
        state["n"] += 1
        if state["n"] == 10:
            double.set_faults(error_rate_500=1.0, match="GET /api/files")

    failed = sync.sync(on_case=on_case)
    assert not failed.ok and not failed.complete
    assert "abgebrochen" in failed.error and "E-Akte" in failed.error
    assert "HTTP 500" in failed.error and "nichts entfernt" in failed.error
    assert failed.added == 10 and failed.removed == 0
    assert len(_catalog_ids(kb)) == 10

    # while the search itself fails, nothing is removed either
    double.set_faults(reset=True, error_rate_500=1.0, match="POST /api/files")
    failed2 = sync.sync()
    assert not failed2.ok and "Aktensuche" in failed2.error and failed2.removed == 0
    assert len(_catalog_ids(kb)) == 10

    double.clear_faults()
    resumed = sync.sync()
    assert resumed.ok and resumed.complete and resumed.resumed
    assert resumed.resumed_skipped == 10
    assert resumed.added == len(active) - 10 and resumed.removed == 0
    sync.close()
    client.close()

    clean_kb = make_kb(data_dir=tmp_path / "clean")
    clean_client = make_client(double.base_url)
    clean_sync = CaseSync(clean_kb, clean_client)
    clean = clean_sync.sync()
    assert clean.ok and clean.added == len(active)
    clean_sync.close()
    clean_client.close()

    cat, vec, n = _index_state(kb)
    clean_cat, clean_vec, clean_n = _index_state(clean_kb)
    assert cat == clean_cat == vec == clean_vec
    assert n == clean_n == len(cat) == len(active)  # no duplicates
    assert kb.vectors.count() == clean_kb.vectors.count() == len(active)
    assert not kb.catalog.pending_changes()

    # and a further run after the resumed one is a plain, fully unchanged sync
    again_client = make_client(double.base_url)
    again = CaseSync(kb, again_client).sync()
    assert again.ok and not again.resumed and again.unchanged == len(active)
    again_client.close()
