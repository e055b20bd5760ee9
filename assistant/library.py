"""Administration of the policy documents: upload into a managed folder, remove, re-index with progress.

Uploaded files live in ``<data_dir>/policy/<DEPARTMENT>/<file>``: the folder convention of the
indexer gives each document its department. Re-indexing runs in a background thread, one job at
a time; its progress (files done / total) can be polled.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import unicodedata
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from indexer import KnowledgeBase
from indexer.loaders import SUPPORTED_SUFFIXES

from .db import AuditEvent
from .errors import AssistantError, NotFoundError
from .identity import Principal

log = logging.getLogger(__name__)
_DEPARTMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,49}$")


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
        self._jobs: dict[str, ReindexJob] = {}
        self._lock = threading.Lock()
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
                return self._running.as_dict()
            job = ReindexJob(uuid.uuid4().hex[:12])
            self._jobs[job.id] = self._running = job
        roots = [Path(r) for r in self.kb.catalog.roots() if Path(r).is_dir()]
        if self.folder.is_dir() and self.folder.resolve() not in [r.resolve() for r in roots]:
            roots.append(self.folder)
        from connectors import scan_folder

        job.total = sum(len(scan_folder(r, SUPPORTED_SUFFIXES)) for r in roots)
        self._audit(principal, "reindex", job.id, "started")

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

        threading.Thread(target=run, name=f"reindex-{job.id}", daemon=True).start()
        return job.as_dict()

    @staticmethod
    def _step(job: ReindexJob) -> None:
        job.done += 1

    def job(self, job_id: str) -> dict:
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError("Diesen Indizierungsauftrag gibt es nicht.")
        return job.as_dict()
