"""Bounds on what one file may cost the indexer (and the server on upload).

Checked while loading, before the expensive part: the zip directory of a DOCX before anything
is unpacked, the page count of a PDF before text is extracted, the length of text and lines
before parsing and chunking. A file over a limit gets a German per-file error (``LoaderError``)
and the run goes on with the next file.

The defaults are generous for policy documents (the law corpus' longest line has under 600
characters, its largest file under 1 MB of text) and tight enough that no single file can take
gigabytes of memory or hours of CPU.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

from ..errors import LoaderError

MB = 1024 * 1024


@dataclass(frozen=True)
class LoadLimits:
    max_chars: int = 5_000_000  # extracted text of one file (about 2,500 dense pages)
    max_line_chars: int = 50_000  # one line without a line break
    max_pdf_pages: int = 3_000
    max_unpacked_mb: float = 200.0  # DOCX: all zip members together, uncompressed
    max_xml_part_mb: float = 64.0  # DOCX: one XML part (document.xml, ...), uncompressed
    max_compression_ratio: float = 100.0  # DOCX: uncompressed/compressed of a member over 1 MB
    max_zip_members: int = 10_000


DEFAULT_LIMITS = LoadLimits()


def _n(value: int | float) -> str:
    """German thousands separator: 10000000 -> '10.000.000'."""
    return f"{int(value):,}".replace(",", ".")


def _mb(value: int) -> str:
    return f"{value / MB:,.0f}".replace(",", ".")


def check_text(text: str, source: str, limits: LoadLimits) -> None:
    """Total length and the longest line of (decoded or extracted) text."""
    check_sizes(source, limits, chars=len(text), longest=longest_line(text))


def check_sizes(source: str, limits: LoadLimits, *, chars: int, longest: int) -> None:
    if longest > limits.max_line_chars:
        raise LoaderError(source, f"Die Datei enthält eine übermäßig lange Zeile ({_n(longest)} Zeichen ohne "
                                  f"Zeilenumbruch, erlaubt sind {_n(limits.max_line_chars)}) und wird nicht "
                                  "indexiert.")
    if chars > limits.max_chars:
        raise LoaderError(source, f"Die Datei enthält zu viel Text ({_n(chars)} Zeichen, erlaubt sind "
                                  f"{_n(limits.max_chars)}). Bitte in kleinere Dokumente aufteilen.")


def longest_line(text: str) -> int:
    """Length of the longest line, without splitting the text into a list (linear, no copies)."""
    best = start = 0
    n = len(text)
    while start <= n:
        end = text.find("\n", start)
        if end < 0:
            end = n
        if end - start > best:
            best = end - start
        start = end + 1
    return best


def check_zip(data: bytes, source: str, limits: LoadLimits, kind: str = "Word-Datei") -> None:
    """Refuse zip bombs before anything is unpacked: the sizes in the zip directory bound what
    Python's zipfile will ever return (it stops at the declared size and fails the CRC check)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError) as exc:
        raise LoaderError(source, f"Die {kind} ist beschädigt oder kein gültiges Dokument.") from exc
    bomb = " – möglicherweise eine Zip-Bombe; sie wird nicht gelesen."
    if len(infos) > limits.max_zip_members:
        raise LoaderError(source, f"Die {kind} besteht aus zu vielen Teilen ({_n(len(infos))}, erlaubt sind "
                                  f"{_n(limits.max_zip_members)}){bomb}")
    total = sum(i.file_size for i in infos)
    if total > limits.max_unpacked_mb * MB:
        raise LoaderError(source, f"Die {kind} ist entpackt zu groß ({_mb(total)} MB, erlaubt sind "
                                  f"{_mb(int(limits.max_unpacked_mb * MB))} MB){bomb}")
    for info in infos:
        if info.filename.lower().endswith((".xml", ".rels")) and info.file_size > limits.max_xml_part_mb * MB:
            raise LoaderError(source, f"Die {kind} enthält einen zu großen Textteil ({info.filename}: "
                                      f"{_mb(info.file_size)} MB entpackt, erlaubt sind "
                                      f"{_mb(int(limits.max_xml_part_mb * MB))} MB){bomb}")
        if info.file_size > MB:
            ratio = info.file_size / max(1, info.compress_size)
            if ratio > limits.max_compression_ratio:
                raise LoaderError(source, f"Die {kind} ist ungewöhnlich stark komprimiert ({info.filename}: "
                                          f"1:{_n(ratio)}, erlaubt ist 1:{_n(limits.max_compression_ratio)})"
                                          f"{bomb}")
