"""XDOMEA import connector (connectors/efile/xdomea.py) over generated export packages.

(a) import: cases, procedures, documents and file contents of generated XDOMEA 3.0.0 and 3.1.0
    packages (0503 and 0401 messages) round-trip through the connector; search works as in the
    REST e-file.
(b) hostile and broken packages (corrupt ZIP, no message, malformed XML, DOCTYPE/entity bombs,
    XXE, path traversal, zip bombs, missing files, wrong version): each gets its German error for
    that package, the good packages still import.
(c) read-only: filing is refused and changes nothing.
(d) `lotse sync-cases` (real CLI process) indexes the imported cases through the PII-guarded sync:
    no planted personal value from the free-text Betreff/Bemerkung fields reaches the data dir,
    broken packages show up in the report, a vanished directory removes nothing.
(e) `lotse ask --case AZ` answers from an imported case.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import time
import zipfile
from datetime import datetime
from pathlib import Path

import pytest

from connectors.efile.double.casefile import TZ
from connectors.efile.double.generator import generate_cases
from connectors.efile.errors import EFileRefused, NotFound, SourceUnavailable
from connectors.efile.procedures import PROCEDURE_TYPES, by_code
from connectors.efile.protocol import EFileConnector
from connectors.efile.xdomea import Limits, XdomeaConnector, XdomeaPackageError, read_package
from connectors.efile.xdomea_fixtures import build_message, write_packages, write_zip
from indexer.analysis import fold
from tests.conftest import copy_demo_index, lotse_cmd

N_CASES, SEED = 12, 7
MIN_LEN = 6  # as in test_case_sync: shorter values also occur by chance in binary files
# Chroma's HNSW segment files may hold uninitialised process memory (known issue, see the xfail
# test in test_case_sync.py); they are excluded from the leak scan like there.
HNSW_FILES = {"data_level0.bin", "link_lists.bin", "header.bin", "length.bin"}


# -- helpers ------------------------------------------------------------------------------------


def _connector(directory: Path, **kw) -> XdomeaConnector:
    return XdomeaConnector(directory, refresh_interval_s=0, **kw)


def _all_cases(conn: XdomeaConnector) -> set[str]:
    """Every case the sync would find (one search per Aktenplan entry, as CaseSync does)."""
    return {r.coo for pt in PROCEDURE_TYPES for r in conn.search_cases(apentry=pt.apentry_coo)}


def _all_documents(conn: XdomeaConnector) -> list[str]:
    return [d.coo for c in sorted(_all_cases(conn)) for p in conn.get_case(c).procedures
            for d in conn.list_documents(p.coo)]


def _problems_of(conn: XdomeaConnector, package: str) -> list:
    return [p for p in conn.problems() if p.package == package]


def _small_message(seed: int, n: int = 2, **kw) -> tuple[str, bytes, dict[str, bytes]]:
    cases = [c for c in generate_cases(n, seed)[0] if c.get("state") != "Storniert"]
    name, xml, files, _ = build_message(cases, seed, **kw)
    return name, xml, files


def _patch_declared_size(data: bytes, member: str, size: int) -> bytes:
    """Set the uncompressed size a ZIP declares for ``member`` (local header and central directory)."""
    buf = bytearray(data)
    raw = member.encode()
    i = 0
    while (i := buf.find(b"PK\x03\x04", i)) >= 0:
        n = struct.unpack_from("<H", buf, i + 26)[0]
        if bytes(buf[i + 30:i + 30 + n]) == raw:
            struct.pack_into("<I", buf, i + 22, size)
        i += 4
    i = 0
    while (i := buf.find(b"PK\x01\x02", i)) >= 0:
        n = struct.unpack_from("<H", buf, i + 28)[0]
        if bytes(buf[i + 46:i + 46 + n]) == raw:
            struct.pack_into("<I", buf, i + 24, size)
        i += 4
    return bytes(buf)


def _remove_member(path: Path, member: str) -> None:
    with zipfile.ZipFile(path) as zf:
        keep = {i.filename: zf.read(i) for i in zf.infolist() if i.filename != member}
    path.unlink()
    write_zip(path, keep)


def _first_file_member(path: Path, suffix: str) -> str:
    with zipfile.ZipFile(path) as zf:
        return next(n for n in zf.namelist() if n.endswith(suffix))


BILLION_LAUGHS = (b'<!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + b"".join(b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10 if i > 1 else b"&lol;" * 10)
                             for i in range(1, 10))
                  + b"]>")


def _with_doctype(xml: bytes, doctype: bytes, entity_ref: bytes) -> bytes:
    head, _, rest = xml.partition(b"?>")
    rest = rest.replace(b"<xdomea:Betreff>", b"<xdomea:Betreff>" + entity_ref, 1)
    return head + b"?>\n" + doctype + rest


def write_hostile(directory: Path) -> dict[str, str]:
    """Broken and hostile packages next to the good ones; returns file name -> expected German phrase."""
    expected = {}
    name, xml, files = _small_message(101)
    good = write_zip(directory / "zz_vorlage.zip", {name: xml, **files}).read_bytes()
    (directory / "zz_vorlage.zip").unlink()

    (directory / "a_beschaedigt.zip").write_bytes(good[: len(good) // 2])
    expected["a_beschaedigt.zip"] = "keine gültige ZIP-Datei oder ist beschädigt"

    write_zip(directory / "b_ohne_nachricht.zip", {"liesmich.txt": b"Nur ein Begleitschreiben.", **files})
    expected["b_ohne_nachricht.zip"] = "enthält keine XDOMEA-Nachricht"

    write_zip(directory / "c_kaputtes_xml.zip", {name: xml[: len(xml) * 2 // 3], **files})
    expected["c_kaputtes_xml.zip"] = "kein wohlgeformtes XML"

    write_zip(directory / "d_entitaeten_bombe.zip", {name: _with_doctype(xml, BILLION_LAUGHS, b"&lol9;"), **files})
    expected["d_entitaeten_bombe.zip"] = "DOCTYPE-Deklaration"

    xxe = b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    write_zip(directory / "e_xxe.zip", {name: _with_doctype(xml, xxe, b"&xxe;"), **files})
    expected["e_xxe.zip"] = "DOCTYPE-Deklaration"

    dtd = b'<!DOCTYPE xdomea:Aussonderung.Aussonderung.0503 SYSTEM "http://127.0.0.1:9/xdomea.dtd">'
    write_zip(directory / "e_dtd_extern.zip", {name: _with_doctype(xml, dtd, b""), **files})
    expected["e_dtd_extern.zip"] = "DOCTYPE-Deklaration"

    write_zip(directory / "f_pfad.zip", {name: xml, **files, "../../ausserhalb.txt": b"x"})
    expected["f_pfad.zip"] = "unzulässige Dateinamen"

    member = next(iter(files))
    bomb = write_zip(directory / "g_zip_bombe.zip", {name: xml, **files}).read_bytes()
    (directory / "g_zip_bombe.zip").write_bytes(_patch_declared_size(bomb, member, 3_900_000_000))
    expected["g_zip_bombe.zip"] = "Schutz vor ZIP-Bomben"

    ns_old = xml.replace(b"urn:xoev-de:xdomea:schema:3.0.0", b"urn:xoev-de:xdomea:schema:2.1.0")
    write_zip(directory / "h_version_2.zip", {name: ns_old, **files})
    expected["h_version_2.zip"] = "unterstützt werden XDOMEA 3.x (3.0.0, 3.1.0) sowie 2.3 und 2.4"
    return expected


# -- (a) import ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def packages(tmp_path_factory):
    directory = tmp_path_factory.mktemp("xdomea")
    return directory, write_packages(directory, N_CASES, SEED, per_package=4)


def test_generated_packages_are_xdomea_3_0_and_3_1(packages):
    directory, fs = packages
    namespaces, roots = set(), set()
    for path in fs.packages:
        with zipfile.ZipFile(path) as zf:
            msg = next(n for n in zf.namelist() if n.endswith(".xml"))
            head = zf.read(msg)[:400].decode()
        namespaces.update(re.findall(r"urn:xoev-de:xdomea:schema:[\d.]+", head))
        roots.update(re.findall(r"<xdomea:([\w.]+)", head)[:1])
        assert re.match(r"^[0-9a-f-]{36}_(Aussonderung\.Aussonderung\.0503|Abgabe\.Abgabe\.0401)\.xml$", msg)
    assert namespaces == {"urn:xoev-de:xdomea:schema:3.0.0", "urn:xoev-de:xdomea:schema:3.1.0"}
    assert roots == {"Aussonderung.Aussonderung.0503", "Abgabe.Abgabe.0401"}


def test_import_round_trip(packages):
    directory, fs = packages
    conn = _connector(directory)
    assert isinstance(conn, EFileConnector)
    assert conn.problems() == []
    health = conn.health()
    assert health.ok and f"{len(fs.packages)} Pakete, {len(fs.cases)} Akten" in health.message
    n_files = 0
    for fc in fs.cases:
        refs = conn.search_cases(aktenzeichen=fc.aktenzeichen)
        assert [r.coo for r in refs] == [fc.uuid]  # the XDOMEA ID is the stable id
        case = conn.get_case(fc.uuid)
        pt = by_code(fc.code)
        assert case.aktenzeichen == fc.aktenzeichen
        assert case.procedure_type == pt.name and case.apentry == pt.apentry_coo
        assert case.runtime_from is not None and case.runtime_from.year >= 2024
        assert case.title  # the Akte's Betreff
        assert [p.coo for p in case.procedures] == [p.uuid for p in fc.procedures]
        for fp in fc.procedures:
            proc = conn.get_procedure(fp.uuid)
            assert proc.case_coo == fc.uuid and proc.title == fp.title
            assert proc.state == fp.state
            docs = conn.list_documents(fp.uuid)
            assert [d.coo for d in docs] == [d.uuid for d in fp.documents]
            for ref, fd in zip(docs, fp.documents, strict=True):
                assert ref.kind == (fd.kind if fd.kind in ("Eingang", "Erledigung") else None)
                assert ref.created_at is not None
                if fd.type:
                    assert ref.name.startswith(fd.type)
                files = conn.read_document(ref.coo)
                assert {f.file_name: f.content for f in files} == fd.files  # main file and Anlagen
                assert all(f.document_coo == ref.coo and f.mime_type for f in files)
                n_files += len(files)
    assert n_files > 3 * len(fs.cases)


def test_antrag_json_of_an_imported_case_is_readable(packages):
    directory, fs = packages
    conn = _connector(directory)
    wg = next(c for c in fs.cases if c.code == "WG")
    antrag = next(d for p in wg.procedures for d in p.documents if d.type == "Antrag")
    files = {f.file_name: f for f in conn.read_document(antrag.uuid)}
    data = json.loads(files["antrag.json"].content)
    assert data["verfahren"] == "Wohngeld" and files["antrag.json"].mime_type == "application/json"


def test_search_by_aktenplan_entry_aktenzeichen_and_subject(packages):
    directory, fs = packages
    conn = _connector(directory)
    for pt in PROCEDURE_TYPES:
        expected = sorted(c.uuid for c in fs.cases if c.code == pt.code)
        assert sorted(r.coo for r in conn.search_cases(apentry=pt.apentry_coo)) == expected
        # the Aktenplankennzeichen as exported works as well
        assert sorted(r.coo for r in conn.search_cases(apentry=pt.apentry_basenr)) == expected
    some = fs.cases[0]
    assert [r.coo for r in conn.search_cases(aktenzeichen=f"  {some.aktenzeichen.lower()} ")] == [some.uuid]
    assert conn.search_cases(aktenzeichen="S-III-WG/1999/000001") == []
    wg = [c.uuid for c in fs.cases if c.code == "WG"]
    assert sorted(r.coo for r in conn.search_cases(subject="wohngeld (mietzuschuss)")) == sorted(wg)
    with pytest.raises(ValueError, match="Suchkriterium"):
        conn.search_cases()
    with pytest.raises(NotFound, match="in keinem XDOMEA-Paket"):
        conn.get_case("00000000-0000-0000-0000-000000000000")


def test_same_akte_in_two_packages_is_imported_once_with_a_note(tmp_path):
    fs = write_packages(tmp_path / "in", 4, 5, per_package=4)
    shutil.copy(fs.packages[0], tmp_path / "in" / "zz_nochmal_exportiert.zip")
    conn = _connector(tmp_path / "in")
    az = fs.cases[0].aktenzeichen
    assert [r.coo for r in conn.search_cases(aktenzeichen=az)] == [fs.cases[0].uuid]
    assert _all_cases(conn) == {c.uuid for c in fs.cases}
    notes = _problems_of(conn, "zz_nochmal_exportiert.zip")
    assert len(notes) == len(fs.cases) and not any(p.fatal for p in notes)
    assert {p.kind for p in notes} == {"merge"}
    assert f"auch im früheren Paket „{fs.packages[0].name}“" in notes[0].message
    assert "unverändert übernommen" in notes[0].message
    # documents are not duplicated by the merge
    assert len(_all_documents(conn)) == len(set(_all_documents(conn)))


# -- (a2) packages of the same Akten in sequence ----------------------------------------------------


def _sequence(directory: Path, seed: int = 5, n: int = 3, **later) -> tuple[list, list]:
    """0501 (offer, metadata only) then 0503 (hand-over with files) of the same Akten; the file names
    sort the other way round, so only the message order can put them right."""
    cases = [c for c in generate_cases(n, seed)[0] if c.get("state") != "Storniert"]
    name, xml, files, fcs = build_message(cases, seed, message="0501", created=datetime(2026, 1, 5, tzinfo=TZ))
    write_zip(directory / "z_anbieteverzeichnis.zip", {name: xml, **files})
    name, xml, files, fcs = build_message(cases, seed, message="0503", created=datetime(2026, 3, 5, tzinfo=TZ),
                                          **later)
    write_zip(directory / "a_aussonderung.zip", {name: xml, **files})
    return cases, fcs


def test_0503_after_metadata_only_0501_supersedes_it_with_its_documents(tmp_path):
    _, fcs = _sequence(tmp_path)
    conn = _connector(tmp_path)
    assert _all_cases(conn) == {c.uuid for c in fcs}
    assert not any(p.fatal or p.kind != "merge" for p in conn.problems())
    notes = _problems_of(conn, "a_aussonderung.zip")
    assert len(notes) == len(fcs)
    assert all("„z_anbieteverzeichnis.zip“ (Nachricht 0501)" in n.message
               and "Dokumente mit Dateien ersetzen Einträge ohne Dateien" in n.message for n in notes)
    for fc in fcs:
        case = conn.get_case(fc.uuid)
        assert [p.coo for p in case.procedures] == [p.uuid for p in fc.procedures]
        for fp in fc.procedures:
            docs = conn.list_documents(fp.uuid)
            assert [d.coo for d in docs] == [d.uuid for d in fp.documents]  # each once
            for fd in fp.documents:
                got = {f.file_name: f.content for f in conn.read_document(fd.uuid)}
                assert got == fd.files


def test_0501_alone_is_metadata_only_and_reading_a_document_says_so(tmp_path):
    cases = [c for c in generate_cases(2, 5)[0] if c.get("state") != "Storniert"]
    name, xml, files, fcs = build_message(cases, 5, message="0501")
    assert not files
    write_zip(tmp_path / "offer.zip", {name: xml})
    conn = _connector(tmp_path)
    assert _all_cases(conn) == {c.uuid for c in fcs}
    doc = fcs[0].procedures[0].documents[0].uuid
    assert conn.read_document(doc) == []  # listed, but the offer carries no files


def test_newer_version_of_a_document_supersedes_the_older_across_packages(tmp_path):
    # the later message carries version 1 only; the earlier one versions 1-3: version 3 wins
    cases = [c for c in generate_cases(2, 9)[0] if c.get("state") != "Storniert"]
    name, xml, files, fcs = build_message(cases, 9, message="0401", created=datetime(2026, 1, 1, tzinfo=TZ),
                                          versions=3)
    write_zip(tmp_path / "b_frueher.zip", {name: xml, **files})
    name, xml, files, _ = build_message(cases, 9, message="0401", created=datetime(2026, 2, 1, tzinfo=TZ))
    write_zip(tmp_path / "a_spaeter.zip", {name: xml, **files})
    conn = _connector(tmp_path)
    notes = _problems_of(conn, "a_spaeter.zip")
    assert notes and all("bleiben aus dem früheren Paket" in n.message for n in notes)
    snap = conn._current()
    fd = fcs[0].procedures[0].documents[0]
    assert snap.documents[fd.uuid][1].name == "b_frueher.zip"
    assert snap.documents[fd.uuid][0].version == 3
    # and the reverse: a later message with a newer version replaces the older
    name, xml, files, _ = build_message(cases, 9, message="0401", created=datetime(2026, 3, 1, tzinfo=TZ),
                                        versions=1, first_version=4)
    write_zip(tmp_path / "c_neueste.zip", {name: xml, **files})
    conn = _connector(tmp_path)
    assert conn._current().documents[fd.uuid][1].name == "c_neueste.zip"
    assert any("in neuerer Version ersetzen die ältere" in n.message for n in _problems_of(conn, "c_neueste.zip"))
    got = {f.file_name: f.content for f in conn.read_document(fd.uuid)}
    assert got == fd.files


def test_several_versions_in_one_message_read_the_latest(tmp_path):
    cases = [c for c in generate_cases(2, 4)[0] if c.get("state") != "Storniert"]
    name, xml, files, fcs = build_message(cases, 4, versions=3)
    assert xml.count(b"<xdomea:Nummer>3</xdomea:Nummer>") >= 1
    write_zip(tmp_path / "p.zip", {name: xml, **files})
    conn = _connector(tmp_path)
    for fp in fcs[0].procedures:
        for fd in fp.documents:
            assert {f.file_name: f.content for f in conn.read_document(fd.uuid)} == fd.files


def test_new_and_removed_packages_are_picked_up(tmp_path):
    fs = write_packages(tmp_path / "in", 8, 3, per_package=4)
    conn = _connector(tmp_path / "in")
    assert _all_cases(conn) == {c.uuid for c in fs.cases}
    gone = fs.packages[0]
    gone.rename(tmp_path / gone.name)
    assert _all_cases(conn) == {c.uuid for c in fs.cases if c.package != gone}
    with pytest.raises(NotFound):
        conn.get_case(next(c.uuid for c in fs.cases if c.package == gone))
    (tmp_path / gone.name).rename(gone)
    assert _all_cases(conn) == {c.uuid for c in fs.cases}


HANDWRITTEN = """<?xml version="1.0" encoding="UTF-8"?>
<Abgabe.Abgabe.0401 xmlns="urn:xoev-de:xdomea:schema:3.1.0">
  <Kopf><ProzessID>0f0e0d0c-0000-4000-8000-000000000001</ProzessID></Kopf>
  <Schriftgutobjekt>
    <Akte>
      <Identifikation><ID>0F0E0D0C-0000-4000-8000-0000000000AA</ID></Identifikation>
      <AllgemeineMetadaten>
        <Betreff>Hilfe zur Pflege</Betreff>
        <Kennzeichen>S-III-HZP/2023/000777</Kennzeichen>
        <Aktenplaneinheit><Kennzeichen>S-III.50.61.2</Kennzeichen></Aktenplaneinheit>
      </AllgemeineMetadaten>
      <Laufzeit><Beginn>2023-02-01</Beginn><Ende>2024-01-31</Ende></Laufzeit>
      <Akteninhalt>
        <Dokument>
          <Identifikation><ID>0f0e0d0c-0000-4000-8000-0000000000b1</ID></Identifikation>
          <AllgemeineMetadaten><Betreff>Telefonnotiz zur Pflegesituation</Betreff></AllgemeineMetadaten>
          <Typ>Vermerk</Typ>
          <Version><Nummer>1</Nummer><Format><Name><code>045</code></Name><Version/>
            <Primaerdokument><Dateiname>0f0e0d0c-0000-4000-8000-0000000000f1_vermerk.txt</Dateiname></Primaerdokument>
          </Format></Version>
        </Dokument>
        <Vorgang>
          <Identifikation><ID>0f0e0d0c-0000-4000-8000-0000000000c1</ID></Identifikation>
          <AllgemeineMetadaten><Betreff>Antrag Hilfe zur Pflege 2023</Betreff></AllgemeineMetadaten>
          <Laufzeit><Beginn>2023-02-01</Beginn><Ende>2023-12-31</Ende></Laufzeit>
          <Dokument>
            <Identifikation><ID>0f0e0d0c-0000-4000-8000-0000000000b2</ID></Identifikation>
            <AllgemeineMetadaten><Betreff>Antrag auf Hilfe zur Pflege</Betreff></AllgemeineMetadaten>
            <Posteingangsdatum>2023-02-01</Posteingangsdatum>
            <Version><Nummer>2</Nummer><Format><Name><code>045</code></Name><Version/>
              <Primaerdokument><Dateiname>0f0e0d0c-0000-4000-8000-0000000000f3_antrag_v2.txt</Dateiname></Primaerdokument>
            </Format></Version>
            <Version><Nummer>1</Nummer><Format><Name><code>045</code></Name><Version/>
              <Primaerdokument><Dateiname>0f0e0d0c-0000-4000-8000-0000000000f2_antrag_v1.txt</Dateiname></Primaerdokument>
            </Format></Version>
          </Dokument>
          <Teilvorgang>
            <Identifikation><ID>0f0e0d0c-0000-4000-8000-0000000000c2</ID></Identifikation>
            <AllgemeineMetadaten><Betreff>Widerspruch</Betreff></AllgemeineMetadaten>
            <Dokument>
              <Identifikation><ID>0f0e0d0c-0000-4000-8000-0000000000b3</ID></Identifikation>
              <AllgemeineMetadaten><Betreff>Widerspruchsbescheid</Betreff></AllgemeineMetadaten>
              <Postausgangsdatum>2023-11-20</Postausgangsdatum>
            </Dokument>
          </Teilvorgang>
        </Vorgang>
      </Akteninhalt>
    </Akte>
  </Schriftgutobjekt>
  <Schriftgutobjekt>
    <Vorgang><Identifikation><ID>0f0e0d0c-0000-4000-8000-0000000000d1</ID></Identifikation></Vorgang>
  </Schriftgutobjekt>
</Abgabe.Abgabe.0401>
"""


def test_handwritten_3_1_message_without_prefix_maps_every_element(tmp_path):
    files = {"0f0e0d0c-0000-4000-8000-0000000000f1_vermerk.txt": b"Vermerk",
             "0f0e0d0c-0000-4000-8000-0000000000f2_antrag_v1.txt": b"alte Fassung",
             "0f0e0d0c-0000-4000-8000-0000000000f3_antrag_v2.txt": b"neue Fassung"}
    write_zip(tmp_path / "in" / "hand.zip",
              {"0f0e0d0c-0000-4000-8000-000000000001_Abgabe.Abgabe.0401.xml": HANDWRITTEN.encode(), **files})
    conn = _connector(tmp_path / "in")
    probs = conn.problems()
    # the Vorgang directly in the message becomes a case of its own (procedure type unknown: sonstiges Verfahren);
    # the minimal message deviates from the XSD (Kopf incomplete, ...): reported, and everything is still read
    assert [(p.kind, p.fatal) for p in probs] == [("note", False), ("schema", False)]
    assert "Vorgang 0f0e0d0c-0000-4000-8000-0000000000d1 steht ohne Akte" in probs[0].message
    assert "nicht dem offiziellen XDOMEA-Schema 3.1.0" in probs[1].message
    assert "Abgabe.Abgabe.0401/Kopf: Pflichtelement fehlt (erwartet: „Nachrichtentyp“)" in probs[1].message
    loose = conn.get_case("0f0e0d0c-0000-4000-8000-0000000000d1")
    assert loose.procedure_type == "sonstiges Verfahren" and [p.coo for p in loose.procedures] == [loose.coo]
    [ref] = conn.search_cases(apentry=by_code("HZP").apentry_coo)  # deeper Aktenplan entry, dots as separators
    case = conn.get_case(ref.coo)
    assert case.coo == "0f0e0d0c-0000-4000-8000-0000000000aa"  # UUIDs normalised to lower case
    assert case.procedure_type == "Hilfe zur Pflege" and case.aktenzeichen == "S-III-HZP/2023/000777"
    assert (case.runtime_from.date().isoformat(), case.runtime_till.date().isoformat()) == ("2023-02-01", "2024-01-31")
    procs = [conn.get_procedure(p.coo) for p in case.procedures]
    # the Vorgang, its Teilvorgang (flattened) and the documents directly in the Akte
    assert [p.coo for p in procs] == ["0f0e0d0c-0000-4000-8000-0000000000c1", "0f0e0d0c-0000-4000-8000-0000000000c2",
                                      "0f0e0d0c-0000-4000-8000-0000000000aa-akteninhalt"]
    assert procs[0].state == "Abgeschlossen"  # Laufzeit/Ende: closed
    assert procs[1].state == "In Bearbeitung"
    antrag, = procs[0].documents
    assert (antrag.kind, antrag.name) == ("Eingang", "Antrag auf Hilfe zur Pflege")
    assert [(f.file_name, f.content) for f in conn.read_document(antrag.coo)] == [("antrag_v2.txt", b"neue Fassung")]
    bescheid, = procs[1].documents
    assert bescheid.kind == "Erledigung" and conn.read_document(bescheid.coo) == []  # metadata only
    vermerk, = procs[2].documents
    assert vermerk.kind is None and vermerk.name == "Vermerk (Telefonnotiz zur Pflegesituation)"


# -- (b) broken and hostile packages --------------------------------------------------------------


def test_each_hostile_package_gets_its_german_error_and_good_packages_still_import(tmp_path):
    directory = tmp_path / "in"
    fs = write_packages(directory, N_CASES, SEED, per_package=4)
    expected = write_hostile(directory)
    conn = _connector(directory)
    t0 = time.monotonic()
    imported = _all_cases(conn)
    assert time.monotonic() - t0 < 20  # the entity bomb is refused, not expanded
    assert imported == {c.uuid for c in fs.cases}  # all good cases, nothing from the hostile packages
    for name, phrase in expected.items():
        probs = _problems_of(conn, name)
        assert probs, f"no problem reported for {name}"
        assert all(p.fatal for p in probs), name
        assert phrase in probs[0].message, (name, probs[0].message)
        assert "Das Paket wurde nicht eingelesen" in probs[0].message
        assert probs[0].text().startswith(f"XDOMEA-Paket „{name}“:")
    good = {p.name for p in fs.packages}
    assert not [p for p in conn.problems() if p.package in good]
    health = conn.health()
    assert not health.ok and "nicht eingelesen" in health.message
    # nothing of /etc/passwd was read (the XXE package is refused before any entity is resolved)
    for coo in imported:
        case = conn.get_case(coo)
        assert "root:" not in case.title + case.subject


def test_missing_file_imports_the_case_and_reading_that_document_fails_in_german(tmp_path):
    directory = tmp_path / "in"
    fs = write_packages(directory, 4, SEED, per_package=4)
    pkg = fs.packages[0]
    _remove_member(pkg, _first_file_member(pkg, "_antrag.json"))
    conn = _connector(directory)
    assert _all_cases(conn) == {c.uuid for c in fs.cases}  # the package still imports
    probs = _problems_of(conn, pkg.name)
    assert len(probs) == 1 and not probs[0].fatal
    assert "Die referenzierte Datei fehlt im Paket" in probs[0].message
    broken_doc = re.search(r"Dokument ([0-9a-f-]{36})", probs[0].message).group(1)
    with pytest.raises(XdomeaPackageError, match="„antrag.json“ kann nicht gelesen werden.*fehlt im Paket"):
        conn.read_document(broken_doc)
    others = [d for d in _all_documents(conn) if d != broken_doc]
    assert len(others) > 10 and all(conn.read_document(d) for d in others)


def test_zip_bomb_is_refused_by_declared_size_ratio_and_read_cap(tmp_path):
    directory = tmp_path / "in"
    directory.mkdir()
    name, xml, files = _small_message(202)
    big = b"\0" * (24 * 1024 * 1024)  # 24 MiB of zeros: ~24 KiB compressed
    write_zip(directory / "bombe.zip", {name: xml, **files, "anlage.bin": big})
    # default limits: 1:1000 compression of a 24 MiB member is refused
    probs = read_package(directory / "bombe.zip").problems
    assert len(probs) == 1 and probs[0].fatal and "verdächtig stark komprimiert" in probs[0].message
    assert "anlage.bin" in probs[0].message and "Das Paket wurde nicht eingelesen" in probs[0].message
    no_ratio = {"max_ratio": 10**9}
    probs = read_package(directory / "bombe.zip", Limits(max_file_bytes=8 * 1024 * 1024, **no_ratio)).problems
    assert probs and probs[0].fatal and "laut ZIP-Verzeichnis 24 MB groß" in probs[0].message
    assert "ZIP-Bomben" in probs[0].message
    probs = read_package(directory / "bombe.zip", Limits(max_package_bytes=16 * 1024 * 1024, **no_ratio)).problems
    assert probs and probs[0].fatal and "entpackte Größe des Pakets" in probs[0].message
    assert read_package(directory / "bombe.zip", Limits(**no_ratio)).problems == []

    # a member that declares fewer bytes than it holds is never read beyond its declaration
    (directory / "bombe.zip").unlink()
    doc_member = next(iter(files))
    raw = write_zip(directory / "luege.zip", {name: xml, **files}).read_bytes()
    (directory / "luege.zip").write_bytes(_patch_declared_size(raw, doc_member, 3))
    conn = _connector(directory)
    assert conn.problems() == []
    errors = []
    for doc in _all_documents(conn):
        try:
            conn.read_document(doc)
        except XdomeaPackageError as exc:
            errors.append(exc.message)
    assert len(errors) == 1 and "beschädigt" in errors[0] and "luege.zip" in errors[0]


def test_message_larger_than_the_cap_is_refused(tmp_path):
    name, xml, files = _small_message(303)
    path = write_zip(tmp_path / "gross.zip", {name: xml, **files})
    probs = read_package(path, Limits(max_message_bytes=1024)).problems
    assert probs and probs[0].fatal and "größer als erlaubt" in probs[0].message


def test_unsafe_file_reference_in_the_message_is_not_followed(tmp_path):
    name, xml, files = _small_message(404)
    member = next(iter(files))
    xml = xml.replace(f"<xdomea:Dateiname>{member}<".encode(), b"<xdomea:Dateiname>../../../etc/passwd<", 1)
    path = write_zip(tmp_path / "in" / "verweis.zip", {name: xml, **files})
    conn = _connector(path.parent)
    probs = conn.problems()
    assert len(probs) == 2 and not any(p.fatal for p in probs) and "unzulässige Pfadangabe" in probs[0].message
    # the official XSD (Dateiname: UUID pattern) rejects it as well; the package is still imported
    assert probs[1].kind == "schema" and ("Primaerdokument/Dateiname: Wert entspricht nicht dem vorgeschriebenen "
                                          "Muster (Typ stringDateinameType)") in probs[1].message
    assert "passwd" not in probs[1].message
    doc_id = re.search(r"Dokument ([0-9a-f-]{36})", probs[0].message).group(1)
    with pytest.raises(XdomeaPackageError, match="kann nicht gelesen werden"):
        conn.read_document(doc_id)


def test_missing_directory_is_an_error_not_an_empty_e_file(tmp_path):
    conn = _connector(tmp_path / "gibt-es-nicht")
    with pytest.raises(SourceUnavailable, match="existiert nicht"):
        conn.search_cases(apentry=by_code("WG").apentry_coo)
    assert not conn.health().ok
    unset = XdomeaConnector(None)
    with pytest.raises(SourceUnavailable, match="LOTSE_EFILE_XDOMEA_DIR"):
        unset.get_case("x")


# -- (c) read-only --------------------------------------------------------------------------------


def test_filing_is_refused_and_changes_nothing(packages):
    directory, fs = packages
    before = {p.name: p.read_bytes() for p in directory.iterdir()}
    conn = _connector(directory)
    proc = fs.cases[0].procedures[0].uuid
    with pytest.raises(EFileRefused, match="XDOMEA-Importe sind schreibgeschützt"):
        conn.file_outgoing(proc, "Mitwirkungsaufforderung", "Bitte Unterlagen nachreichen", "brief.txt",
                           b"Text", "key-1")
    assert {p.name: p.read_bytes() for p in directory.iterdir()} == before


def test_settings_and_registry_build_the_xdomea_connector(tmp_path, monkeypatch):
    from connectors.efile.registry import build_connector
    from lotse.settings import SettingsError, load_settings

    monkeypatch.setenv("LOTSE_EFILE_KIND", "xdomea")
    monkeypatch.setenv("LOTSE_EFILE_XDOMEA_DIR", str(tmp_path))
    cfg = load_settings().efile_config()
    assert cfg.kind == "xdomea" and cfg.xdomea_dir == tmp_path
    conn = build_connector(cfg)
    assert isinstance(conn, XdomeaConnector) and conn.health().ok
    monkeypatch.setenv("LOTSE_EFILE_KIND", "dms")
    with pytest.raises(SettingsError, match="LOTSE_EFILE_KIND"):
        load_settings()


# -- (d) + (e) real CLI processes -----------------------------------------------------------------


def _run(args: list[str], env: dict[str, str], timeout: int = 900) -> subprocess.CompletedProcess:
    return subprocess.run(lotse_cmd() + args, env=env, capture_output=True, text=True, timeout=timeout)


def _variants(value: str) -> set[bytes]:
    out = set()
    for v in (value, fold(value), re.sub(r"\s+", "", value), fold(re.sub(r"\s+", "", value))):
        if len(v) >= MIN_LEN:
            out.add(v.lower().encode("utf-8"))
    return out


def _leaks(data_dir: Path, values: list[str]) -> list[tuple[str, str]]:
    needles = {v: value for value in values for v in _variants(value)}
    found = []
    files = [f for f in data_dir.rglob("*") if f.is_file() and f.name not in HNSW_FILES]
    assert files
    for f in files:
        blob = f.read_bytes().lower()
        found += [(str(f.relative_to(data_dir)), value) for v, value in needles.items() if v in blob]
    return found


def _free_text_values(fs) -> list[str]:
    """Planted values that really are in the packages' Betreff/Bemerkung fields."""
    text = ""
    for path in fs.packages:
        with zipfile.ZipFile(path) as zf:
            xml = zf.read(next(n for n in zf.namelist() if n.endswith(".xml"))).decode()
        text += " ".join(re.findall(r"<xdomea:(?:Betreff|Bemerkung)>([^<]*)<", xml))
    return sorted({p.value for p in fs.planted if len(p.value) >= MIN_LEN and p.value in text})


@pytest.fixture(scope="module")
def cli(tmp_path_factory, demo_index):
    tmp = tmp_path_factory.mktemp("xdomea-cli")
    directory = tmp / "export"
    fs = write_packages(directory, N_CASES, SEED, per_package=4)
    expected = write_hostile(directory)
    # the data dir already holds the demo policy index (sync-cases would otherwise embed it first)
    copy_demo_index(demo_index, tmp / "data")
    lotse_env = {"LOTSE_DATA_DIR": str(tmp / "data"), "LOTSE_EFILE_KIND": "xdomea",
                 "LOTSE_EFILE_XDOMEA_DIR": str(directory)}
    env = {**os.environ, **lotse_env}
    first = _run(["sync-cases", "--json"], env)  # the real process
    return {"tmp": tmp, "dir": directory, "fs": fs, "expected": expected, "env": env, "lotse_env": lotse_env,
            "first": first}


@pytest.mark.slow
def test_sync_cases_indexes_xdomea_cases_and_reports_broken_packages(cli, run_lotse):
    out = cli["first"]
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    fs = cli["fs"]
    assert report["error"] is None and report["complete"]
    assert report["added"] == report["cases_found"] == len(fs.cases)
    assert report["truncated"] == []
    for name, phrase in cli["expected"].items():
        hits = [w for w in report["warnings"] if w.startswith(f"XDOMEA-Paket „{name}“:")]
        assert hits and phrase in hits[0], (name, report["warnings"])

    # the index holds one case record per imported Akte, found by a search
    search = run_lotse(["search", "--json", "Wohngeld Akte", "--department", "S-III", "--doc-type", "akte"],
                       env=cli["lotse_env"])
    assert search.returncode == 0, search.stderr[-2000:]
    hits = json.loads(search.stdout)
    wg = {c.aktenzeichen for c in fs.cases if c.code == "WG"}
    assert hits and {h["source"].removeprefix("efile:") for h in hits} <= wg


@pytest.mark.slow
def test_sync_cases_puts_no_personal_data_from_free_text_into_the_data_dir(cli):
    assert cli["first"].returncode == 0, cli["first"].stderr[-3000:]
    values = _free_text_values(cli["fs"])
    # the packages really carry names, dates of birth, addresses etc. in their free-text fields
    assert len(values) >= 2 * len(cli["fs"].cases)
    leaks = _leaks(cli["tmp"] / "data", [p.value for p in cli["fs"].planted if len(p.value) >= MIN_LEN])
    assert not leaks, leaks[:10]
    printed = (cli["first"].stdout + cli["first"].stderr).lower()
    assert not [v for v in values if v.lower() in printed]


@pytest.mark.slow
def test_second_sync_is_unchanged_and_a_vanished_directory_removes_nothing(cli, run_lotse):
    assert cli["first"].returncode == 0, cli["first"].stderr[-3000:]
    n = len(cli["fs"].cases)
    env = cli["lotse_env"]  # the later runs call the CLI's main() in this process
    again = run_lotse(["sync-cases", "--json"], env=env)
    assert again.returncode == 0, again.stderr[-2000:]
    r = json.loads(again.stdout)
    assert (r["added"], r["updated"], r["removed"], r["unchanged"]) == (0, 0, 0, n)

    moved = cli["tmp"] / "export-weg"
    cli["dir"].rename(moved)
    try:
        gone = run_lotse(["sync-cases", "--json"], env=env)
        assert gone.returncode == 1
        r = json.loads(gone.stdout)
        assert "existiert nicht" in r["error"] and "nichts entfernt" in r["error"] and r["removed"] == 0
        unset = run_lotse(["sync-cases", "--json"], env={**env, "LOTSE_EFILE_XDOMEA_DIR": ""})
        assert unset.returncode == 1 and "LOTSE_EFILE_XDOMEA_DIR" in json.loads(unset.stdout)["error"]
    finally:
        moved.rename(cli["dir"])
    back = run_lotse(["sync-cases", "--json"], env=env)
    r = json.loads(back.stdout)
    assert back.returncode == 0 and r["unchanged"] == n and r["removed"] == 0


@pytest.mark.slow
def test_ask_about_an_imported_case_lists_missing_documents(cli, run_lotse):
    fs = cli["fs"]
    wohngeld = next(c for c in fs.cases if c.code == "WG")
    # a real process: the smoke test of `lotse ask --case`
    out = _run(["ask", "--json", "--case", wohngeld.aktenzeichen, "Welche Unterlagen fehlen noch?"], cli["env"])
    assert out.returncode == 0, out.stderr[-3000:]
    r = json.loads(out.stdout)
    assert r["case"]["aktenzeichen"] == wohngeld.aktenzeichen
    assert r["case"]["procedure_type"] == "Wohngeld"
    assert {"Antrag", "Mietvertrag", "Nachweis Einkommen"} <= set(r["case"]["present"])
    assert r["case"]["missing"], "the generated cases lack some checklist documents"
    assert r["citations"][0]["source"] == "S-III/wohngeld_checkliste.docx"
    values = [p.value for p in fs.planted if p.aktenzeichen == wohngeld.aktenzeichen and len(p.value) >= MIN_LEN]
    assert values
    assert not [v for v in values if v in r["answer"]]  # no personal data of the case in the answer

    unknown = run_lotse(["ask", "--case", "S-III-WG/1999/000001", "Welche Unterlagen fehlen noch?"],
                        env=cli["lotse_env"])
    # unknown and foreign cases get one message (existence is not revealed)
    assert unknown.returncode == 1 and "Diese Akte gibt es nicht" in unknown.stderr
