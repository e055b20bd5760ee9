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
"""

from __future__ import annotations

import logging
import posixpath
import re
import threading
import time
import uuid
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import Iterable
from xml.etree import ElementTree as ET
from xml.parsers import expat
from zoneinfo import ZoneInfo

from ..catalog import catalog
from .errors import ConnectorError, EFileRefused, NotFound, SourceUnavailable
from .procedures import PROCEDURE_TYPES, ProcedureType, procedure_type_of
from .protocol import Case, CaseRef, ContentFile, DocumentRef, FilingReceipt, Health, Procedure, ProcedureRef
from .wire import mime_type_for
from .xdomea_schema import SchemaCheck, check_message

log = logging.getLogger(__name__)

NAMESPACE_PREFIX = "urn:xoev-de:xdomea:schema:"
SUPPORTED_MAJOR = "3"
# XDOMEA 2.3 and 2.4 use the same element names as 3.x for everything Lotse reads (checked against
# the public schemas xdomea-Baukasten.xsd 2.3.0/2.4.0/3.0.0); 3.x only adds elements (Teilakte,
# ZdADatum, Primaerdokument/DateinameOriginal), which 2.x messages simply lack. See docs/xdomea.md.
SUPPORTED_2X = ("2.3", "2.4")
_TZ = ZoneInfo("Europe/Berlin")
_MB = 1024 * 1024
_MESSAGE_NAME = re.compile(r"(?:^|/)[^/]*_(?:[A-Za-z]+\.[A-Za-z]+\.\d{4}|\d{4}(?:_\d+)?)\.xml$", re.IGNORECASE)
_MEDIUM = {"001": "Elektronisch", "002": "Hybrid", "003": "Papier"}
_TRUE = {"1", "true"}


class XdomeaPackageError(ConnectorError):
    """A package (or a file in it) cannot be used; the message names the package and is German."""

    def __init__(self, message: str, package: str = ""):
        super().__init__(message)
        self.package = package


@dataclass(frozen=True)
class Limits:
    """Caps against oversized and hostile packages (zip bombs, XML bombs)."""

    max_message_bytes: int = 64 * _MB  # the XDOMEA XML message
    max_file_bytes: int = 512 * _MB  # any single member, declared and while reading
    max_package_bytes: int = 4096 * _MB  # sum of all declared member sizes
    max_members: int = 20_000
    max_ratio: int = 200  # uncompressed/compressed, checked for members above ratio_min_bytes
    ratio_min_bytes: int = 16 * _MB
    max_depth: int = 200  # XML element nesting
    # messages up to this size are validated against the official XSD of their version (findings are
    # reported, never refuse a readable package); larger ones are imported unchecked; 0: never validate
    max_schema_bytes: int = 32 * _MB


@dataclass(frozen=True)
class PackageProblem:
    """A German message about one package; ``fatal``: the package was not imported at all."""

    package: str  # file name of the ZIP
    message: str
    fatal: bool
    kind: str = "warning"  # "merge": a note on how the package was merged with earlier ones (not a defect);
    # "note": imported in a special way; "schema": deviations from the official XSD (package imported anyway)

    def text(self) -> str:
        return f"XDOMEA-Paket „{self.package}“: {self.message}"


# -- parsed model ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _FileRef:
    member: str  # name inside the ZIP
    file_name: str  # name shown (DateinameOriginal, else Dateiname without its UUID prefix)
    problem: str | None = None  # German, when the file cannot be read


@dataclass(frozen=True)
class _Doc:
    ref: DocumentRef
    files: tuple[_FileRef, ...]
    version: int = -1  # Nummer of the latest Version (-1: none or not numeric)

    @property
    def has_content(self) -> bool:
        """The document carries at least one readable file (not metadata only, as in an 0501)."""
        return any(f.member for f in self.files)


@dataclass(frozen=True)
class _CaseEntry:
    case: Case
    aplan: str  # Aktenplaneinheit/Kennzeichen as exported (normalised)


@dataclass
class _Package:
    path: Path
    signature: tuple[int, int]  # (size, mtime_ns) when read
    cases: list[_CaseEntry] = field(default_factory=list)
    procedures: dict[str, Procedure] = field(default_factory=dict)
    documents: dict[str, _Doc] = field(default_factory=dict)
    problems: list[PackageProblem] = field(default_factory=list)
    message_code: str = ""  # Kopf/Nachrichtentyp/code, e.g. 0501, 0503, 0401
    xdomea_version: str = ""  # from the namespace, e.g. 3.1.0 or 2.4.0
    created: datetime | None = None  # Kopf/Erstellungszeitpunkt
    schema: SchemaCheck | None = None  # result of the XSD validation (None: not validated)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def order_key(self) -> tuple[float, int, str]:
        """Message order: creation time (Kopf/Erstellungszeitpunkt), then the message number
        (0501 before 0503), then the file name."""
        code = int(self.message_code) if self.message_code.isdigit() else 0
        return (self.created.timestamp() if self.created else 0.0, code, self.name)

    @property
    def label(self) -> str:
        return f"„{self.name}“" + (f" (Nachricht {self.message_code})" if self.message_code else "")


@dataclass(frozen=True)
class _Snapshot:
    listing: tuple[tuple[str, int, int], ...]
    packages: tuple[_Package, ...]
    cases: dict[str, tuple[_CaseEntry, _Package]]
    order: tuple[str, ...]
    procedures: dict[str, Procedure]
    documents: dict[str, tuple[_Doc, _Package]]
    problems: tuple[PackageProblem, ...]


class _Refused(Exception):
    """Internal: the package is refused (message German, without the package name)."""


# -- helpers -----------------------------------------------------------------------------------


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def _aplan_key(text: str) -> str:
    """Aktenplankennzeichen normalised: ``s-iii.40.10`` / ``S-III 40 10`` -> ``S-III 40 10``."""
    return " ".join(re.split(r"[\s./]+", text.strip().upper())).strip()


#: procedure type of Akten whose Aktenplan entry is none of the catalog's ("sonstiges Verfahren");
#: ``search_cases(apentry=OTHER_PROCEDURE)`` lists them (the case sync searches it as one more entry)
OTHER_PROCEDURE = catalog().other_procedure

_BY_BASENR = {_aplan_key(p.apentry_basenr): p for p in PROCEDURE_TYPES}
_BY_NAME = {p.name: p for p in PROCEDURE_TYPES}


def procedure_type_for(aplan_kennzeichen: str, aktenzeichen: str) -> ProcedureType | None:
    """The procedure type of an XDOMEA Akte: its Aktenplaneinheit (``S-III 40 10``, also a deeper
    entry below it such as ``S-III 40 10 2``, or the Aktenplan COO address), else the code in the
    Aktenzeichen (``S-III-WG/2024/001234``) as :func:`procedure_type_of` does for the REST e-file."""
    key = _aplan_key(aplan_kennzeichen or "")
    if key:
        best = None
        for basenr, pt in _BY_BASENR.items():
            if (key == basenr or key.startswith(basenr + " ")) and (best is None or len(basenr) > len(best[0])):
                best = (basenr, pt)
        if best:
            return best[1]
    name = procedure_type_of(aplan_kennzeichen.strip() if aplan_kennzeichen else None, aktenzeichen)
    return _BY_NAME.get(name) if name else None


def _unsafe_member(name: str) -> bool:
    if not name or "\x00" in name:
        return True
    n = name.replace("\\", "/")
    if n.startswith("/") or re.match(r"^[A-Za-z]:", n):
        return True
    return any(part == ".." for part in n.split("/"))


def _printable(name: str, limit: int = 80) -> str:
    clean = "".join(ch if ch.isprintable() else "?" for ch in name)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def _mb(n: int) -> str:
    return f"{n / _MB:,.0f}".replace(",", ".")


def _local(name: str) -> str:
    return name.rpartition(" ")[2]


def parse_message(data: bytes, max_depth: int = 200) -> tuple[ET.Element, str]:
    """Parse an XDOMEA message into an ElementTree with local names; returns (root, namespace).

    Refuses any DOCTYPE (and so every entity declaration) before its content is processed, and
    nesting deeper than ``max_depth``. Raises :class:`_Refused` with a German message."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.buffer_text = True
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    builder = ET.TreeBuilder()
    state = {"depth": 0, "ns": None}

    def start(name: str, attrs: dict[str, str]) -> None:
        state["depth"] += 1
        if state["depth"] > max_depth:
            raise _Refused(f"Die XDOMEA-Nachricht ist tiefer als {max_depth} Ebenen verschachtelt.")
        if state["ns"] is None:
            ns, _, _ = name.rpartition(" ")
            state["ns"] = ns
        builder.start(_local(name), {_local(k): v for k, v in attrs.items()})

    def end(name: str) -> None:
        state["depth"] -= 1
        builder.end(_local(name))

    def doctype(*_args: object) -> None:
        raise _Refused(
            "Die XDOMEA-Nachricht enthält eine DOCTYPE-Deklaration (DTD/Entitäten). Das sieht XDOMEA nicht vor; "
            "sie wird aus Sicherheitsgründen abgelehnt (Schutz vor XXE und Entitäten-Bomben).")

    def external(*_args: object) -> int:
        raise _Refused("Die XDOMEA-Nachricht verweist auf externe Entitäten; das wird abgelehnt.")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = doctype
    parser.ExternalEntityRefHandler = external
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise _Refused(
            f"Die XDOMEA-Nachricht ist kein wohlgeformtes XML (Zeile {exc.lineno}, Spalte {exc.offset + 1}: "
            f"{expat.ErrorString(exc.code)}).") from None
    except RecursionError:  # pragma: no cover - guarded by max_depth
        raise _Refused("Die XDOMEA-Nachricht ist zu tief verschachtelt.") from None
    return builder.close(), state["ns"] or ""


def _child(el: ET.Element | None, name: str) -> ET.Element | None:
    if el is None:
        return None
    for c in el:
        if c.tag == name:
            return c
    return None


def _children(el: ET.Element | None, name: str) -> list[ET.Element]:
    return [] if el is None else [c for c in el if c.tag == name]


def _text(el: ET.Element | None, *path: str) -> str:
    for name in path:
        el = _child(el, name)
    if el is None:
        return ""
    return " ".join("".join(el.itertext()).split())


def _when(value: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        if "T" in value:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        else:
            d = date.fromisoformat(value[:10])
            dt = datetime(d.year, d.month, d.day)
    except ValueError:
        return None
    return dt.replace(tzinfo=_TZ) if dt.tzinfo is None else dt.astimezone(_TZ)


def _uuid(value: str) -> str | None:
    try:
        return str(uuid.UUID(value.strip()))
    except (ValueError, AttributeError):
        return None


def _shown_name(dateiname: str, original: str) -> str:
    if original and not _unsafe_member(original) and "/" not in original.replace("\\", "/"):
        return original
    base = dateiname.replace("\\", "/").rsplit("/", 1)[-1]
    m = re.match(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}_(.+)$", base)
    return m.group(1) if m else base


def _version_number(version: ET.Element, index: int) -> tuple[int, int]:
    raw = _text(version, "Nummer")
    try:
        return int(raw), index
    except ValueError:
        return -1, index


# -- reading one package -----------------------------------------------------------------------


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


# -- the connector -----------------------------------------------------------------------------


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


def _combine(listing: tuple[tuple[str, int, int], ...], packages: Iterable[_Package]) -> _Snapshot:
    """Merge the packages in message order (:attr:`_Package.order_key`).

    The same Akte (same ID) in several packages is merged: its metadata and each Vorgang's metadata
    come from the latest message holding it; Vorgänge and Dokumente are united by ID; of the same
    Dokument the copy with files beats a metadata-only one (0501), then the higher version number,
    then the later message. Each merge is reported for the later package (German note, kind
    ``merge``). A Vorgang or Dokument ID that already belongs to *another* Akte refuses the later
    Akte (warning)."""
    packages = tuple(packages)
    ordered = sorted(packages, key=lambda p: p.order_key)
    problems: list[PackageProblem] = []
    for pkg in packages:
        problems.extend(pkg.problems)
    occurrences: dict[str, list[tuple[_CaseEntry, _Package]]] = {}
    owner: dict[str, tuple[str, str]] = {}  # Vorgang/Dokument id -> (Akte id, package name)
    for pkg in ordered:
        for entry in pkg.cases:
            case = entry.case
            ids = [p.coo for p in case.procedures]
            ids += [d.coo for p in case.procedures for d in pkg.procedures[p.coo].documents]
            taken = next((i for i in ids if i in owner and owner[i][0] != case.coo), None)
            if taken is not None:
                problems.append(PackageProblem(
                    pkg.name, f"Akte {case.coo}: die ID {taken} gehört bereits zu einem anderen Objekt im Paket "
                              f"„{owner[taken][1]}“; diese Akte wird aus dem späteren Paket nicht übernommen.", False))
                continue
            for i in ids:
                owner.setdefault(i, (case.coo, pkg.name))
            occurrences.setdefault(case.coo, []).append((entry, pkg))
    cases: dict[str, tuple[_CaseEntry, _Package]] = {}
    procedures: dict[str, Procedure] = {}
    documents: dict[str, tuple[_Doc, _Package]] = {}
    for coo, occ in occurrences.items():
        if len(occ) == 1:
            entry, pkg = occ[0]
            cases[coo] = (entry, pkg)
            for ref in entry.case.procedures:
                proc = pkg.procedures[ref.coo]
                procedures[proc.coo] = proc
                for d in proc.documents:
                    documents[d.coo] = (pkg.documents[d.coo], pkg)
            continue
        entry, pkg, procs, docs, notes = _merge_akte(occ)
        cases[coo] = (entry, pkg)
        procedures.update({p.coo: p for p in procs})
        documents.update(docs)
        problems.extend(notes)
    order = tuple(c for c in (e.case.coo for p in ordered for e in p.cases) if c in cases)
    order = tuple(dict.fromkeys(order))
    return _Snapshot(listing, packages, cases, order, procedures, documents, tuple(problems))


def _merge_akte(occ: list[tuple[_CaseEntry, _Package]]):
    """One Akte from several packages (in message order); see :func:`_combine` for the rule."""
    proc_meta: dict[str, Procedure] = {}
    chosen: dict[str, tuple[tuple[bool, int, int], _Doc, _Package]] = {}
    doc_proc: dict[str, str] = {}
    notes: list[PackageProblem] = []
    for idx, (entry, pkg) in enumerate(occ):
        stats = {"content": 0, "newer": 0, "new": 0, "kept": 0, "same": 0}
        for ref in entry.case.procedures:
            proc = pkg.procedures[ref.coo]
            proc_meta[proc.coo] = proc  # later message: newer metadata (insertion order kept)
            for d in proc.documents:
                doc = pkg.documents[d.coo]
                rank = (doc.has_content, doc.version, idx)
                prev = chosen.get(d.coo)
                doc_proc[d.coo] = proc.coo
                if prev is None:
                    chosen[d.coo] = (rank, doc, pkg)
                    stats["new"] += idx > 0
                    continue
                if rank[:2] < prev[0][:2]:
                    stats["kept"] += 1
                    continue
                if doc.has_content and not prev[1].has_content:
                    stats["content"] += 1
                elif rank[1] > prev[0][1]:
                    stats["newer"] += 1
                else:
                    stats["same"] += 1
                chosen[d.coo] = (rank, doc, pkg)
        if idx == 0:
            continue
        earlier = ", ".join(p.label for _, p in occ[:idx])
        parts = []
        if stats["content"]:
            parts.append(f"{stats['content']} Dokumente mit Dateien ersetzen Einträge ohne Dateien")
        if stats["newer"]:
            parts.append(f"{stats['newer']} Dokumente in neuerer Version ersetzen die ältere")
        if stats["new"]:
            parts.append(f"{stats['new']} Dokumente kommen hinzu")
        if stats["same"]:
            parts.append(f"{stats['same']} Dokumente unverändert übernommen")
        if stats["kept"]:
            parts.append(f"{stats['kept']} Dokumente bleiben aus dem früheren Paket, weil sie dort Dateien "
                         "bzw. eine neuere Version haben")
        detail = "; ".join(parts) if parts else "keine Dokumente"
        notes.append(PackageProblem(
            pkg.name, f"Akte {entry.case.coo} ist auch im früheren Paket {earlier} enthalten und wurde "
                      f"zusammengeführt (Metadaten aus der späteren Nachricht): {detail}.", False, kind="merge"))
    last_entry, last_pkg = occ[-1]
    by_proc: dict[str, list[DocumentRef]] = {p: [] for p in proc_meta}
    docs: dict[str, tuple[_Doc, _Package]] = {}
    for doc_id, (_, doc, pkg) in chosen.items():
        by_proc[doc_proc[doc_id]].append(doc.ref)
        docs[doc_id] = (doc, pkg)
    procs = [replace(p, documents=tuple(by_proc[p.coo])) for p in proc_meta.values()]
    case = replace(last_entry.case, procedures=tuple(ProcedureRef(p.coo, p.name or p.title) for p in procs))
    return _CaseEntry(case, last_entry.aplan), last_pkg, procs, docs, notes


__all__ = ["OTHER_PROCEDURE", "Limits", "PackageProblem", "XdomeaConnector", "XdomeaPackageError", "parse_message",
           "procedure_type_for", "read_package", "NAMESPACE_PREFIX"]
