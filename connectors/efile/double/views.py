"""JSON shapes of the EAI answers, built from stored objects (field names as in the spec)."""

from __future__ import annotations

import base64
import math
from typing import Any

from .store import Obj

OBJCLASS = {"file": "Sachakte", "procedure": "Vorgang", "incoming": "Eingangsdokument",
            "outgoing": "Erledigung", "internal": "Dokument", "apentry": "Aktenplaneintrag"}
CONTENT_CLASS = {"pdf": "PDF-Dokument", "txt": "Text-Dokument", "docx": "Microsoft Word-Objekt",
                 "doc": "Microsoft Word-Objekt", "xlsx": "Microsoft Excel-Arbeitsblatt", "png": "PNG-Objekt",
                 "jpg": "JPEG-Objekt", "jpeg": "JPEG-Objekt", "odt": "Textdokument", "rtf": "Rich Text Format",
                 "zip": "Zip-Archiv"}


def ref(o: Obj) -> dict[str, str]:
    """Objektreferenz as the running EAI serialises it."""
    return {"objname": o.objname, "objaddress": o.coo}


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def file_view(o: Obj, procedures: list[Obj]) -> dict[str, Any]:
    d = o.data
    return _clean({
        "shortname": o.shortname, "filesubj": o.filesubj, "objterms": d.get("objterms"),
        "accdef": d.get("accdef"), "apentry": o.parent, "fileruntimefrom": d.get("fileruntimefrom"),
        "fileruntimetill": d.get("fileruntimetill"), "fileouobj": d.get("fileouobj"),
        "procedureaccdef": d.get("procedureaccdef"), "objname": o.objname,
        "giobjecttype": [ref(p) for p in procedures],
    })


def procedure_view(o: Obj, documents: list[Obj]) -> dict[str, Any]:
    d = o.data
    return _clean({
        "shortname": o.shortname, "filesubj": o.filesubj, "objterms": d.get("objterms"),
        "accdef": d.get("accdef"), "fileruntimefrom": d.get("fileruntimefrom"),
        "fileruntimetill": d.get("fileruntimetill"), "procremark": d.get("procremark"),
        "referrednumber": o.parent, "filetype": d.get("filetype"), "objname": o.objname,
        "objdocstate": o.state, "bostate": d.get("bostate"), "objowngroup": d.get("objowngroup"),
        "giobjecttype": [ref(x) for x in documents],
    })


def contsize(content: bytes | None) -> str:
    return str(math.ceil(len(content or b"") / 1024))


def _by(d: dict[str, Any], key: str) -> dict[str, list[str]]:
    value = d.get(key)
    return {"string": [value] if value else []}


def metadata_view(o: Obj) -> dict[str, Any]:
    d = o.data
    ext = d.get("fileExtention") or ""
    return _clean({
        "objaddress": o.coo, "filename": d.get("fileName"), "fileextension": ext,
        "objclass": CONTENT_CLASS.get(ext.lower(), "Inhalt (unbekannter Typ)"),
        "contsize": contsize(o.content), "objcreatedby": _by(d, "objcreatedby"),
        "objcreatedat": d.get("objcreatedat"), "objchangedby": _by(d, "objcreatedby"),
        "objmodifiedat": d.get("objcreatedat"),
    })


def content_view(o: Obj) -> dict[str, Any]:
    d = o.data
    return {
        "referrednumber": o.parent,
        "giattachmenttype": {
            "fileName": d.get("fileName"), "fileExtention": d.get("fileExtention"),
            "fileContent": base64.b64encode(o.content or b"").decode("ascii"),
            "fileContsize": contsize(o.content), "filesubj": {"string": list(d.get("filesubj") or [])},
        },
    }


def document_metadata_view(o: Obj, org_unit: str | None) -> dict[str, Any]:
    d = o.data
    return _clean({
        "objname": o.objname, "objaddress": o.coo, "objclass": OBJCLASS.get(o.kind, "Dokument"),
        "objcreatedat": d.get("objcreatedat"), "objcreatedby": _by(d, "objcreatedby"),
        "objmodifiedat": d.get("objcreatedat"), "objchangedby": _by(d, "objcreatedby"),
        "objowner": d.get("objcreatedby"), "objou": org_unit,
    })


def outgoing_view(o: Obj, contents: list[Obj]) -> dict[str, Any]:
    d = o.data
    return _clean({
        "shortname": o.shortname, "filesubj": o.filesubj, "objterms": d.get("objterms"),
        "accdef": d.get("accdef"), "objname": o.objname, "referrednumber": o.parent,
        "referredincoming": d.get("referredincoming"), "outgoingdate": d.get("outgoingdate"),
        "subfiletype": d.get("subfiletype"), "incattachments": d.get("incattachments"),
        "gimetadatatype": [metadata_view(c) for c in contents],
    })
