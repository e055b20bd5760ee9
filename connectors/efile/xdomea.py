"""Read-only e-file connector over XDOMEA 3.x (and 2.3/2.4) export packages (ZIP files in a directory).

Every ``*.zip`` directly in the configured directory is one package: an XDOMEA message
(``Aussonderung.Aussonderung.0503``, ``Abgabe.Abgabe.0401`` or another message with
``Schriftgutobjekt`` elements; namespace ``urn:xoev-de:xdomea:schema:3.x``, ``2.3.x`` or ``2.4.x``,
which use the same element names for everything read here) plus the primary document files it
references. Mapping to the connector protocol:

* ``Akte`` -> :class:`Case`: ``Identifikation/ID`` is the id (``coo``), ``AllgemeineMetadaten/
  Kennzeichen`` the Aktenzeichen, ``Betreff`` the title, ``Laufzeit/Beginn``/``Ende`` the runtime,
  ``Aktenplaneinheit/Kennzeichen`` the Aktenplan entry (mapped to a procedure type of
  :mod:`connectors.efile.procedures`, else the Aktenzeichen code decides, else the procedure type
  is the catalog's "sonstiges Verfahren", listed by ``search_cases(apentry=OTHER_PROCEDURE)``).
  A ``Vorgang`` directly in the message (no Akte) becomes a case of its own.
* ``Vorgang`` (and ``Teilvorgang``, flattened) -> :class:`Procedure`; documents directly in the
  Akte (or a ``Teilakte``) form one extra procedure ``<id>-akteninhalt``.
* The same Akte in several packages is merged in message order (:func:`_combine`): a later 0503
  with files supersedes a metadata-only 0501, a newer document version an older one.
* ``Dokument`` -> :class:`DocumentRef` (name from ``Typ`` and ``Betreff``; kind ``Eingang`` with a
  ``Posteingangsdatum``, ``Erledigung`` with a ``Postausgangsdatum``); the files of its latest
  ``Version`` (every ``Format/Primaerdokument/Dateiname``) and of its ``Anlage`` elements are the
  :class:`ContentFile` objects of ``read_document``.

Safety: packages are never extracted to disk. The message is parsed with expat into an
ElementTree (local names only, so 3.0.0 and 3.1.0 both parse); a DOCTYPE (DTD, entities) is
refused before anything of it is processed. Member names with path components that leave the
package, encrypted members, duplicate names and sizes beyond the limits (declared sizes, the
compression ratio, and a cap while reading) refuse the package. Each problem is a German message
for that package (:meth:`XdomeaConnector.problems`); the other packages still import.

Filing is refused: XDOMEA imports are read-only.

Modules: :mod:`.xdomea_reader` reads one package (with :mod:`.xdomea_xml` and :mod:`.xdomea_mapping`)
into :mod:`.xdomea_model`, :mod:`.xdomea_merge` merges the packages of the directory, this module is
the connector; :mod:`.xdomea_schema` validates against the XSDs.
"""

from __future__ import annotations

import logging
import threading
import time
import zipfile
from pathlib import Path

from .errors import ConnectorError, EFileRefused, NotFound, SourceUnavailable
from .protocol import Case, CaseRef, ContentFile, DocumentRef, FilingReceipt, Health, Procedure
from .wire import mime_type_for
from .xdomea_mapping import OTHER_PROCEDURE, _aplan_key, _norm
from .xdomea_merge import _combine
from .xdomea_model import Limits, PackageProblem, XdomeaPackageError, _Package, _printable, _Snapshot
from .xdomea_reader import _read_member, read_package

log = logging.getLogger(__name__)


class XdomeaConnector:
    """Read-only :class:`~connectors.efile.protocol.EFileConnector` over a directory of XDOMEA ZIPs.

    The directory is re-read when its listing (names, sizes, modification times) changes, at most
    every ``refresh_interval_s`` seconds; unchanged packages are not parsed again. Thread-safe.
    """

    search_limit: int | None = None  # searches are never truncated (the REST e-file stops at 500)
    lists_other_procedures = True  # search_cases(apentry=OTHER_PROCEDURE): Akten outside the catalog

    def __init__(self, directory: Path | str | None, *, limits: Limits | None = None,
                 refresh_interval_s: float = 2.0):
        self.directory = Path(directory) if directory else None
        self.limits = limits or Limits()
        self.refresh_interval_s = refresh_interval_s
        self._lock = threading.Lock()
        self._snap: _Snapshot | None = None
        self._checked = 0.0
        self._cache: dict[tuple[str, int, int], _Package] = {}

    # -- lifecycle -----------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._snap = None
            self._cache.clear()

    def __enter__(self) -> XdomeaConnector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------------
    def get_case(self, coo: str) -> Case:
        hit = self._current().cases.get(coo)
        if hit is None:
            raise NotFound(f"Akte {coo} ist in keinem XDOMEA-Paket enthalten.")
        return hit[0].case

    def search_cases(self, aktenzeichen: str | None = None, apentry: str | None = None,
                     subject: str | None = None) -> list[CaseRef]:
        if not (aktenzeichen or apentry or subject):
            raise ValueError("Mindestens ein Suchkriterium (Aktenzeichen, Aktenplaneintrag, Betreff) angeben.")
        snap = self._current()
        az = _norm(aktenzeichen) if aktenzeichen else None
        ap = apentry.strip() if apentry else None
        ap_key = _aplan_key(apentry) if apentry else None
        subj = _norm(subject) if subject else None
        out = []
        for coo in snap.order:
            entry = snap.cases[coo][0]
            case = entry.case
            if az is not None and _norm(case.aktenzeichen) != az:
                continue
            if ap is not None and case.apentry != ap and entry.aplan != ap_key and not (
                    ap == OTHER_PROCEDURE and case.procedure_type == OTHER_PROCEDURE):
                continue
            if subj is not None and subj not in _norm(case.subject):
                continue
            out.append(CaseRef(case.coo, case.aktenzeichen))
        return out

    def get_procedure(self, coo: str) -> Procedure:
        proc = self._current().procedures.get(coo)
        if proc is None:
            raise NotFound(f"Vorgang {coo} ist in keinem XDOMEA-Paket enthalten.")
        return proc

    def list_documents(self, procedure_coo: str) -> list[DocumentRef]:
        return list(self.get_procedure(procedure_coo).documents)

    def read_document(self, document_coo: str) -> list[ContentFile]:
        """The files of the document's latest version and of its Anlagen, read from the ZIP."""
        snap = self._current()
        hit = snap.documents.get(document_coo)
        if hit is None:
            raise NotFound(f"Dokument {document_coo} ist in keinem XDOMEA-Paket enthalten.")
        doc, pkg = hit
        try:
            st = pkg.path.stat()
        except OSError:
            st = None
        if st is None or (st.st_size, st.st_mtime_ns) != pkg.signature:
            # the package changed since it was read: read the directory again first
            with self._lock:
                self._checked = 0.0
            snap = self._current()
            hit = snap.documents.get(document_coo)
            if hit is None:
                raise NotFound(f"Dokument {document_coo} ist in keinem XDOMEA-Paket (mehr) enthalten.")
            doc, pkg = hit
        for f in doc.files:
            if f.problem:
                raise XdomeaPackageError(f"XDOMEA-Paket „{pkg.name}“: Die Datei „{_printable(f.file_name)}“ kann "
                                         f"nicht gelesen werden. {f.problem}", pkg.name)
        out: list[ContentFile] = []
        try:
            with zipfile.ZipFile(pkg.path) as zf:
                infos = {i.filename: i for i in zf.infolist()}
                for n, f in enumerate(doc.files, 1):
                    info = infos.get(f.member)
                    if info is None:
                        raise XdomeaPackageError(f"XDOMEA-Paket „{pkg.name}“: Die Datei „{_printable(f.file_name)}“ "
                                                 "fehlt im Paket.", pkg.name)
                    content = _read_member(zf, info, self.limits.max_file_bytes,
                                           f"Die Datei „{_printable(f.file_name)}“")
                    ext = f.file_name.rpartition(".")[2] if "." in f.file_name else ""
                    out.append(ContentFile(coo=f"{document_coo}-{n}", document_coo=document_coo,
                                           file_name=f.file_name, extension=ext, mime_type=mime_type_for(ext),
                                           content=content))
        except XdomeaPackageError as exc:
            if exc.package:
                raise
            raise XdomeaPackageError(f"XDOMEA-Paket „{pkg.name}“: {exc.message}", pkg.name) from None
        except (zipfile.BadZipFile, OSError) as exc:
            raise XdomeaPackageError(f"XDOMEA-Paket „{pkg.name}“ kann nicht gelesen werden "
                                     f"({type(exc).__name__}).", pkg.name) from None
        return out

    # -- filing --------------------------------------------------------------------------------
    def file_outgoing(self, procedure_coo: str, title: str, subject: str, file_name: str, content: bytes,
                      idempotency_key: str, *, userlogin: str | None = None) -> FilingReceipt:
        raise EFileRefused(
            "XDOMEA-Importe sind schreibgeschützt: Lotse liest die Akten nur aus den XDOMEA-Exportpaketen und "
            "kann nichts in die E-Akte ablegen. Bitte das Schriftstück im führenden Aktensystem ablegen.",
            source="XDOMEA")

    # -- status --------------------------------------------------------------------------------
    def health(self) -> Health:
        start = time.perf_counter()
        try:
            snap = self._current(force=True)
        except ConnectorError as exc:
            return Health(False, exc.message)
        latency = (time.perf_counter() - start) * 1000
        fatal = [p for p in snap.problems if p.fatal]
        msg = (f"XDOMEA-Verzeichnis lesbar: {len(snap.packages)} Pakete, {len(snap.cases)} Akten übernommen.")
        if fatal:
            msg += f" {len(fatal)} Pakete nicht eingelesen: " + " ".join(p.text() for p in fatal[:3])
        return Health(not fatal, msg, latency)

    def problems(self) -> list[PackageProblem]:
        """Every problem of every package (read the directory first when needed)."""
        return list(self._current().problems)

    def import_warnings(self) -> list[str]:
        """German sentences for reports: one per problem, naming the package."""
        return [p.text() for p in self.problems()]

    # -- directory -----------------------------------------------------------------------------
    def _listing(self) -> tuple[tuple[str, int, int], ...]:
        d = self.directory
        if d is None:
            raise SourceUnavailable("Der XDOMEA-Import ist eingeschaltet (LOTSE_EFILE_KIND=xdomea), aber es ist kein "
                                    "Verzeichnis angegeben (LOTSE_EFILE_XDOMEA_DIR).")
        try:
            entries = list(d.iterdir())
        except FileNotFoundError:
            raise SourceUnavailable(f"Das XDOMEA-Verzeichnis {d} existiert nicht oder ist nicht erreichbar.") from None
        except NotADirectoryError:
            raise SourceUnavailable(f"{d} ist kein Verzeichnis (LOTSE_EFILE_XDOMEA_DIR).") from None
        except OSError as exc:
            raise SourceUnavailable(f"Das XDOMEA-Verzeichnis {d} ist nicht lesbar "
                                    f"({exc.strerror or type(exc).__name__}).") from None
        out = []
        for p in entries:
            if not p.name.lower().endswith(".zip") or p.name.startswith((".", "~")):
                continue
            try:
                st = p.stat()
            except OSError:
                continue  # removed meanwhile
            if p.is_file():
                out.append((p.name, st.st_size, st.st_mtime_ns))
        return tuple(sorted(out))

    def _current(self, force: bool = False) -> _Snapshot:
        with self._lock:
            now = time.monotonic()
            if (self._snap is not None and not force and self.refresh_interval_s > 0
                    and now - self._checked < self.refresh_interval_s):
                return self._snap
            listing = self._listing()
            self._checked = now
            if self._snap is not None and listing == self._snap.listing:
                return self._snap
            packages = []
            cache: dict[tuple[str, int, int], _Package] = {}
            for key in listing:
                pkg = self._cache.get(key)
                if pkg is None:
                    pkg = read_package(self.directory / key[0], self.limits)  # type: ignore[operator]
                    for p in pkg.problems:
                        log.warning("xdomea package %s: %s", key[0], "fatal problem" if p.fatal else p.kind)
                cache[key] = pkg
                packages.append(pkg)
            self._cache = cache
            self._snap = _combine(listing, packages)
            log.info("xdomea: %d packages, %d cases, %d problems", len(packages), len(self._snap.cases),
                     len(self._snap.problems))
            return self._snap



__all__ = ["OTHER_PROCEDURE", "Limits", "PackageProblem", "XdomeaConnector", "XdomeaPackageError", "read_package"]
