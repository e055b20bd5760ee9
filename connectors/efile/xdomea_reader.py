"""Reading one XDOMEA package (a ZIP) into the parsed model, without extracting it: member checks
(paths, encryption, duplicates, sizes, compression ratio), the message found and its version checked,
XSD validation, then Akten, Vorgänge, Dokumente and their files. Content problems become German
package problems; the reader never raises for them."""

from __future__ import annotations

import logging
import posixpath
import re
import zipfile
import zlib
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree as ET

from .protocol import Case, DocumentRef, Procedure, ProcedureRef
from .xdomea_mapping import OTHER_PROCEDURE, _aplan_key, _norm, procedure_type_for
from .xdomea_model import (
    Limits,
    PackageProblem,
    XdomeaPackageError,
    _CaseEntry,
    _Doc,
    _FileRef,
    _mb,
    _Package,
    _printable,
    _Refused,
)
from .xdomea_schema import check_message
from .xdomea_xml import _child, _children, _shown_name, _text, _unsafe_member, _uuid, _version_number, _when, parse_message

log = logging.getLogger(__name__)

NAMESPACE_PREFIX = "urn:xoev-de:xdomea:schema:"
SUPPORTED_MAJOR = "3"
# XDOMEA 2.3 and 2.4 use the same element names as 3.x for everything Lotse reads (checked against
# the public schemas xdomea-Baukasten.xsd 2.3.0/2.4.0/3.0.0); 3.x only adds elements (Teilakte,
# ZdADatum, Primaerdokument/DateinameOriginal), which 2.x messages simply lack. See docs/xdomea.md.
SUPPORTED_2X = ("2.3", "2.4")
_MESSAGE_NAME = re.compile(r"(?:^|/)[^/]*_(?:[A-Za-z]+\.[A-Za-z]+\.\d{4}|\d{4}(?:_\d+)?)\.xml$", re.IGNORECASE)
_MEDIUM = {"001": "Elektronisch", "002": "Hybrid", "003": "Papier"}
_TRUE = {"1", "true"}


class _Reader:
    """Reads one ZIP into a :class:`_Package`; never raises for content problems."""

    def __init__(self, path: Path, limits: Limits):
        self.path = path
        self.limits = limits
        self.pkg = _Package(path, (-1, -1))
        self.seen: set[str] = set()
        self.members: dict[str, zipfile.ZipInfo] = {}
        self.base = ""

    def problem(self, message: str, fatal: bool = False, kind: str = "warning") -> None:
        self.pkg.problems.append(PackageProblem(self.pkg.name, message, fatal, kind))

    def read(self) -> _Package:
        try:
            try:
                st = self.path.stat()
                self.pkg.signature = (st.st_size, st.st_mtime_ns)
                with zipfile.ZipFile(self.path) as zf:
                    self._check_members(zf)
                    msg = self._find_message()
                    data = _read_member(zf, self.members[msg], self.limits.max_message_bytes,
                                        "Die XDOMEA-Nachricht")
            except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError):
                raise _Refused("Die Datei ist keine gültige ZIP-Datei oder ist beschädigt.") from None
            except OSError as exc:
                raise _Refused(f"Die Datei konnte nicht gelesen werden ({exc.strerror or type(exc).__name__}).") from None
            except XdomeaPackageError as exc:
                raise _Refused(exc.message) from None
            root, ns = parse_message(data, self.limits.max_depth)
            self._check_version(ns, msg)
            self._walk(root)
            self._validate(data, root.tag)
        except _Refused as exc:
            self.problem(f"{exc} Das Paket wurde nicht eingelesen.", fatal=True)
            self._drop_content()
        return self.pkg

    def _drop_content(self) -> None:
        self.pkg.cases.clear()
        self.pkg.procedures.clear()
        self.pkg.documents.clear()

    # zip level ----------------------------------------------------------------------------
    def _check_members(self, zf: zipfile.ZipFile) -> None:
        lim = self.limits
        infos = zf.infolist()
        if len(infos) > lim.max_members:
            raise _Refused(f"Das Paket enthält {len(infos)} Dateien (Obergrenze {lim.max_members}).")
        bad = [i.filename for i in infos if _unsafe_member(i.filename)]
        if bad:
            raise _Refused(
                f"Das Paket enthält unzulässige Dateinamen mit Pfadangaben außerhalb des Pakets "
                f"(z. B. „{_printable(bad[0])}“); es wird aus Sicherheitsgründen abgelehnt.")
        total = 0
        for info in infos:
            if info.is_dir():
                continue
            if info.filename in self.members:
                raise _Refused(f"Das Paket enthält den Dateinamen „{_printable(info.filename)}“ mehrfach.")
            if info.flag_bits & 0x1:
                raise _Refused("Das Paket enthält verschlüsselte Dateien; verschlüsselte Pakete werden nicht "
                               "unterstützt.")
            if info.file_size > lim.max_file_bytes:
                raise _Refused(
                    f"Die Datei „{_printable(info.filename)}“ ist laut ZIP-Verzeichnis {_mb(info.file_size)} MB groß "
                    f"(Obergrenze {_mb(lim.max_file_bytes)} MB, Schutz vor ZIP-Bomben).")
            if (info.file_size > lim.ratio_min_bytes
                    and info.file_size > lim.max_ratio * max(info.compress_size, 1)):
                raise _Refused(
                    f"Die Datei „{_printable(info.filename)}“ ist verdächtig stark komprimiert "
                    f"(1:{info.file_size // max(info.compress_size, 1)}, Schutz vor ZIP-Bomben).")
            total += info.file_size
            self.members[info.filename] = info
        if total > lim.max_package_bytes:
            raise _Refused(
                f"Die entpackte Größe des Pakets beträgt laut ZIP-Verzeichnis {_mb(total)} MB "
                f"(Obergrenze {_mb(lim.max_package_bytes)} MB, Schutz vor ZIP-Bomben).")

    def _find_message(self) -> str:
        xml = [n for n in self.members if n.lower().endswith(".xml")]
        named = [n for n in xml if _MESSAGE_NAME.search(n)]
        candidates = named or xml
        # prefer the top level: primary documents may be XML files, too
        top = [n for n in candidates if "/" not in n.replace("\\", "/")]
        candidates = top or candidates
        if len(candidates) > 1:
            sniffed = [n for n in candidates if self._looks_like_xdomea(n)]
            candidates = sniffed or candidates
        if not candidates:
            raise _Refused("Das Paket enthält keine XDOMEA-Nachricht (XML-Datei im Namensraum "
                           f"{NAMESPACE_PREFIX}3.x oder 2.3/2.4).")
        if len(candidates) > 1:
            shown = ", ".join(f"„{_printable(n, 60)}“" for n in sorted(candidates)[:3])
            raise _Refused(f"Das Paket enthält mehrere mögliche XDOMEA-Nachrichten ({shown}); erwartet wird genau "
                           "eine.")
        msg = candidates[0]
        self.base = posixpath.dirname(msg.replace("\\", "/"))
        return msg

    def _looks_like_xdomea(self, name: str) -> bool:
        info = self.members[name]
        try:
            with zipfile.ZipFile(self.path) as zf, zf.open(info) as fh:
                head = fh.read(4096)
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, zlib.error, EOFError):
            return False
        return NAMESPACE_PREFIX.encode() in head

    def _check_version(self, ns: str, member: str) -> None:
        if not ns.startswith(NAMESPACE_PREFIX):
            shown = f"„{_printable(ns, 60)}“" if ns else "keinen"
            raise _Refused(f"Die XML-Datei „{_printable(member, 60)}“ ist keine XDOMEA-Nachricht (Namensraum {shown}, "
                           f"erwartet {NAMESPACE_PREFIX}3.x).")
        version = ns[len(NAMESPACE_PREFIX):]
        parts = version.split(".")
        if parts[0] != SUPPORTED_MAJOR and ".".join(parts[:2]) not in SUPPORTED_2X:
            raise _Refused(f"Die XDOMEA-Nachricht hat die Version {_printable(version, 20)}; unterstützt werden "
                           "XDOMEA 3.x (3.0.0, 3.1.0) sowie 2.3 und 2.4.")
        self.pkg.xdomea_version = version

    def _validate(self, data: bytes, root_tag: str) -> None:
        """Check the message against the official XSD of its version; deviations are reported (kind
        ``schema``), the package stays imported: Lotse reads what it needs by element name."""
        if self.limits.max_schema_bytes <= 0:
            return
        check = check_message(data, self.pkg.xdomea_version, root_tag, max_bytes=self.limits.max_schema_bytes)
        self.pkg.schema = check
        text = check.message()
        if text:
            self.problem(text, kind="schema")

    # message level ------------------------------------------------------------------------
    def _walk(self, root: ET.Element) -> None:
        kopf = _child(root, "Kopf")
        code = _text(kopf, "Nachrichtentyp", "code")
        if not code:  # from the root element's name, e.g. Aussonderung.Anbieteverzeichnis.0501
            m = re.search(r"\.(\d{4})$", root.tag)
            code = m.group(1) if m else ""
        self.pkg.message_code = code if re.fullmatch(r"\d{4}", code) else ""
        self.pkg.created = _when(_text(kopf, "Erstellungszeitpunkt"))
        sgos = _children(root, "Schriftgutobjekt")
        if not sgos:
            raise _Refused("Die XDOMEA-Nachricht enthält keine Schriftgutobjekte (Akte, Vorgang, Dokument).")
        loose = 0
        for sgo in sgos:
            for obj in sgo:
                if obj.tag == "Akte":
                    self._akte(obj)
                elif obj.tag == "Vorgang":
                    self._vorgang_case(obj)
                elif obj.tag == "Dokument":
                    loose += 1
        if not self.pkg.cases:
            only = f", nur {loose} Dokumente ohne Akte und Vorgang" if loose else ""
            self.problem(f"Die XDOMEA-Nachricht enthält keine Akte und keinen Vorgang{only}; es wurde nichts "
                         "übernommen (Lotse übernimmt Akten und Vorgänge mit ihren Dokumenten).")
        elif loose:
            self.problem(f"{loose} Dokumente stehen ohne Akte und Vorgang direkt in der Nachricht; sie wurden nicht "
                         "übernommen (Lotse übernimmt Akten und Vorgänge).")

    def _vorgang_case(self, vorgang: ET.Element) -> None:
        """A Vorgang without an enclosing Akte becomes a case of its own (same ID as its procedure)."""
        case_id = _uuid(_text(vorgang, "Identifikation", "ID"))
        procedures: list[Procedure] = []
        self._vorgang(vorgang, case_id or "", procedures)  # warns and skips without a valid, unique ID
        if case_id is None or not procedures or procedures[0].coo != case_id:
            return
        self._add_case(vorgang, case_id, procedures)
        self.problem(f"Vorgang {case_id} steht ohne Akte in der Nachricht; er wurde als eigene Akte übernommen.",
                     kind="note")

    def _id(self, el: ET.Element, what: str) -> str | None:
        raw = _text(el, "Identifikation", "ID")
        oid = _uuid(raw)
        if oid is None:
            self.problem(f"{what} ohne gültige ID (Identifikation/ID muss eine UUID sein) wurde übersprungen.")
            return None
        if oid in self.seen:
            self.problem(f"Die ID {oid} kommt in der Nachricht mehrfach vor; das spätere Objekt ({what}) wurde "
                         "übersprungen.")
            return None
        self.seen.add(oid)
        return oid

    def _akte(self, akte: ET.Element) -> None:
        case_id = self._id(akte, "Eine Akte")
        if case_id is None:
            return
        meta = _child(akte, "AllgemeineMetadaten")
        laufzeit = _child(akte, "Laufzeit")
        if laufzeit is None:  # tolerated: Laufzeit inside AllgemeineMetadaten
            laufzeit = _child(meta, "Laufzeit")
        procedures: list[Procedure] = []
        self._content(akte, case_id, procedures, closed=_when(_text(laufzeit, "Ende")) is not None)
        self._add_case(akte, case_id, procedures)

    def _add_case(self, el: ET.Element, case_id: str, procedures: list[Procedure]) -> None:
        """The :class:`Case` of an Akte (or of a Vorgang without Akte) from its metadata."""
        meta = _child(el, "AllgemeineMetadaten")
        az = _text(meta, "Kennzeichen")
        betreff = _text(meta, "Betreff")
        remark = _text(meta, "Bemerkung")
        aplan = _text(meta, "Aktenplaneinheit", "Kennzeichen")
        pt = procedure_type_for(aplan, az)
        laufzeit = _child(el, "Laufzeit")
        if laufzeit is None:
            laufzeit = _child(meta, "Laufzeit")
        runtime_till = _when(_text(laufzeit, "Ende"))
        case = Case(
            coo=case_id,
            aktenzeichen=az,
            title=betreff,
            subject="\n".join(t for t in (betreff, remark) if t),
            keywords=(),
            apentry=pt.apentry_coo if pt else aplan,
            procedure_type=pt.name if pt else OTHER_PROCEDURE,
            org_unit=_text(meta, "Federfuehrung") or None,
            runtime_from=_when(_text(laufzeit, "Beginn")),
            runtime_till=runtime_till,
            procedures=tuple(ProcedureRef(p.coo, p.name or p.title) for p in procedures),
        )
        self.pkg.cases.append(_CaseEntry(case, _aplan_key(aplan)))

    def _content(self, container: ET.Element, case_id: str, out: list[Procedure], closed: bool) -> None:
        """Vorgänge, Teilakten and direct Dokumente of an Akte (or Teilakte), in document order."""
        inhalt = _child(container, "Akteninhalt")
        items = list(inhalt) if inhalt is not None else [c for c in container
                                                           if c.tag in ("Vorgang", "Dokument", "Teilakte")]
        direct: list[DocumentRef] = []
        for item in items:
            if item.tag == "Vorgang":
                self._vorgang(item, case_id, out)
            elif item.tag == "Dokument":
                doc = self._dokument(item)
                if doc is not None:
                    direct.append(doc)
            elif item.tag == "Teilakte":
                sub_id = self._id(item, "Eine Teilakte")
                if sub_id is not None:
                    self._content(item, case_id, out, closed)
        if direct:
            own = _uuid(_text(container, "Identifikation", "ID")) or case_id
            meta = _child(container, "AllgemeineMetadaten")
            coo = f"{own}-akteninhalt"
            proc = Procedure(
                coo=coo, case_coo=case_id, name=_text(meta, "Kennzeichen"), title="Akteninhalt",
                subject="", keywords=(), state="Abgeschlossen" if closed else "In Bearbeitung",
                processing_state=None, remark=None, filetype=_MEDIUM.get(_text(meta, "Medium", "code")),
                documents=tuple(direct))
            self.pkg.procedures[coo] = proc
            out.append(proc)

    def _vorgang(self, vorgang: ET.Element, case_id: str, out: list[Procedure]) -> None:
        proc_id = self._id(vorgang, "Ein Vorgang")
        if proc_id is None:
            return
        meta = _child(vorgang, "AllgemeineMetadaten")
        betreff = _text(meta, "Betreff")
        remark = _text(meta, "Bemerkung")
        zda = _text(vorgang, "ZdA").lower() in _TRUE or bool(_text(vorgang, "ZdADatum"))
        ended = bool(_text(vorgang, "Laufzeit", "Ende"))  # runtime over: closed as well
        docs = [d for d in (self._dokument(el) for el in _children(vorgang, "Dokument")) if d is not None]
        proc = Procedure(
            coo=proc_id,
            case_coo=case_id,
            name=_text(meta, "Kennzeichen"),
            title=betreff,
            subject="\n".join(t for t in (betreff, remark) if t),
            keywords=(),
            state="Abgeschlossen" if zda or ended else "In Bearbeitung",
            processing_state="z.A. verfügt" if zda else None,
            remark=remark or None,
            filetype=_MEDIUM.get(_text(meta, "Medium", "code")),
            documents=tuple(docs),
        )
        self.pkg.procedures[proc_id] = proc
        out.append(proc)
        for sub in _children(vorgang, "Teilvorgang"):
            self._vorgang(sub, case_id, out)

    def _dokument(self, dok: ET.Element) -> DocumentRef | None:
        doc_id = self._id(dok, "Ein Dokument")
        if doc_id is None:
            return None
        meta = _child(dok, "AllgemeineMetadaten")
        typ = _text(dok, "Typ")
        betreff = _text(meta, "Betreff")
        if typ and betreff and not _norm(betreff).startswith(_norm(typ)):
            name = f"{typ} ({betreff})"
        else:
            name = betreff or typ or "Dokument"
        eingang, ausgang = _text(dok, "Posteingangsdatum"), _text(dok, "Postausgangsdatum")
        kind = "Eingang" if eingang else "Erledigung" if ausgang else None
        files = self._files(dok, doc_id)
        created = (_when(eingang) or _when(ausgang) or _when(_text(dok, "DatumDesSchreibens"))
                   or self._first_file_time(dok))
        ref = DocumentRef(coo=doc_id, name=name, kind=kind, created_at=created)
        latest = self._latest_version(dok)
        number = _version_number(latest, 0)[0] if latest is not None else -1
        self.pkg.documents[doc_id] = _Doc(ref, tuple(files), number)
        return ref

    @staticmethod
    def _latest_version(dok: ET.Element) -> ET.Element | None:
        versions = _children(dok, "Version")
        if not versions:
            return None
        return max(enumerate(versions), key=lambda iv: _version_number(iv[1], iv[0]))[1]

    def _first_file_time(self, dok: ET.Element) -> datetime | None:
        version = self._latest_version(dok)
        for fmt in _children(version, "Format"):
            t = _when(_text(fmt, "Primaerdokument", "DatumUhrzeit"))
            if t:
                return t
        return None

    def _files(self, dok: ET.Element, doc_id: str) -> list[_FileRef]:
        out: list[_FileRef] = []
        version = self._latest_version(dok)
        for fmt in _children(version, "Format"):
            prim = _child(fmt, "Primaerdokument")
            dateiname = _text(prim, "Dateiname")
            if not dateiname:
                continue
            out.append(self._file_ref(doc_id, dateiname, _text(prim, "DateinameOriginal")))
        for anlage in _children(dok, "Anlage"):
            out.extend(self._files(anlage, doc_id))
        return out

    def _file_ref(self, doc_id: str, dateiname: str, original: str) -> _FileRef:
        shown = _shown_name(dateiname, original)
        if _unsafe_member(dateiname):
            msg = (f"Dokument {doc_id}: Der Dateiname im Element Dateiname enthält eine unzulässige Pfadangabe; "
                   "die Datei wird nicht gelesen.")
            self.problem(msg)
            return _FileRef("", shown, msg)
        norm = dateiname.replace("\\", "/")
        member = posixpath.join(self.base, norm) if self.base else norm
        if member not in self.members and norm in self.members:
            member = norm
        if member not in self.members:
            msg = (f"Dokument {doc_id}: Die referenzierte Datei fehlt im Paket; das Dokument wird ohne Inhalt "
                   "übernommen.")
            self.problem(msg)
            return _FileRef("", shown, msg)
        return _FileRef(member, shown)


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, what: str) -> bytes:
    """Read one member, never more than ``cap`` bytes (whatever its header claims)."""
    if info.file_size > cap:
        raise XdomeaPackageError(f"{what} ist größer als erlaubt ({_mb(info.file_size)} MB, Obergrenze "
                                 f"{_mb(cap)} MB).")
    chunks: list[bytes] = []
    total = 0
    try:
        with zf.open(info) as fh:
            while True:
                block = fh.read(1 << 16)
                if not block:
                    break
                total += len(block)
                if total > cap:
                    raise XdomeaPackageError(f"{what} ist beim Entpacken größer als erlaubt (Obergrenze {_mb(cap)} MB).")
                chunks.append(block)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise XdomeaPackageError(f"{what} ist im ZIP beschädigt ({type(exc).__name__}).") from None
    except NotImplementedError:
        raise XdomeaPackageError(f"{what} ist mit einem nicht unterstützten Verfahren komprimiert.") from None
    except RuntimeError:
        raise XdomeaPackageError(f"{what} ist verschlüsselt; das wird nicht unterstützt.") from None
    return b"".join(chunks)


def read_package(path: Path, limits: Limits | None = None) -> _Package:
    """Read one XDOMEA package (for tools and tests); problems are in ``.problems``."""
    return _Reader(Path(path), limits or Limits()).read()
