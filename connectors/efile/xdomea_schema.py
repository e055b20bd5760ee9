"""Validation of XDOMEA messages against the official XSDs (issue 15), with German, content-free findings.

The schemas of XDOMEA 2.3.0, 2.4.0, 3.0.0 and 3.1.0 ship in ``connectors/efile/xsd/<version>/``
(source, commit and checksums: ``connectors/efile/xsd/README.md``). Only the message groups Lotse
reads are vendored: *Aussonderung durchführen* (0501 Anbieteverzeichnis, 0502, 0503 Aussonderung,
…) and *Abgabe durchführen* (0401 Abgabe, 0402); one schema per version is built from both (about
0.5 s, once per process and version) with :mod:`xmlschema`, never from the network.

A finding never blocks a package that the reader could read: it is reported (kind ``schema``)
next to the imported cases. The German texts name the line, the element path (local names) and
the kind of deviation, never an element's value: free-text fields carry personal data, and the
validator's own English reasons quote values.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

XSD_DIR = Path(__file__).with_name("xsd")
#: XDOMEA versions whose official schemas are vendored (namespace ``urn:xoev-de:xdomea:schema:<v>``)
SCHEMA_VERSIONS = ("2.3.0", "2.4.0", "3.0.0", "3.1.0")
#: message groups (root element prefix) -> entry schema of the group
_GROUP_FILES = {
    "Aussonderung": "xdomea-Nachrichten-AussonderungDurchfuehren.xsd",
    "Abgabe": "xdomea-Nachrichten-AbgabeDurchfuehren.xsd",
}
_DETAILS = 3  # deviations spelled out in the report line; the rest are counted

_lock = threading.Lock()
_schemas: dict[str, object] = {}


@dataclass(frozen=True)
class SchemaCheck:
    """Result of checking one message. ``checked``: it was validated against ``version``'s schema;
    else ``reason`` says why not (German). ``errors``: number of deviations (at most ``max_errors``,
    ``capped`` when the count stopped there); ``details``: the first few, German, without values."""

    version: str
    checked: bool
    errors: int = 0
    details: tuple[str, ...] = ()
    capped: bool = False
    reason: str = ""

    @property
    def valid(self) -> bool:
        return self.checked and self.errors == 0

    def message(self) -> str:
        """One German sentence for the import report ("" when the message is valid)."""
        if not self.checked:
            return self.reason
        if not self.errors:
            return ""
        count = f"mindestens {self.errors}" if self.capped else str(self.errors)
        noun = "Abweichung" if self.errors == 1 and not self.capped else "Abweichungen"
        shown = "; ".join(self.details)
        more = " …" if self.errors > len(self.details) else ""
        return (f"Die XDOMEA-Nachricht entspricht nicht dem offiziellen XDOMEA-Schema {self.version} ({count} {noun}: "
                f"{shown}{more}). Das Paket wurde trotzdem eingelesen, weil Lotse die benötigten Angaben lesen konnte; "
                "bitte die Exportschnittstelle des Aktensystems prüfen lassen.")


def schema_for(version: str):
    """The compiled schema of one vendored version (built once, thread-safe); ``None`` if not vendored."""
    if version not in SCHEMA_VERSIONS:
        return None
    with _lock:
        schema = _schemas.get(version)
        if schema is None:
            import xmlschema  # imported on first use: building a schema is only needed for imports

            sources = [str(XSD_DIR / version / name) for name in _GROUP_FILES.values()]
            # allow="local": the includes/imports (../xoev/*.xsd) are read from the package, nothing else
            schema = xmlschema.XMLSchema10(sources, allow="local")
            _schemas[version] = schema
        return schema


def _local(tag: str | None) -> str:
    if not tag:
        return ""
    tag = tag.rpartition("}")[2]
    return tag.rpartition(":")[2]


def _short_path(path: str | None, keep: int = 3) -> str:
    """``/xdomea:A/xdomea:B[2]/xdomea:C`` -> ``…/B[2]/C`` (local names, the last ``keep`` steps)."""
    steps = [s.rpartition(":")[2] for s in (path or "").split("/") if s]
    if not steps:
        return "(Wurzel)"
    shown = "/".join(steps[-keep:])
    return ("…/" if len(steps) > keep else "") + shown


def _names(items, limit: int = 4) -> str:
    names = []
    for it in items or ():
        n = _local(getattr(it, "name", None) or (it if isinstance(it, str) else None))
        if n and n not in names:
            names.append(n)
    shown = ", ".join(f"„{n}“" for n in names[:limit])
    return shown + (" …" if len(names) > limit else "")


def describe(error) -> str:
    """A German description of one ``xmlschema`` validation error, without any instance value."""
    import xmlschema.validators.exceptions as xe

    line = getattr(error, "sourceline", None)
    where = _short_path(getattr(error, "path", None))
    child = getattr(error, "invalid_child", None)
    if isinstance(error, xe.XMLSchemaChildrenValidationError):
        expected = _names(getattr(error, "expected", None) or getattr(error, "expected_tags", None))
        if child is not None:
            line = getattr(child, "sourceline", None) or line
            what = f"unerwartetes Element „{_local(getattr(error, 'invalid_tag', None) or child.tag)}“"
            what += f" (erwartet: {expected})" if expected else " (an dieser Stelle nicht vorgesehen)"
        else:
            what = f"Pflichtelement fehlt (erwartet: {expected})" if expected else "Inhalt unvollständig"
    else:
        validator = getattr(error, "validator", None)
        kind = type(validator).__name__
        vname = _local(getattr(validator, "name", None))
        fixed = getattr(validator, "fixed", None)  # the schema's fixed value (facets: a bool flag instead)
        fixed = fixed if isinstance(fixed, str) else None
        if kind == "XsdAttribute":
            what = (f"Attribut „{vname}“ muss den festen Wert „{fixed}“ haben" if fixed is not None
                    else f"Attribut „{vname}“ ungültig")
        elif fixed is not None:
            what = f"Wert muss der feste Wert „{fixed}“ sein"
        elif "Facet" in kind:  # a restriction of a simple type: the type's name, never the value
            tname = _local(getattr(getattr(validator, "parent", None), "name", None))
            of = f" (Typ {tname})" if tname else ""
            if "Enumeration" in kind:
                what = f"Wert steht nicht in der vorgesehenen Werteliste{of}"
            elif "Pattern" in kind:
                what = f"Wert entspricht nicht dem vorgeschriebenen Muster{of}"
            elif "Length" in kind:
                what = f"Wert hat nicht die zulässige Länge{of}"
            else:
                what = f"ungültiger Wert{of}"
        elif isinstance(error, xe.XMLSchemaDecodeError) or "Atomic" in kind or "SimpleType" in kind \
                or "Restriction" in kind:
            tname = _local(getattr(validator, "name", None) or getattr(getattr(validator, "primitive_type", None),
                                                                      "name", None))
            what = f"ungültiger Wert (erwarteter Typ: {tname})" if tname else "ungültiger Wert"
        else:
            what = "verletzt eine Regel des Schemas"
    at = f"Zeile {line}, " if line else ""
    return f"{at}{where}: {what}"


def check_message(data: bytes, version: str, root_tag: str, *, max_errors: int = 200,
                  max_bytes: int = 32 * 1024 * 1024) -> SchemaCheck:
    """Validate one XDOMEA message (bytes; the caller has already refused any DOCTYPE) against the
    official schema of ``version``. ``root_tag``: the local name of the root element."""
    group = root_tag.split(".", 1)[0]
    if version not in SCHEMA_VERSIONS:
        return SchemaCheck(version, False, reason=(
            f"Für XDOMEA {version} liegt Lotse kein offizielles Schema vor (vorhanden: {', '.join(SCHEMA_VERSIONS)}); "
            "die Nachricht wurde eingelesen, aber nicht gegen ein Schema geprüft."))
    if group not in _GROUP_FILES:
        return SchemaCheck(version, False, reason=(
            f"Für die Nachricht {root_tag} liegt Lotse kein Schema vor (nur Aussonderung und Abgabe); "
            "sie wurde eingelesen, aber nicht gegen ein Schema geprüft."))
    if len(data) > max_bytes:
        return SchemaCheck(version, False, reason=(
            f"Die XDOMEA-Nachricht ist größer als {max_bytes // (1024 * 1024)} MB und wurde nicht gegen das Schema "
            "geprüft (Dauer); eingelesen wurde sie."))
    from lxml import etree

    try:
        schema = schema_for(version)
    except Exception:  # a broken installation must not stop imports
        log.exception("xdomea schema %s could not be built", version)
        return SchemaCheck(version, False, reason=(
            f"Das XDOMEA-Schema {version} konnte nicht geladen werden (Installation prüfen); die Nachricht wurde "
            "eingelesen, aber nicht gegen das Schema geprüft."))
    # line numbers come from lxml; entities, DTDs and the network are off (a DOCTYPE was refused before)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return SchemaCheck(version, False, reason="Die XDOMEA-Nachricht konnte für die Schemaprüfung nicht gelesen "
                                                  "werden; eingelesen wurde sie.")
    errors = 0
    details: list[str] = []
    capped = False
    try:
        for err in schema.iter_errors(root, use_location_hints=False):
            errors += 1
            if len(details) < _DETAILS:
                details.append(describe(err))
            if errors >= max_errors:
                capped = True
                break
    except Exception:  # the validator itself failed on this input: report, never stop the import
        log.exception("xdomea schema validation (%s) failed", version)
        return SchemaCheck(version, False, reason=(
            f"Die Prüfung gegen das XDOMEA-Schema {version} ist abgebrochen; die Nachricht wurde eingelesen, aber "
            "nicht vollständig gegen das Schema geprüft."))
    return SchemaCheck(version, True, errors, tuple(details), capped)


__all__ = ["SCHEMA_VERSIONS", "SchemaCheck", "XSD_DIR", "check_message", "describe", "schema_for"]
