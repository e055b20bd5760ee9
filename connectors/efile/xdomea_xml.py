"""Parsing an XDOMEA message safely (expat, local names, no DOCTYPE, limited nesting) and reading
values from its elements (texts, dates in Europe/Berlin, UUIDs, file names, version numbers)."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from xml.etree import ElementTree as ET
from xml.parsers import expat
from zoneinfo import ZoneInfo

from .xdomea_model import _Refused

_TZ = ZoneInfo("Europe/Berlin")


def _unsafe_member(name: str) -> bool:
    if not name or "\x00" in name:
        return True
    n = name.replace("\\", "/")
    if n.startswith("/") or re.match(r"^[A-Za-z]:", n):
        return True
    return any(part == ".." for part in n.split("/"))



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
