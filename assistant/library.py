"""Administration of the policy documents: upload into a managed folder, remove, re-index with progress.

Uploaded files live in ``<data_dir>/policy/<DEPARTMENT>/<file>``: the folder convention of the
indexer gives each document its department. Re-indexing runs in a background thread, one job at
a time; its progress (files done / total) can be polled. With a database (``Session``) the job's state
and progress live in the table ``reindex_jobs``: any server process on the same database answers for
it, and only one job runs at a time across all of them (a job whose process stopped renewing its
heartbeat counts as aborted). Without one they live in this process's memory.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from indexer import KnowledgeBase
from indexer.loaders import SUPPORTED_SUFFIXES

from .db import AuditEvent, ReindexJobRecord
from .errors import AssistantError, NotFoundError
from .identity import Principal

log = logging.getLogger(__name__)
_DEPARTMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")
#: seconds between two heartbeats of a running re-index, and the age of the last heartbeat after which
#: the job counts as aborted (its server process ended or lost the database)
HEARTBEAT_S = 15
STALE_S = 120
#: least seconds between two progress writes to the database (the last one is always written)
PROGRESS_WRITE_S = 0.25
#: finished jobs older than this many days are deleted when a new one starts
KEEP_DAYS = 30
ABORTED = "Neuindizierung abgebrochen: der Serverprozess wurde beendet."


class LibraryError(AssistantError):
    """Invalid upload or operation (German message)."""


@dataclass
class ReindexJob:
    id: str
    state: str = "läuft"  # läuft | fertig | fehler
    done: int = 0
    total: int = 0
    message: str = ""
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    reports: list = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"job_id": self.id, "state": self.state, "done": self.done, "total": self.total,
                "message": self.message, "started_at": self.started_at, "finished_at": self.finished_at,
                "reports": self.reports}


def safe_filename(name: str) -> str:
    name = unicodedata.normalize("NFC", Path(name or "").name).strip()
    name = re.sub(r"[^\w.\- äöüÄÖÜß()]", "_", name).strip(" .")
    if not name or name.startswith("."):
        raise LibraryError("Der Dateiname ist ungültig.")
    return name[:150]


class PolicyLibrary:
    def __init__(self, kb: KnowledgeBase, folder: Path, Session=None, max_mb: float | None = None):
        self.kb, self.folder, self.Session = kb, Path(folder), Session
        self.max_bytes = int((max_mb or kb.cfg.max_file_mb) * 1024 * 1024)
        self._jobs: dict[str, ReindexJob] = {}  # without a database only
        self._lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._running: ReindexJob | None = None

    def _audit(self, principal: Principal, action: str, object_id: str | None, outcome: str) -> None:
        if self.Session is None:
            return
        with self.Session() as s:
            s.add(AuditEvent(user_id=principal.user_id, action=action, object_id=(object_id or "")[:100] or None,
                             outcome=outcome))
            s.commit()

    def documents(self) -> list[dict]:
        managed = str(self.folder.resolve())
        return [dict(d, managed=d["root"] == managed) for d in self.kb.catalog.files()]

    def upload(self, principal: Principal, filename: str, data: bytes, department: str,
               doc_type: str | None = None) -> dict:
        """Store the file under the department's folder (``doc_type`` in a sidecar ``<file>.meta.yaml``)
        and index it at once."""
        name = safe_filename(filename)
        if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
            raise LibraryError(f"Dateityp nicht unterstützt. Erlaubt: {', '.join(SUPPORTED_SUFFIXES)}.")
        if not _DEPARTMENT.fullmatch(department or ""):
            raise LibraryError("Bitte einen gültigen Fachbereich angeben (z. B. S-III).")
        if doc_type and not _DEPARTMENT.fullmatch(doc_type):
            raise LibraryError("Die Dokumentart ist ungültig (z. B. arbeitsanweisung, checkliste, faq).")
        if not data:
            raise LibraryError("Die Datei ist leer.")
        if len(data) > self.max_bytes:
            raise LibraryError(f"Die Datei ist zu groß (höchstens {self.max_bytes // (1024 * 1024)} MB).")
        target_dir = self.folder / department
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / name
        sidecar = target.with_name(name + ".meta.yaml")
        if doc_type:
            sidecar.write_text(f"doc_type: {doc_type}\n", encoding="utf-8")
        else:
            sidecar.unlink(missing_ok=True)
        tmp = target.with_name(f".{name}.{uuid.uuid4().hex}.part")
        tmp.write_bytes(data)
        tmp.replace(target)
        report = self.kb.index(self.folder, progress=False)
        source = f"{department}/{name}"
        error = next((e.reason for e in report.errors if e.source == source), None)
        self._audit(principal, "document_upload", source, "error" if error else "ok")
        if error:
            target.unlink(missing_ok=True)
            sidecar.unlink(missing_ok=True)
            self.kb.index(self.folder, progress=False)
            raise LibraryError(f"Die Datei konnte nicht gelesen werden: {error}")
        return {"source": source, "department": department, "doc_type": doc_type, "report": report.as_dict()}

    def remove(self, principal: Principal, source: str) -> dict:
        """Delete an uploaded document (bundled or folder-indexed documents are not removable here)."""
        path = (self.folder / source).resolve()
        if self.folder.resolve() not in path.parents or not path.is_file():
            raise NotFoundError("Dieses Dokument gibt es nicht oder es wurde nicht hier hochgeladen.")
        path.unlink()
        path.with_name(path.name + ".meta.yaml").unlink(missing_ok=True)
        report = self.kb.index(self.folder, progress=False)
        self._audit(principal, "document_remove", source, "ok")
        return {"source": source, "removed": report.removed}

    # -- re-indexing ------------------------------------------------------------------
    def start_reindex(self, principal: Principal) -> dict:
        with self._lock:
            if self._running is not None and self._running.state == "läuft":
                return self.job(self._running.id)
            job = ReindexJob(uuid.uuid4().hex[:12])
            if self.Session is not None:
                running = self._claim(job)
                if running is not None:  # another process runs one
                    return running
            else:
                self._jobs[job.id] = job
            self._running = job
        roots = [Path(r) for r in self.kb.catalog.roots() if Path(r).is_dir()]
        if self.folder.is_dir() and self.folder.resolve() not in [r.resolve() for r in roots]:
            roots.append(self.folder)
        from connectors import scan_folder

        finished = threading.Event()
        try:
            job.total = sum(len(scan_folder(r, SUPPORTED_SUFFIXES)) for r in roots)
            self._save(job)
            self._audit(principal, "reindex", job.id, "started")
        except Exception:
            job.state, job.message, job.finished_at = "fehler", "Neuindizierung fehlgeschlagen.", time.time()
            self._save(job, quiet=True)
            raise

        def run():
            try:
                for root in roots:
                    report = self.kb.index(root, progress=False, on_file=lambda _src: self._step(job))
                    job.reports.append({k: v for k, v in report.as_dict().items() if k != "root"})
                job.state, job.message = "fertig", "Neuindizierung abgeschlossen."
            except Exception as exc:  # noqa: BLE001 - reported to the administrator, logged in full
                log.exception("re-index failed")
                job.state, job.message = "fehler", f"Neuindizierung fehlgeschlagen: {type(exc).__name__}"
            finally:
                job.finished_at = time.time()
                finished.set()
                self._save(job, quiet=True)

        def heartbeat():
            while not finished.wait(HEARTBEAT_S):
                self._save(job, quiet=True)

        started = job.as_dict()  # the job as started: a quick run may finish before this method returns
        threading.Thread(target=run, name=f"reindex-{job.id}", daemon=True).start()
        if self.Session is not None:
            threading.Thread(target=heartbeat, name=f"reindex-heartbeat-{job.id}", daemon=True).start()
        return started

    def _step(self, job: ReindexJob) -> None:
        job.done += 1
        if time.monotonic() - getattr(job, "_saved", 0.0) >= PROGRESS_WRITE_S:
            self._save(job, quiet=True)

    def job(self, job_id: str) -> dict:
        if self.Session is None:
            job = self._jobs.get(job_id)
            if job is None:
                raise NotFoundError("Diesen Indizierungsauftrag gibt es nicht.")
            return job.as_dict()
        with self.Session() as s:
            rec = s.get(ReindexJobRecord, str(job_id)[:32])
            if rec is None:
                raise NotFoundError("Diesen Indizierungsauftrag gibt es nicht.")
            if rec.state == "läuft" and _stale(rec):
                _abort(rec)
                s.commit()
            return _record_dict(rec)

    # -- the job in the database ------------------------------------------------------
    def _claim(self, job: ReindexJob) -> dict | None:
        """Insert ``job`` as the running job (slot 1). Returns the job that already runs instead, if any; a
        running job without a recent heartbeat is marked aborted first."""
        for _ in range(5):
            now = _utcnow()
            with self.Session() as s:
                current = s.scalar(select(ReindexJobRecord).where(ReindexJobRecord.slot == 1))
                if current is not None:
                    if not _stale(current):
                        return _record_dict(current)
                    _abort(current)
                    s.commit()
                    continue
                s.execute(delete(ReindexJobRecord).where(ReindexJobRecord.slot.is_(None),
                                                         ReindexJobRecord.started_at < now - timedelta(days=KEEP_DAYS)))
                s.add(ReindexJobRecord(id=job.id, state=job.state, slot=1, done=0, total=0, message="",
                                       reports=[], started_at=_from_ts(job.started_at), heartbeat_at=now))
                try:
                    s.commit()
                    return None
                except IntegrityError:  # another process claimed the slot at the same moment
                    s.rollback()
        raise LibraryError("Die Neuindizierung konnte nicht gestartet werden. Bitte erneut versuchen.")

    def _save(self, job: ReindexJob, quiet: bool = False) -> None:
        """Write the job's state and progress (and a heartbeat); ``quiet``: log a failure instead of raising."""
        if self.Session is None:
            return
        try:
            with self._save_lock, self.Session() as s:
                job._saved = time.monotonic()  # type: ignore[attr-defined]
                rec = s.get(ReindexJobRecord, job.id)
                if rec is None or rec.slot is None and rec.state != "läuft":
                    return  # marked aborted by another process meanwhile: leave it so
                rec.state, rec.done, rec.total, rec.message = job.state, job.done, job.total, job.message[:400]
                rec.reports = list(job.reports)  # a copy: the job thread appends meanwhile
                rec.heartbeat_at = _utcnow()
                if job.state != "läuft":
                    rec.slot, rec.finished_at = None, _from_ts(job.finished_at or time.time())
                s.commit()
        except Exception:
            if not quiet:
                raise
            log.exception("could not store the progress of re-index %s", job.id)


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _from_ts(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


def _ts(dt: datetime | None) -> float | None:
    if dt is None:
        return None
    return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).timestamp()  # SQLite returns naive UTC


def _stale(rec: ReindexJobRecord) -> bool:
    return time.time() - (_ts(rec.heartbeat_at) or 0) > STALE_S


def _abort(rec: ReindexJobRecord) -> None:
    rec.state, rec.message, rec.slot, rec.finished_at = "fehler", ABORTED, None, _utcnow()


def _record_dict(rec: ReindexJobRecord) -> dict:
    return {"job_id": rec.id, "state": rec.state, "done": rec.done, "total": rec.total, "message": rec.message,
            "started_at": _ts(rec.started_at), "finished_at": _ts(rec.finished_at),
            "reports": rec.reports or []}
