"""Writes fictitious XDOMEA 3.x export packages (ZIP) of social-department cases, for tests and demos.

The cases come from the e-file double's seeded generator (:func:`connectors.efile.double.generator.
generate_cases`: Wohngeld, Hilfe zur Pflege, BuT, Grundsicherung, UVG, Zuschuss) and are written as
XDOMEA messages (``Aussonderung.Aussonderung.0503`` or ``Abgabe.Abgabe.0401``, namespace 3.0.0 or
3.1.0) with their primary documents. Personal data sits where real exports have it: in the free-text
``Betreff``/``Bemerkung`` fields and in the files; ``planted`` lists every such value for leak tests.

    python -m connectors.efile.xdomea_fixtures OUT_DIR [--cases 12] [--seed 7] [--per-package 4]
"""

from __future__ import annotations

import argparse
import json
import uuid
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from .double.casefile import TZ
from .double.generator import PlantedValue, generate_cases
from .procedures import by_code

MESSAGES = {
    "0501": ("Aussonderung.Anbieteverzeichnis.0501", "Aussonderung.Anbieteverzeichnis"),  # metadata only
    "0503": ("Aussonderung.Aussonderung.0503", "Aussonderung.Aussonderung"),
    "0401": ("Abgabe.Abgabe.0401", "Abgabe.Abgabe"),
}
# XDOMEA code list "Dateiformat": extension -> code (100 = Sonstiges, with SonstigerName)
FORMAT_CODES = {"pdf": "018", "txt": "045", "xml": "030", "docx": "035", "odt": "015"}
# document types (XDOMEA "Typ") recognised at the start of the double's document names
DOC_TYPES = ("Antrag", "Weiterleistungsantrag", "Nachweis Einkommen", "Mietvertrag", "Eingangsbestätigung",
             "Bewilligungsbescheid", "Pflegegutachten", "Heimvertrag", "Schulbescheinigung", "Rentenbescheid",
             "Kontoauszüge", "Geburtsurkunde", "Aufforderung Auskunft", "Kosten- und Finanzierungsplan",
             "Zuwendungsbescheid")
_UUID_NS = uuid.UUID("6f1f3c1e-4a52-4d55-9c1e-6c6f74736521")


@dataclass
class FixtureDocument:
    uuid: str
    kind: str  # Eingang / Erledigung / Intern (as in the double)
    type: str  # the XDOMEA Typ written ("" when none)
    files: dict[str, bytes]  # original file name -> content


@dataclass
class FixtureProcedure:
    uuid: str
    title: str
    state: str
    documents: list[FixtureDocument] = field(default_factory=list)


@dataclass
class FixtureCase:
    uuid: str
    aktenzeichen: str
    code: str  # procedure type code (WG, HZP, ...)
    package: Path
    procedures: list[FixtureProcedure] = field(default_factory=list)


@dataclass
class FixtureSet:
    packages: list[Path]
    cases: list[FixtureCase]
    planted: list[PlantedValue]  # every personal value in the packages (and some of cancelled cases)

    def case(self, aktenzeichen: str) -> FixtureCase:
        return next(c for c in self.cases if c.aktenzeichen == aktenzeichen)


def stable_uuid(seed: int, key: str) -> str:
    return str(uuid.uuid5(_UUID_NS, f"{seed}:{key}"))


def _doc_type(shortname: str) -> str:
    best = ""
    for t in DOC_TYPES:
        if (shortname == t or shortname.startswith(t + " ")) and len(t) > len(best):
            best = t
    return best


class _Writer:
    def __init__(self, ns: str, seed: int):
        self.ns = ns
        self.seed = seed
        self.files: dict[str, bytes] = {}

    def el(self, parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        e = ET.SubElement(parent, f"{{{self.ns}}}{tag}", attrs)
        if text is not None:
            e.text = text
        return e

    def ident(self, parent: ET.Element, oid: str, number: int | None = None) -> None:
        idf = self.el(parent, "Identifikation")
        self.el(idf, "ID", oid)
        if number is not None:
            self.el(idf, "NummerImUebergeordnetenContainer", str(number))

    def meta(self, parent: ET.Element, betreff: str, kennzeichen: str = "", bemerkung: str = "",
             aplan: tuple[str, str] | None = None) -> None:
        m = self.el(parent, "AllgemeineMetadaten")
        if betreff:
            self.el(m, "Betreff", betreff)
        if kennzeichen:
            self.el(m, "Kennzeichen", kennzeichen)
        if bemerkung:
            self.el(m, "Bemerkung", bemerkung)
        medium = self.el(m, "Medium", listURI="urn:xoev-de:xdomea:codeliste:medium", listVersionID="1.0")
        ET.SubElement(medium, "code").text = "001"
        if aplan:
            ape = self.el(m, "Aktenplaneinheit")
            self.el(ape, "Kennzeichen", aplan[0])
            self.el(ape, "Inhaltsangabe", aplan[1])

    def version(self, parent: ET.Element, file_key: str, name: str, content: bytes, when: datetime,
                number: int = 1) -> None:
        ext = name.rpartition(".")[2].lower() if "." in name else ""
        member = f"{stable_uuid(self.seed, file_key)}_{name}"
        if number > 1:  # each version its own file
            member = f"{stable_uuid(self.seed, f'{file_key}:v{number}')}_{name}"
        self.files[member] = content
        v = self.el(parent, "Version")
        self.el(v, "Nummer", str(number))
        fmt = self.el(v, "Format")
        fname = self.el(fmt, "Name", listURI="urn:xoev-de:xdomea:codeliste:dateiformat", listVersionID="2.0")
        ET.SubElement(fname, "code").text = FORMAT_CODES.get(ext, "100")
        if ext not in FORMAT_CODES:
            self.el(fmt, "SonstigerName", ext or "unbekannt")
        self.el(fmt, "Version", "")
        prim = self.el(fmt, "Primaerdokument")
        self.el(prim, "Dateiname", member)
        self.el(prim, "DateinameOriginal", name)
        self.el(prim, "DatumUhrzeit", when.isoformat(timespec="seconds"))

    def versions(self, parent: ET.Element, file_key: str, name: str, content: bytes, when: datetime,
                 versions: int, first: int) -> None:
        """Versions ``first`` .. ``first + versions - 1``; the latest holds ``content``, older ones
        ``[Fassung n] `` + content."""
        last = first + max(1, versions) - 1
        for n in range(first, last + 1):
            data = content if n == last else f"[Fassung {n}] ".encode() + content
            self.version(parent, file_key, name, data, when, n)


def _content(f: dict[str, Any]) -> bytes:
    if "json" in f:
        return json.dumps(f["json"], ensure_ascii=False, indent=2).encode("utf-8")
    return str(f.get("text") or "").encode("utf-8")


def build_message(cases: list[dict[str, Any]], seed: int, *, version: str = "3.0.0", message: str = "0503",
                  process_id: str | None = None, created: datetime | None = None, versions: int = 1,
                  first_version: int = 1) -> tuple[str, bytes, dict[str, bytes], list[FixtureCase]]:
    """One XDOMEA message for ``cases`` (double format): (message file name, XML, files, fixture cases).

    ``message="0501"`` (Anbieteverzeichnis) lists the Akten, Vorgänge and Dokumente without any
    version or file, as an offer before the Aussonderung; ``created`` is the Erstellungszeitpunkt
    (message order); ``versions``/``first_version``: every document's primary file in that many
    versions numbered from ``first_version`` (see :meth:`_Writer.versions`)."""
    metadata_only = message == "0501"
    ns = f"urn:xoev-de:xdomea:schema:{version}"
    ET.register_namespace("xdomea", ns)
    w = _Writer(ns, seed)
    root_tag, type_name = MESSAGES[message]
    pid = process_id or stable_uuid(seed, "process:" + ",".join(c["coo"] for c in cases))
    root = ET.Element(f"{{{ns}}}{root_tag}")
    kopf = w.el(root, "Kopf")
    w.el(kopf, "ProzessID", pid)
    nt = w.el(kopf, "Nachrichtentyp", listURI="urn:xoev-de:xdomea:codeliste:nachrichtentyp", listVersionID="2.0")
    ET.SubElement(nt, "code").text = message
    ET.SubElement(nt, "name").text = type_name
    w.el(kopf, "Erstellungszeitpunkt",
         (created or datetime(2026, 3, 2, 9, 30, tzinfo=TZ)).isoformat(timespec="seconds"))
    for role, name in (("Absender", "Landeshauptstadt München, Sozialreferat"),
                       ("Empfaenger", "Stadtarchiv München")):
        r = w.el(kopf, role)
        inst = w.el(r, "Institution")
        w.el(inst, "Name", name)
    system = w.el(kopf, "SendendesSystem")
    w.el(system, "Produktname", "Lotse-Testdaten")
    w.el(system, "Version", "1.0")
    w.el(kopf, "Importbestaetigung", "0")
    w.el(kopf, "Empfangsbestaetigung", "0")
    out: list[FixtureCase] = []
    for case in cases:
        pt = by_code(case["procedure_type"])
        case_id = stable_uuid(seed, case["coo"])
        fc = FixtureCase(case_id, case["objname"], pt.code, Path())
        sgo = w.el(root, "Schriftgutobjekt")
        akte = w.el(sgo, "Akte")
        w.ident(akte, case_id)
        w.meta(akte, case.get("shortname", ""), case["objname"], case.get("filesubj", ""),
               (pt.apentry_basenr, pt.name))
        w.el(akte, "Typ", "Fallakte")
        lz = w.el(akte, "Laufzeit")
        w.el(lz, "Beginn", case["fileruntimefrom"][:10])
        if all(p.get("state") == "Abgeschlossen" for p in case["procedures"]):
            w.el(lz, "Ende", case["fileruntimetill"][:10])
        inhalt = w.el(akte, "Akteninhalt")
        for n_proc, proc in enumerate(case["procedures"], 1):
            proc_id = stable_uuid(seed, proc["coo"])
            state = proc.get("state", "In Bearbeitung")
            fp = FixtureProcedure(proc_id, proc["shortname"], state)
            fc.procedures.append(fp)
            vorgang = w.el(inhalt, "Vorgang")
            w.ident(vorgang, proc_id, n_proc)
            remark = " ".join(t for t in (proc.get("filesubj", ""), proc.get("procremark", "")) if t)
            w.meta(vorgang, proc["shortname"], f"{case['objname']}-{n_proc}", remark)
            if state == "Abgeschlossen":
                w.el(vorgang, "ZdA", "true")
            n_doc = 0
            for doc in proc["documents"]:
                if doc.get("state") == "Storniert":
                    continue  # cancelled documents are not exported
                n_doc += 1
                doc_id = stable_uuid(seed, doc["coo"])
                typ = _doc_type(doc["shortname"])
                when = datetime.fromisoformat(doc["date"])
                files = {f["name"]: _content(f) for f in doc["files"]}
                fp.documents.append(FixtureDocument(doc_id, doc["kind"], typ, files))
                d = w.el(vorgang, "Dokument")
                w.ident(d, doc_id, n_doc)
                # real exports put the subject line (with names, addresses) into Betreff
                betreff = (doc.get("filesubj") or doc["shortname"]) if typ else doc["shortname"]
                w.meta(d, betreff.split("\n")[0], "", doc["shortname"] if typ else "")
                if doc["kind"] == "Eingang":
                    w.el(d, "Posteingangsdatum", when.date().isoformat())
                elif doc["kind"] == "Erledigung":
                    w.el(d, "Postausgangsdatum", when.date().isoformat())
                w.el(d, "DatumDesSchreibens", when.date().isoformat())
                if typ:
                    w.el(d, "Typ", typ)
                if metadata_only:
                    continue
                first, *rest = doc["files"]
                w.versions(d, first["coo"], first["name"], files[first["name"]], when, versions, first_version)
                for n_att, f in enumerate(rest, 1):
                    anlage = w.el(d, "Anlage")
                    w.ident(anlage, stable_uuid(seed, "anlage:" + f["coo"]))
                    w.meta(anlage, f["name"])
                    w.version(anlage, f["coo"], f["name"], files[f["name"]], when)
                    w.el(anlage, "Nummer", str(n_att))
        out.append(fc)
    ET.indent(root)
    xml = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return f"{pid}_{root_tag}.xml", xml, w.files, out


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def write_packages(directory: Path, n_cases: int = 12, seed: int = 7, *, per_package: int = 4,
                   version: str | list[str] = ("3.0.0", "3.1.0"), message: str | list[str] = ("0503", "0401"),
                   ) -> FixtureSet:
    """``n_cases`` generated cases (not cancelled ones) as ZIPs of ``per_package`` cases each.

    ``version``/``message`` may be lists: the packages alternate between them (default: 3.0.0 and
    3.1.0, Aussonderung 0503 and Abgabe 0401)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    all_cases, planted = generate_cases(n_cases, seed)
    active = [c for c in all_cases if c.get("state") != "Storniert"]
    versions = [version] if isinstance(version, str) else list(version)
    messages = [message] if isinstance(message, str) else list(message)
    packages: list[Path] = []
    fixture_cases: list[FixtureCase] = []
    for i in range(0, len(active), max(1, per_package)):
        chunk = active[i:i + per_package]
        k = i // max(1, per_package)
        name, xml, files, fcs = build_message(chunk, seed, version=versions[k % len(versions)],
                                              message=messages[k % len(messages)])
        path = write_zip(directory / f"sozialreferat_export_{k + 1:03d}.zip", {name: xml, **files})
        for fc in fcs:
            fc.package = path
        packages.append(path)
        fixture_cases.extend(fcs)
    return FixtureSet(packages, fixture_cases, planted)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Fiktive XDOMEA-Exportpakete (ZIP) erzeugen")
    ap.add_argument("out", type=Path, help="Zielverzeichnis")
    ap.add_argument("--cases", type=int, default=12, help="Anzahl Akten")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--per-package", type=int, default=4, help="Akten je Paket")
    args = ap.parse_args(argv)
    fs = write_packages(args.out, args.cases, args.seed, per_package=args.per_package)
    print(f"{len(fs.packages)} Pakete mit {len(fs.cases)} Akten in {args.out}")
    for c in fs.cases:
        print(f"  {c.aktenzeichen}  {c.uuid}  {c.package.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
