"""Chroma vector store (embedded or client/server), always fed with Lotse's own embeddings.

Several processes on one embedded store (``lotse serve`` answering while ``lotse index`` or
``lotse sync-cases`` writes): Chroma's embedded client keeps its HNSW index in memory and never
sees what another process wrote, so a server would look up ids that no longer exist ("Error
finding id") or miss new ones. Therefore every write here

* takes an exclusive file lock (``chroma/.lotse-write.lock``), so two writers never interleave,
* first reopens the client when another process wrote since this one last looked, and
* leaves a fresh stamp (``chroma/.lotse-write-stamp``) behind.

Readers compare the stamp (one small file read) before each query and reopen the client when
it changed. A query that fails anyway (ids vanished in between) is retried once on a freshly
opened client and otherwise answered without dense hits, never with an error.

With a Chroma server (``LOTSE_INDEX__CHROMA__MODE=server``) every process, on every host, talks to the
one server, which sees all writes at once; nothing is reopened. There the writers' lock is the
catalog's (:meth:`indexer.catalog.Catalog.write_lock`: a PostgreSQL advisory lock when the catalog is
in the SQL database, so writers on several hosts never interleave) and the change signal is the
catalog's generation: when it changed, the collection handle is fetched again (a collection rebuilt
by another host has a new id). A failed query is retried once on a fresh handle.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from pathlib import Path

from .config import ChromaConfig
from .errors import StoreError

try:  # POSIX only; without it writers are not serialised between processes
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

log = logging.getLogger(__name__)

LOCK_FILE = ".lotse-write.lock"
STAMP_FILE = ".lotse-write-stamp"
RETIRE_GRACE_S = 5.0  # a replaced client is stopped this long after the switch (in-flight queries end)
MAX_RETIRED = 1  # at most this many replaced clients wait for their stop (memory stays bounded)


class VectorStore:
    def __init__(self, cfg: ChromaConfig, data_dir: Path, model_id: str, *, catalog=None):
        self.cfg, self.model_id = cfg, model_id
        #: the index catalog (server mode: its write lock and its generation coordinate the processes)
        self.catalog = catalog
        self._generation = None  # server mode: the catalog generation the collection handle was fetched at
        self.data_dir = Path(data_dir)
        self._embedded = cfg.mode != "server"
        self._path = self.data_dir / "chroma"
        self._reopen_lock = threading.RLock()
        self._stamp = ""  # the stamp of the last write this process's client has seen
        self.reopens = 0  # how often the client was reopened because another process wrote
        self._retired: list = []  # (monotonic time, chromadb System) of replaced clients
        self._sole_refs = -1  # chromadb's reference count of our System when only we use it
        if self._embedded:
            self._path.mkdir(parents=True, exist_ok=True)
            self._stamp = self._read_stamp()
        self._client, self._col = self._open(fresh=False)
        stored = (self._col.metadata or {}).get("embedding_model")
        if stored and stored != model_id:
            raise StoreError(
                f"Der Index wurde mit dem Embedding-Modell {stored} gebaut, konfiguriert ist {model_id}. "
                "Bitte `lotse index --rebuild PFAD` ausführen oder das Modell zurückstellen.")

    # -- opening ------------------------------------------------------------------------------
    def _open(self, *, fresh: bool):
        cfg = self.cfg
        try:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
            if cfg.mode == "server":
                client = chromadb.HttpClient(host=cfg.host, port=cfg.port, settings=settings)
                client.heartbeat()
            else:
                before = _client_refs(str(self._path))
                client = chromadb.PersistentClient(path=str(self._path), settings=settings)
                # the System is ours alone when nobody used it before and nobody joined since
                self._sole_refs = _client_refs(str(self._path)) if before == 0 else -1
            # embedding_function=None: Chroma's default would download a model at run time
            col = client.get_or_create_collection(
                cfg.collection, embedding_function=None,
                metadata={"hnsw:space": "cosine", "embedding_model": self.model_id},
            )
        except StoreError:
            raise
        except Exception as exc:
            where = f"{cfg.host}:{cfg.port}" if cfg.mode == "server" else str(self.data_dir)
            raise StoreError(f"Vektorspeicher (Chroma, {cfg.mode}) nicht erreichbar unter {where}: {exc}") from exc
        return client, col

    def _reopen(self, stamp: str, *, force: bool = False) -> None:
        """Replace the client by a fresh one that reads what is on disk now."""
        with self._reopen_lock:
            if stamp == self._stamp and not force:
                return  # another thread was quicker
            t0 = time.perf_counter()
            retired = _forget_cached_system(str(self._path), self._sole_refs)
            self._client, self._col = self._open(fresh=True)
            self._stamp = stamp
            self.reopens += 1
            self._retire(retired)
            log.info("vector store changed by another process: reopened Chroma in %.0f ms",
                     (time.perf_counter() - t0) * 1000)

    def _retire(self, system) -> None:
        """Stop replaced clients once in-flight calls are done: the garbage collector alone never frees
        them (measured with 20,000 vectors: RSS 175 -> 290 MB after 20 reopens and growing; with the
        stop it levels off near 270 MB)."""
        now = time.monotonic()
        pending = self._retired + ([(now, system)] if system is not None else [])
        keep = []
        for i, (at, old) in enumerate(pending):
            if now - at > RETIRE_GRACE_S or len(pending) - i > MAX_RETIRED:
                try:
                    old.stop()
                except Exception as exc:  # noqa: BLE001 - already stopped or half-torn-down
                    log.debug("stopping a retired Chroma client: %s", exc)
            else:
                keep.append((at, old))
        self._retired = keep

    def refresh(self) -> bool:
        """Reopen the embedded client when another process wrote since; True when it did. With a Chroma
        server: fetch the collection handle again when the catalog's generation changed."""
        if not self._embedded:
            return self._follow_generation()
        stamp = self._read_stamp()
        if stamp == self._stamp:
            return False
        with self._file_lock(shared=True, timeout_s=10.0):
            stamp = self._read_stamp()  # the writer may have finished meanwhile
            self._reopen(stamp)
        return True

    def _follow_generation(self) -> bool:
        if self.catalog is None:
            return False
        gen = self.catalog.generation()
        if gen == self._generation:
            return False
        if self._generation is not None:
            self._refetch()
        self._generation = gen
        return True

    def _refetch(self) -> None:
        """Server mode: a fresh handle of the collection (created again when another host rebuilt it)."""
        with self._reopen_lock:
            try:
                self._col = self._client.get_or_create_collection(
                    self.cfg.collection, embedding_function=None,
                    metadata={"hnsw:space": "cosine", "embedding_model": self.model_id})
            except Exception as exc:  # noqa: BLE001 - chromadb raises plain errors
                raise StoreError(f"Vektorspeicher (Chroma, server) nicht erreichbar unter "
                                 f"{self.cfg.host}:{self.cfg.port}: {exc}") from exc

    def close(self) -> None:
        """Let go of an embedded store (before its folder is removed, ``lotse index --rebuild``): chromadb
        keeps one System per path and process and would hand the removed files to the next client."""
        if not self._embedded:
            return
        with self._reopen_lock:
            system = _forget_cached_system(str(self._path), self._sole_refs)
            if system is not None:
                try:
                    system.stop()
                except Exception as exc:  # noqa: BLE001 - already stopped
                    log.debug("stopping the Chroma client: %s", exc)

    def clear(self) -> None:
        """Delete every vector (``lotse index --rebuild`` with a Chroma server; the embedded store's folder
        is removed instead): the collection is dropped and created again."""
        with self._writing():
            name = self.cfg.collection
            try:
                self._client.delete_collection(name)
            except Exception as exc:  # noqa: BLE001 - not there: nothing to delete
                log.debug("delete collection %s: %s", name, exc)
            self._refetch()

    # -- the cross-process stamp and lock -----------------------------------------------------------
    def _read_stamp(self) -> str:
        try:
            return (self._path / STAMP_FILE).read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return ""

    def _write_stamp(self) -> None:
        stamp = f"{os.getpid()}-{uuid.uuid4().hex}"
        tmp = self._path / f"{STAMP_FILE}.{os.getpid()}.{threading.get_ident()}"
        tmp.write_text(stamp, encoding="ascii")
        os.replace(tmp, self._path / STAMP_FILE)
        self._stamp = stamp

    @contextlib.contextmanager
    def _file_lock(self, *, shared: bool = False, timeout_s: float | None = None):
        if fcntl is None or not self._embedded:
            yield
            return
        fd = os.open(self._path / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
            if timeout_s is None:
                fcntl.flock(fd, mode)
            else:
                deadline = time.monotonic() + timeout_s
                while True:
                    try:
                        fcntl.flock(fd, mode | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() > deadline:
                            log.warning("vector store: write lock still held after %.0f s, reading anyway",
                                        timeout_s)
                            break
                        time.sleep(0.05)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _write_lock(self):
        """Embedded: the file lock in the Chroma folder. Server: the catalog's write lock (a PostgreSQL
        advisory lock when the catalog is in the database; re-entrant, so free when the index writer
        already holds it)."""
        if not self._embedded and self.catalog is not None:
            return self.catalog.write_lock()
        return self._file_lock()

    @contextlib.contextmanager
    def _writing(self):
        """Exclusive write: catch up with other processes first, leave a new stamp afterwards."""
        with self._write_lock():
            if self._embedded:
                stamp = self._read_stamp()
                if stamp != self._stamp:
                    self._reopen(stamp)
            else:
                self._follow_generation()
            try:
                yield self._col
            finally:
                if self._embedded:
                    self._write_stamp()

    # -- operations ---------------------------------------------------------------------------------
    def count(self) -> int:
        self.refresh()
        return self._col.count()

    def upsert(self, ids: list[str], embeddings: list[list[float]], metadatas: list[dict]) -> None:
        if not ids:
            return
        with self._writing() as col:
            for i in range(0, len(ids), 2000):
                col.upsert(ids=ids[i:i + 2000], embeddings=embeddings[i:i + 2000],
                           metadatas=metadatas[i:i + 2000])

    def delete(self, ids: list[str]) -> None:
        if not ids:
            return
        with self._writing() as col:
            for i in range(0, len(ids), 2000):
                col.delete(ids=ids[i:i + 2000])

    def existing_embeddings(self, ids: list[str]) -> dict[str, list[float]]:
        self.refresh()
        out: dict[str, list[float]] = {}
        for i in range(0, len(ids), 2000):
            got = self._col.get(ids=ids[i:i + 2000], include=["embeddings"])
            for cid, emb in zip(got["ids"], got["embeddings"]):
                out[cid] = list(map(float, emb))
        return out

    def has_ids(self, ids: list[str]) -> set[str]:
        self.refresh()
        found: set[str] = set()
        for i in range(0, len(ids), 2000):
            found.update(self._col.get(ids=ids[i:i + 2000], include=[])["ids"])
        return found

    def all_ids(self) -> set[str]:
        self.refresh()
        out: set[str] = set()
        offset = 0
        while True:
            got = self._col.get(include=[], limit=5000, offset=offset)
            if not got["ids"]:
                break
            out.update(got["ids"])
            offset += len(got["ids"])
        return out

    def query(self, embedding: list[float], n: int, where: dict | None) -> list[tuple[str, float]]:
        """Nearest chunk ids. Never fails because of ids another process removed meanwhile: the
        query is retried on a freshly opened client and otherwise answered without dense hits."""
        # no count() first: at 100k vectors it costs more than the HNSW query itself
        try:
            self.refresh()
        except StoreError as exc:
            log.warning("vector store could not be reopened, using the open client: %s", exc)
        for attempt in (1, 2):
            col = self._col
            try:
                res = col.query(query_embeddings=[embedding], n_results=n, where=where, include=["distances"])
                return [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0])]
            except Exception as exc:  # noqa: BLE001 - Chroma raises plain errors (empty collection, stale ids)
                try:
                    if col.count() == 0:
                        return []
                except Exception:  # noqa: BLE001
                    pass
                if attempt == 1:
                    log.warning("vector query failed (%s: %s); reopening the vector store and retrying",
                                type(exc).__name__, exc)
                    try:
                        if self._embedded:
                            with self._file_lock(shared=True, timeout_s=10.0):
                                self._reopen(self._read_stamp(), force=True)
                        else:
                            self._refetch()
                    except StoreError as reopen_exc:
                        log.warning("vector store could not be reopened: %s", reopen_exc)
                        if not self._embedded:
                            raise StoreError(f"Vektorsuche fehlgeschlagen: {exc}") from exc
                        break
                    continue
                if not self._embedded:
                    raise StoreError(f"Vektorsuche fehlgeschlagen: {exc}") from exc
                log.warning("vector query failed again (%s: %s); answering from the lexical index only",
                            type(exc).__name__, exc)
        return []


def _client_refs(identifier: str) -> int:
    try:
        from chromadb.api.shared_system_client import SharedSystemClient

        return SharedSystemClient._identifier_to_refcount.get(identifier, 0)
    except (ImportError, AttributeError):  # pragma: no cover - other chromadb versions
        return -1


def _forget_cached_system(identifier: str, sole_refs: int):
    """chromadb keeps one System per path and process and hands it to every new client; drop ours so
    that the next client reads the files afresh. Returns the dropped System when only this store used
    it, to be stopped later (until then its clients keep working: their collections hold its API
    object); None when other clients in this process share it (they keep it alive)."""
    try:
        from chromadb.api.shared_system_client import SharedSystemClient

        with SharedSystemClient._refcount_lock:
            refs = SharedSystemClient._identifier_to_refcount.pop(identifier, 0)
            system = SharedSystemClient._identifier_to_system.pop(identifier, None)
        return system if sole_refs > 0 and refs == sole_refs else None
    except (ImportError, AttributeError) as exc:  # pragma: no cover - other chromadb versions
        log.warning("cannot reset chromadb's client cache (%s); other processes' writes may stay unseen", exc)
        return None
