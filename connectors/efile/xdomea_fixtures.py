"""Writes fictitious XDOMEA 3.x (and 2.3/2.4) export packages (ZIP) of social-department cases, for tests and demos.

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
from .xdomea_fixture_files import is_pdfa, office_file

MESSAGES = {
    "0501": ("Aussonderung.Anbieteverzeichnis.0501", "Aussonderung.Anbieteverzeichnis"),  # metadata only
    "0503": ("Aussonderung.Aussonderung.0503", "Aussonderung.Aussonderung"),
    "0401": ("Abgabe.Abgabe.0401", "Abgabe.Abgabe"),
}
# XDOMEA code list "Dateiformat": extension -> code (100 = Sonstiges, with SonstigerName)
FORMAT_CODES = {"pdf": "018", "txt": "045", "xml": "030", "docx": "035", "odt": "015"}
# "pdf - Portable Document Format (Archival)" in the Dateiformat list of the 2.3/2.4 schemas (3.x
# refers to the external code list, which is not vendored; the same code is written there)
PDFA_CODE = "044"
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
        # XDOMEA 2.3/2.4 lack NummerImUebergeordnetenContainer and Primaerdokument/DateinameOriginal
        self.v2 = ns.rsplit(":", 1)[-1].startswith("2.")
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
        if number is not None and not self.v2:
            self.el(idf, "NummerImUebergeordnetenContainer", str(number))

    def meta(self, parent: ET.Element, betreff: str, kennzeichen: str = "", bemerkung: str = "",
             aplan: tuple[str, str] | None = None, federfuehrung: str = "") -> None:
        m = self.el(parent, "AllgemeineMetadaten")
        if betreff:
            self.el(m, "Betreff", betreff)
        if kennzeichen:
            self.el(m, "Kennzeichen", kennzeichen)
        if federfuehrung:
            self.el(m, "Federfuehrung", federfuehrung)
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
        code = PDFA_CODE if ext == "pdf" and is_pdfa(content) else FORMAT_CODES.get(ext, "100")
        member = f"{stable_uuid(self.seed, file_key)}_{name}"
        if number > 1:  # each version its own file
            member = f"{stable_uuid(self.seed, f'{file_key}:v{number}')}_{name}"
        self.files[member] = content
        v = self.el(parent, "Version")
        self.el(v, "Nummer", str(number))
        fmt = self.el(v, "Format")
        fname = self.el(fmt, "Name", listURI="urn:xoev-de:xdomea:codeliste:dateiformat",
                        listVersionID="1.0" if self.v2 else "2.0")
        ET.SubElement(fname, "code").text = code
        if code == "100":
            self.el(fmt, "SonstigerName", ext or "unbekannt")
        self.el(fmt, "Version", "")
        prim = self.el(fmt, "Primaerdokument")
        self.el(prim, "Dateiname", member)
        if not self.v2:
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
                  first_version: int = 1, vorgang_only: bool = False,
                  foreign: tuple[str, str, str] | None = None, federfuehrung: str = "",
                  office_files: bool = False,
                  ) -> tuple[str, bytes, dict[str, bytes], list[FixtureCase]]:
    """One XDOMEA message for ``cases`` (double format): (message file name, XML, files, fixture cases).

    ``message="0501"`` (Anbieteverzeichnis) lists the Akten, Vorgänge and Dokumente without any
    version or file, as an offer before the Aussonderung; ``created`` is the Erstellungszeitpunkt
    (message order); ``versions``/``first_version``: every document's primary file in that many
    versions numbered from ``first_version`` (see :meth:`_Writer.versions`). ``vorgang_only``: each
    case's first Vorgang as a Schriftgutobjekt of its own, without its Akte (the Vorgang carries the
    Aktenzeichen and Aktenplan entry). ``foreign=(Aktenplan-Kennzeichen, Inhaltsangabe, prefix)``:
    the Akten are filed under an Aktenplan entry outside the procedure catalog, with Aktenzeichen
    ``<prefix>/<year>/<number>`` (e.g. ``S-II-KJF``); ``federfuehrung``: the Akten's Federführung.
    ``office_files``: text files become PDF/A (incoming and internal documents, Dateiformat 044) and
    DOCX (outgoing letters, 035), see :func:`office_file`; ``antrag.json`` stays."""
    metadata_only = message == "0501"
    ns = f"urn:xoev-de:xdomea:schema:{version}"
    ET.register_namespace("xdomea", ns)
    w = _Writer(ns, seed)
    root_tag, type_name = MESSAGES[message]
    pid = process_id or stable_uuid(seed, "process:" + ",".join(c["coo"] for c in cases))
    root = ET.Element(f"{{{ns}}}{root_tag}")
    kopf = w.el(root, "Kopf")
    w.el(kopf, "ProzessID", pid)
    # the code list version is fixed by the schema: Nachrichtentyp 2.0 in 3.x, every code list 1.0 in 2.x
    nt = w.el(kopf, "Nachrichtentyp", listURI="urn:xoev-de:xdomea:codeliste:nachrichtentyp",
              listVersionID="1.0" if w.v2 else "2.0")
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
    # the Kopf's last elements differ per message (XSD: NkAussonderungType, NkAbgabeType,
    # NkNichtFVDatenEinEmpfaengerMitEmpfangsbestaetigungType); Importbestaetigung is fixed to 1
    if message in ("0503", "0401"):
        w.el(kopf, "Importbestaetigung", "1")
    if message == "0503":
        w.el(kopf, "RueckmeldungArchivkennung", "1")
    if message == "0501" or not w.v2:
        w.el(kopf, "Empfangsbestaetigung", "1" if message == "0501" else "0")
    out: list[FixtureCase] = []

    def write_vorgang(parent: ET.Element, case: dict[str, Any], proc: dict[str, Any], n_proc: int,
                      fp: FixtureProcedure, kennzeichen: str = "", aplan: tuple[str, str] | None = None) -> None:
        proc_id = fp.uuid
        state = fp.state
        vorgang = w.el(parent, "Vorgang")
        w.ident(vorgang, proc_id, n_proc)
        remark = " ".join(t for t in (proc.get("filesubj", ""), proc.get("procremark", "")) if t)
        w.meta(vorgang, proc["shortname"], kennzeichen or f"{case['objname']}-{n_proc}", remark, aplan)
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
            names = {n: n for n in files}
            if office_files:
                converted = {n: office_file(n, c, outgoing=doc["kind"] == "Erledigung",
                                            title=doc["shortname"], created=when) for n, c in files.items()}
                names = {n: new for n, (new, _) in converted.items()}
                files = {new: data for new, data in converted.values()}
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
            fname = names[first["name"]]
            w.versions(d, first["coo"], fname, files[fname], when, versions, first_version)
            for n_att, f in enumerate(rest, 1):
                anlage = w.el(d, "Anlage")
                w.ident(anlage, stable_uuid(seed, "anlage:" + f["coo"]))
                fname = names[f["name"]]
                w.meta(anlage, fname)
                w.version(anlage, f["coo"], fname, files[fname], when)
                w.el(anlage, "Nummer", str(n_att))

    for case in cases:
        case_id = stable_uuid(seed, case["coo"])
        if foreign:
            kz, inhalt_name, prefix = foreign
            az = prefix + "/" + case["objname"].split("/", 1)[1]
            aplan, code = (kz, inhalt_name), ""
        else:
            pt = by_code(case["procedure_type"])
            az, aplan, code = case["objname"], (pt.apentry_basenr, pt.name), pt.code
        sgo = w.el(root, "Schriftgutobjekt")
        if vorgang_only:
            # the first Vorgang of the case alone, without its Akte (it carries the Aktenzeichen)
            proc = case["procedures"][0]
            fp = FixtureProcedure(stable_uuid(seed, proc["coo"]), proc["shortname"],
                                  proc.get("state", "In Bearbeitung"))
            fc = FixtureCase(fp.uuid, az, code, Path(), [fp])
            write_vorgang(sgo, case, proc, 1, fp, az, aplan)
            out.append(fc)
            continue
        fc = FixtureCase(case_id, az, code, Path())
        akte = w.el(sgo, "Akte")
        w.ident(akte, case_id)
        w.meta(akte, case.get("shortname", ""), az, case.get("filesubj", ""), aplan, federfuehrung)
        w.el(akte, "Typ", "Fallakte")
        lz = w.el(akte, "Laufzeit")
        w.el(lz, "Beginn", case["fileruntimefrom"][:10])
        if all(p.get("state") == "Abgeschlossen" for p in case["procedures"]):
            w.el(lz, "Ende", case["fileruntimetill"][:10])
        inhalt = w.el(akte, "Akteninhalt")
        for n_proc, proc in enumerate(case["procedures"], 1):
            fp = FixtureProcedure(stable_uuid(seed, proc["coo"]), proc["shortname"],
                                  proc.get("state", "In Bearbeitung"))
            fc.procedures.append(fp)
            write_vorgang(inhalt, case, proc, n_proc, fp)
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


#: Aktenplan entries outside the procedure catalog used by :func:`write_real_style`
FOREIGN_MAPPED = ("S-II 40 50", "Jugendsozialarbeit", "S-II-JSA")  # prefix S-II -> department S-II
FOREIGN_UNMAPPED = ("AP 99.1", "Allgemeine Verwaltung", "X-ALLG")  # department from the Federführung
FOREIGN_FEDERFUEHRUNG = "S-Z-ZD/2"


@dataclass
class RealStyleSet(FixtureSet):
    """The packages of :func:`write_real_style`; the lists name the fixture cases of each variant."""

    sequence: list[FixtureCase] = field(default_factory=list)  # 0501 then 0503 of the same Akten
    vorgang_only: list[FixtureCase] = field(default_factory=list)
    foreign: list[FixtureCase] = field(default_factory=list)  # Aktenplan entry S-II 40 50
    foreign_federfuehrung: list[FixtureCase] = field(default_factory=list)  # entry AP 99.1, Federführung S-Z
    versioned: list[FixtureCase] = field(default_factory=list)  # every document in versions 1-3
    xdomea_2: list[FixtureCase] = field(default_factory=list)  # XDOMEA 2.4.0 (0503) and 2.3.0 (0401)
    office: list[FixtureCase] = field(default_factory=list)  # primary documents as PDF/A and DOCX


def write_real_style(directory: Path, seed: int = 21, *, version: str = "3.1.0") -> RealStyleSet:
    """Packages as document systems write them: an Anbieteverzeichnis 0501 (metadata only) and the
    Aussonderung 0503 of the same Akten (file names sorting the other way round), a Vorgang without
    Akte, Akten of foreign Aktenplan entries (one mapped by prefix, one with a Federführung), and a
    package whose documents come in three versions, packages in XDOMEA 2.4.0 and 2.3.0, and one
    whose primary documents are PDF/A (incoming mail) and DOCX (outgoing letters). Every message
    validates against the official XSD of its version. All persons are invented (``planted``)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    all_cases, planted = generate_cases(16, seed)
    active = [c for c in all_cases if c.get("state") != "Storniert"]
    groups = [active[0:2], active[2:4], active[4:6], active[6:8], active[8:10], active[10:12], active[12:13],
              active[13:15]]
    out = RealStyleSet([], [], planted)
    early, late = datetime(2026, 1, 12, 8, 0, tzinfo=TZ), datetime(2026, 3, 16, 14, 0, tzinfo=TZ)

    def put(name: str, cases: list[dict[str, Any]], **kw: Any) -> list[FixtureCase]:
        kw.setdefault("version", version)
        msg, xml, files, fcs = build_message(cases, seed, **kw)
        path = write_zip(directory / name, {msg: xml, **files})
        for fc in fcs:
            fc.package = path
        out.packages.append(path)
        return fcs

    put("z_anbieteverzeichnis_0501.zip", groups[0], message="0501", created=early)
    out.sequence = put("a_aussonderung_0503.zip", groups[0], message="0503", created=late)
    out.vorgang_only = put("vorgang_ohne_akte.zip", groups[1], vorgang_only=True, created=late)
    out.foreign = put("fremder_aktenplan.zip", groups[2], message="0401", foreign=FOREIGN_MAPPED, created=late)
    out.foreign_federfuehrung = put("fremder_aktenplan_federfuehrung.zip", groups[3], message="0401",
                                    foreign=FOREIGN_UNMAPPED, federfuehrung=FOREIGN_FEDERFUEHRUNG, created=late)
    out.versioned = put("versionen.zip", groups[4], message="0401", versions=3, created=late)
    out.xdomea_2 = put("xdomea_2_4_aussonderung.zip", groups[5], message="0503", created=late, version="2.4.0")
    out.xdomea_2 += put("xdomea_2_3_abgabe.zip", groups[6], message="0401", created=late, version="2.3.0")
    out.office = put("dms_pdfa_docx.zip", groups[7], message="0503", created=late, office_files=True)
    out.cases = [*out.sequence, *out.vorgang_only, *out.foreign, *out.foreign_federfuehrung, *out.versioned,
                 *out.xdomea_2, *out.office]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Fiktive XDOMEA-Exportpakete (ZIP) erzeugen")
    ap.add_argument("out", type=Path, help="Zielverzeichnis")
    ap.add_argument("--cases", type=int, default=12, help="Anzahl Akten")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--per-package", type=int, default=4, help="Akten je Paket")
    ap.add_argument("--real-style", action="store_true",
                    help="Varianten wie aus Dokumentenmanagementsystemen: 0501 dann 0503, Vorgang ohne Akte, "
                         "fremder Aktenplan, mehrere Versionen, XDOMEA 2.3/2.4, PDF/A- und DOCX-Dokumente")
    args = ap.parse_args(argv)
    if args.real_style:
        fs = write_real_style(args.out, args.seed)
    else:
        fs = write_packages(args.out, args.cases, args.seed, per_package=args.per_package)
    print(f"{len(fs.packages)} Pakete mit {len(fs.cases)} Akten in {args.out}")
    for c in fs.cases:
        print(f"  {c.aktenzeichen}  {c.uuid}  {c.package.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
