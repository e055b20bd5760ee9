"""Sync of e-file case metadata (Akten) into the knowledge base, without personal data.

:class:`CaseSync` reads the cases of every Aktenplan entry of the social department
(``connectors/efile/procedures.py``) through an :class:`~connectors.efile.protocol.EFileConnector`,
turns each into a non-sensitive record (:class:`indexer.pii.CaseRecordBuilder`: field allowlist,
controlled vocabularies, scrubbed free text only on request) and indexes it as one chunk:
``doc_type="akte"``, ``source="efile:<Aktenzeichen>"``, ``title="Akte <Aktenzeichen>"``,
``section=<Verfahren>``, department from the procedure type (Wohngeld S-III, Unterhaltsvorschuss
S-II, Hilfe zur Pflege / Grundsicherung / BuT S-I, Zuschuss S-Z).

* **Incremental**: the digest of each case record lives in the catalog (like a file's digest); the
  catalog's ``case_state`` holds which Aktenplan entry and which run last saw a case, ``case_runs``
  the runs (data dirs from before keep theirs in ``cases.sqlite3``, taken over once and left as is).
  Unchanged cases are skipped, changed ones replaced, cases the e-file no longer returns (closed
  away, cancelled, deleted) removed.
* **Crash-safe**: records are written and removed through :meth:`indexer.KnowledgeBase.write_records`
  and :meth:`~indexer.KnowledgeBase.remove`, the same journaled protocol as the folder indexer;
  chunk ids come from content, so reruns are idempotent.
* **Resumable**: an e-file error mid-sync (``SourceUnavailable`` and any other ``ConnectorError``)
  ends the run with a German message in the report; what was written stays, nothing is removed,
  and the next run continues the interrupted one (cases finished in it are not read again).
* **Search limit**: the EAI returns at most 500 hits per search and has no paging. A search
  that hits the limit is reported; cases already in the index are then checked one by one
  (``get_case``) instead of being removed, and bulk loads can pass ``case_coos`` explicitly.
* **Isolated reading**: with an :class:`~connectors.efile.config.EFileConfig` (always so for
  ``lotse sync-cases``, :func:`run_sync`) the cases are read and turned into records in a separate
  child process, one per sync run (:mod:`indexer.case_reader`), which builds the connector itself
  and returns only the scrubbed records. This process, which embeds and writes Chroma, never
  receives raw case data: Chroma's HNSW files can contain uninitialised memory of the writing
  process. Errors of the child (connector errors, a crash) end the run like any e-file error.
  Given a live connector object instead (tests, benchmarks), ``CaseSync`` reads in-process:
  **not isolated**.
* Logged are COO addresses and counts, never case content.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from connectors.catalog import catalog
from connectors.efile.config import EFileConfig
from connectors.efile.procedures import PROCEDURE_TYPES
from connectors.efile.protocol import EFileConnector
from connectors.errors import ConnectorError

from .case_child import LocalReader
from .case_protocol import SEARCH_LIMIT, ConfigError, ReaderFailure, ReadResult
from .case_reader import ChildReader
from .catalog import Catalog
from .catalog_schema import FileRecord, IndexRecord
from .chunking import Chunk
from .errors import IndexingError
from .pii import CaseRecord, CaseRecordBuilder
from .pipeline import Progress, chunk_terms
from .search import CASE_DOC_TYPE

log = logging.getLogger(__name__)

ROOT = "efile"
DOC_TYPE = CASE_DOC_TYPE
RESUME_MAX_AGE_S = 24 * 3600
LEGACY_STATE_FILE = "cases.sqlite3"  # the sync state before it moved into the catalog

def file_key(coo: str) -> str:
    return f"{ROOT}::{coo}"


@dataclass
class SyncReport:
    """Outcome of one sync; ``error`` is a German message safe to show (no case content)."""

    run_id: int = 0
    resumed: bool = False
    cases_found: int = 0
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    resumed_skipped: int = 0  # finished in the interrupted run that this one continued
    vanished: int = 0  # listed by the search, gone when read (cancelled meanwhile)
    chunks_written: int = 0
    truncated: list[str] = field(default_factory=list)  # Aktenplan entries whose search hit the limit
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    complete: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None

    def summary(self) -> str:
        """One German paragraph for the CLI / UI."""
        head = (f"{self.cases_found} Akten gefunden: {self.added} neu, {self.updated} geändert, "
                f"{self.unchanged} unverändert, {self.removed} entfernt")
        if self.resumed:
            head += f", {self.resumed_skipped} aus dem unterbrochenen Lauf übernommen"
        head += f" ({self.seconds:.1f} s)."
        parts = [head, *self.warnings]
        if self.error:
            parts.append(self.error)
        return " ".join(parts)

    def as_dict(self) -> dict:
        return {"run_id": self.run_id, "resumed": self.resumed, "cases_found": self.cases_found,
                "added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "removed": self.removed, "resumed_skipped": self.resumed_skipped, "vanished": self.vanished,
                "chunks_written": self.chunks_written, "truncated": list(self.truncated),
                "warnings": list(self.warnings), "error": self.error, "complete": self.complete,
                "seconds": round(self.seconds, 2)}


class CaseState:
    """The sync's bookkeeping in the catalog (``case_state``, ``case_runs``): which Aktenplan entry and
    run last saw a case, and the runs for resuming. Digests are the catalog's own (``files``)."""

    def __init__(self, catalog: Catalog, legacy_path: Path | None = None):
        self.catalog = catalog
        if legacy_path is not None and catalog.adopt_case_state(legacy_path):
            log.info("case sync state taken over from %s", legacy_path.name)

    def cases(self) -> dict[str, tuple[str | None, str | None, int | None]]:
        """coo -> (digest, apentry, run_id)."""
        return self.catalog.case_states()

    def upsert(self, rows: Iterable[tuple[str, str | None, int]]) -> None:
        """rows: (coo, apentry, run_id)."""
        self.catalog.set_case_states((coo, file_key(coo), ap, run) for coo, ap, run in rows)

    def delete(self, coo: str) -> None:
        self.catalog.drop_case_state(coo)

    def resumable_run(self, scope: str, max_age_s: float) -> int | None:
        return self.catalog.resumable_case_run(scope, max_age_s)

    def start_run(self, scope: str, resume: int | None) -> int:
        return self.catalog.start_case_run(scope, resume)

    def finish_run(self, run_id: int, status: str, error: str | None = None) -> None:
        self.catalog.finish_case_run(run_id, status, error)

    def close(self) -> None:
        """Nothing of its own to close (the catalog's connection belongs to the knowledge base)."""


class _Abort(Exception):
    def __init__(self, exc: ConnectorError, coo: str | None, during_search: bool = False):
        super().__init__(exc.message)
        self.exc, self.coo, self.during_search = exc, coo, during_search


class CaseSync:
    """Incremental, resumable sync of e-file cases into a :class:`~indexer.KnowledgeBase`.

    ``source`` is either an :class:`~connectors.efile.config.EFileConfig`: each :meth:`sync` then
    reads in its own child process that builds the connector from it (isolated, see the module
    docstring); or a live connector object: read in this process, **not isolated** (this process
    then holds raw case data; meant for tests and benchmarks only).
    """

    def __init__(self, kb, source: EFileConfig | EFileConnector, *, apentries: Sequence[str] | None = None,
                 builder: CaseRecordBuilder | None = None, workers: int = 8, batch_size: int = 64,
                 resume_max_age_s: float = RESUME_MAX_AGE_S):
        self.kb = kb
        self.efile_cfg = source if isinstance(source, EFileConfig) else None
        self.connector = None if self.efile_cfg is not None else source
        self._reader: ChildReader | LocalReader | None = None
        self.apentries = list(apentries) if apentries is not None else [p.apentry_coo for p in PROCEDURE_TYPES]
        if apentries is None and (getattr(source, "kind", None) == "xdomea"
                                  or getattr(source, "lists_other_procedures", False)):
            # connectors that list Akten outside the catalog ("sonstiges Verfahren"): one more search
            self.apentries.append(catalog().other_procedure)
        self.builder = builder or CaseRecordBuilder(default_department=kb.cfg.default_department)
        self.workers = max(1, workers)
        self.batch_size = max(1, batch_size)
        self.state = CaseState(kb.catalog, Path(kb.data_dir) / LEGACY_STATE_FILE)
        self.resume_max_age_s = resume_max_age_s

    # -- public -----------------------------------------------------------------------------
    def sync(self, *, case_coos: Sequence[str] | None = None, progress: bool = False,
             on_case: Callable[[str], None] | None = None) -> SyncReport:
        """Bring the index in line with the e-file.

        Without ``case_coos``: all cases of the configured Aktenplan entries, removing cases
        the e-file no longer returns. With ``case_coos``: exactly these cases (bulk load or
        targeted refresh); a case that is gone is removed, nothing else is.
        """
        t0 = time.monotonic()
        # the embedding model first: a missing or broken model is reported before the e-file is asked
        # for anything, and the model is loaded before any case is read (the writing process holds
        # no case data at that point either)
        try:
            self.kb.embedder.embed_query("Probe")
        except IndexingError as exc:
            return SyncReport(error=f"Abgleich nicht gestartet: {exc}", seconds=time.monotonic() - t0)
        if self.efile_cfg is None:
            reader: ChildReader | LocalReader = LocalReader(self.connector, self.builder, self.workers)
        else:
            reader = ChildReader(self.efile_cfg, self.builder, self.workers)
            try:
                reader.start()
            except ConfigError as exc:
                reader.close()
                return SyncReport(error=exc.message, seconds=time.monotonic() - t0)
            except ReaderFailure as exc:
                reader.close()
                log.warning("case reader process could not start: %s", type(exc).__name__)
                return SyncReport(error=f"Abgleich mit der E-Akte nicht möglich: {exc.message} Es wurde nichts "
                                        "geändert.", seconds=time.monotonic() - t0)
            except BaseException:
                reader.close()
                raise
        self._reader = reader
        try:
            report = self._sync(t0, case_coos, progress, on_case)
            # problems of the source itself (XDOMEA: a broken package), German, without case content
            report.warnings.extend(reader.import_warnings())
            return report
        finally:
            self._reader = None
            reader.close()

    def _sync(self, t0: float, case_coos: Sequence[str] | None, progress: bool,
              on_case: Callable[[str], None] | None) -> SyncReport:
        report = SyncReport()
        scope = "all" if case_coos is None else "explicit"
        self.kb.recover()
        resume = self.state.resumable_run(scope, self.resume_max_age_s)
        run_id = self.state.start_run(scope, resume)
        report.run_id, report.resumed = run_id, resume is not None
        known_state = self.state.cases()
        indexed = self.kb.records_under(ROOT)
        done_before = {c for c, (_, _, r) in known_state.items() if resume is not None and r == resume}
        processed = 0
        total = 0
        try:
            if case_coos is None:
                order, apentry_of, truncated = self._enumerate(report)
            else:
                order = list(dict.fromkeys(case_coos))
                apentry_of = {c: known_state.get(c, (None, None, None))[1] for c in order}
                truncated = set()
            report.cases_found = len(order)
            todo = [c for c in order if c not in done_before]
            report.resumed_skipped = len(order) - len(todo)
            total = len(todo)
            log.info("case sync run %d: %d cases listed, %d to read%s", run_id, len(order), len(todo),
                     " (resumed)" if resume is not None else "")
            bar = Progress(len(todo), "Akten-Abgleich", progress)
            try:
                for i in range(0, len(todo), self.batch_size):
                    batch = todo[i:i + self.batch_size]
                    processed += self._process_batch(batch, apentry_of, indexed, run_id, report, bar, on_case)
            finally:
                bar.close()
            if case_coos is None:
                seen = set(order)
                stale = [c for c in set(known_state) | {k.split("::", 1)[1] for k in indexed}
                         if c not in seen]
                to_check = [c for c in stale if truncated and
                            (known_state.get(c, (None, None, None))[1] in truncated
                             or known_state.get(c, (None, None, None))[1] is None)]
                check_set = set(to_check)
                for coo in sorted(c for c in stale if c not in check_set):
                    self._remove(coo, indexed, report)
                if to_check:
                    # beyond the search limit: read each known case directly instead of removing it
                    for i in range(0, len(to_check), self.batch_size):
                        batch = sorted(to_check)[i:i + self.batch_size]
                        self._process_batch(batch, {c: known_state[c][1] for c in batch if c in known_state},
                                            indexed, run_id, report, None, on_case)
            report.complete = True
            self.state.finish_run(run_id, "done")
        except _Abort as ab:
            if ab.during_search:
                head = ("Abgleich mit der E-Akte abgebrochen: Die Aktensuche ist fehlgeschlagen "
                        f"(Aktenplaneintrag {ab.coo}).")
            else:
                where = f" (zuletzt bei {ab.coo})" if ab.coo else ""
                head = f"Abgleich mit der E-Akte abgebrochen nach {processed} von {total} Akten{where}."
            report.error = (
                f"{head} Ursache: {ab.exc.message} Bereits übernommene Akten bleiben im Index, es wurde nichts "
                "entfernt; der nächste Lauf setzt an dieser Stelle fort.")
            log.warning("case sync run %d aborted after %d/%d cases at %s: %s", run_id, processed, total,
                        ab.coo or "-", type(ab.exc).__name__)
            self.state.finish_run(run_id, "failed", type(ab.exc).__name__)
        except BaseException:
            self.state.finish_run(run_id, "failed", "interrupted")
            raise
        report.seconds = time.monotonic() - t0
        log.info("case sync run %d: added=%d updated=%d unchanged=%d removed=%d vanished=%d in %.1f s",
                 run_id, report.added, report.updated, report.unchanged, report.removed, report.vanished,
                 report.seconds)
        return report

    def close(self) -> None:
        self.state.close()

    # -- enumeration --------------------------------------------------------------------------
    def _enumerate(self, report: SyncReport) -> tuple[list[str], dict[str, str], set[str]]:
        order: list[str] = []
        apentry_of: dict[str, str] = {}
        truncated: set[str] = set()
        names = {p.apentry_coo: p.name for p in PROCEDURE_TYPES}
        reader = self._reader
        # connectors without a search cap (XDOMEA import) say so with ``search_limit = None``
        limit = reader.search_limit
        for ap in self.apentries:
            try:
                coos, hits = reader.search(ap)
            except ConnectorError as exc:
                raise _Abort(exc, names.get(ap, ap), during_search=True) from exc
            if limit and hits >= limit:
                truncated.add(ap)
                label = names.get(ap, ap)
                report.truncated.append(label)
                report.warnings.append(
                    f"Die Suche nach Akten im Aktenplaneintrag {label} hat die Obergrenze der E-Akte "
                    f"({SEARCH_LIMIT} Treffer) erreicht; weitere Akten wurden nicht gefunden. Bereits "
                    "indexierte Akten dieses Eintrags werden einzeln geprüft statt entfernt.")
                log.warning("case search for apentry %s hit the limit of %d", ap, SEARCH_LIMIT)
            for coo in coos:
                if coo not in apentry_of:
                    apentry_of[coo] = ap
                    order.append(coo)
        return order, apentry_of, truncated

    # -- reading ------------------------------------------------------------------------------
    def _process_batch(self, batch: list[str], apentry_of: dict[str, str | None],
                       indexed: dict[str, FileRecord], run_id: int, report: SyncReport,
                       bar: Progress | None, on_case: Callable[[str], None] | None) -> int:
        """Read (records only, see :mod:`indexer.case_reader`) and write one batch; returns the
        number of cases handled."""
        results: list[ReadResult]
        results, failed = self._reader.read(batch)
        failure = _Abort(failed[1], failed[0]) if failed is not None else None
        to_write: list[tuple[CaseRecord, str | None]] = []
        unchanged: list[str] = []
        for res in results:
            key = file_key(res.coo)
            record = res.record
            if record is None:
                report.vanished += 1
                if key in indexed or res.coo in self._state_coos():
                    self._remove(res.coo, indexed, report)
            else:
                prev = indexed.get(key)
                if prev is not None and prev.digest == record.digest() and prev.chunk_ids:
                    unchanged.append(res.coo)
                    report.unchanged += 1
                else:
                    to_write.append((record, apentry_of.get(res.coo) or res.apentry or None))
            if bar is not None:
                bar.step(res.coo)
            if on_case:
                on_case(res.coo)
        if to_write:
            self._write(to_write, indexed, run_id, report)
        if unchanged:
            self.state.upsert((c, apentry_of.get(c), run_id) for c in unchanged)
        if failure is not None:
            raise failure
        return len(results)

    def _state_coos(self) -> set[str]:
        return set(self.state.cases())

    # -- writing ------------------------------------------------------------------------------
    def _chunk(self, record: CaseRecord) -> tuple[Chunk, str]:
        text = record.text()
        digest = record.digest()
        chunk_id = hashlib.sha1(f"{record.source}\x1f{digest}".encode()).hexdigest()
        chunk = Chunk(chunk_id, record.source, record.title, record.section, (record.section,), None, text, 0,
                      record.department, DOC_TYPE, digest)
        return chunk, chunk_terms(chunk, None)

    def _write(self, items: list[tuple[CaseRecord, str | None]], indexed: dict[str, FileRecord], run_id: int,
               report: SyncReport) -> None:
        built = [(rec, ap, *self._chunk(rec)) for rec, ap in items]
        records = [IndexRecord(file_key(rec.coo), ROOT, chunk.source, chunk.content_hash, chunk.title,
                               chunk.department, DOC_TYPE, (chunk,), (terms,))
                   for rec, _, chunk, terms in built]
        report.chunks_written += self.kb.write_records(records)
        for (rec, _, chunk, _), record in zip(built, records):
            if record.file_key in indexed:
                report.updated += 1
            else:
                report.added += 1
            indexed[record.file_key] = FileRecord(record.file_key, ROOT, chunk.source, chunk.content_hash,
                                                  (chunk.chunk_id,))
        self.state.upsert((rec.coo, ap, run_id) for rec, ap, _, _ in built)
        log.debug("case sync: wrote %d case records", len(records))

    def _remove(self, coo: str, indexed: dict[str, FileRecord], report: SyncReport) -> None:
        key = file_key(coo)
        indexed.pop(key, None)
        self.kb.remove([key])
        self.state.delete(coo)
        report.removed += 1
        log.info("case %s removed from the index (no longer in the e-file)", coo)


def run_sync(kb, efile_cfg: EFileConfig, progress: bool = False) -> SyncReport:
    """Body of ``lotse sync-cases``: sync all cases of the configured e-file into ``kb``.

    Always isolated: the connector is built and the cases are read in a child process (see the
    module docstring); this process only receives the scrubbed records.
    """
    if not isinstance(efile_cfg, EFileConfig):
        raise TypeError("run_sync needs the EFileConfig (the connector is built in the reader process)")
    if efile_cfg.kind == "none":
        return SyncReport(error="Die E-Akte ist nicht angebunden (efile.kind = \"none\"); es wurde nichts abgeglichen.")
    sync = CaseSync(kb, efile_cfg)
    try:
        return sync.sync(progress=progress)
    finally:
        sync.close()


__all__ = ["CaseSync", "CaseState", "SyncReport", "run_sync", "file_key", "ROOT", "DOC_TYPE", "SEARCH_LIMIT"]
