"""The parsed model of XDOMEA packages: limits against hostile packages, the German package problems,
what one package holds (Akten, Vorgänge, Dokumente, file references) and the merged snapshot of a
directory. Used by :mod:`.xdomea_reader`, :mod:`.xdomea_merge` and :mod:`.xdomea`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .errors import ConnectorError
from .protocol import Case, DocumentRef, Procedure
from .xdomea_schema import SchemaCheck

_MB = 1024 * 1024


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



def _printable(name: str, limit: int = 80) -> str:
    clean = "".join(ch if ch.isprintable() else "?" for ch in name)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def _mb(n: int) -> str:
    return f"{n / _MB:,.0f}".replace(",", ".")
