"""XDOMEA as document systems write it (connectors/efile/xdomea.py, issue 15 item 1).

The packages of :func:`connectors.efile.xdomea_fixtures.write_real_style`: an Anbieteverzeichnis
0501 (metadata only) followed by the Aussonderung 0503 of the same Akten, a Vorgang without an
enclosing Akte, Akten of Aktenplan entries outside the procedure catalog ("sonstiges Verfahren",
department from the Aktenplan prefix mapping or the Federführung), and documents in several
versions. Each variant through the connector, and all of them through `lotse sync-cases`
(in-process) with the byte scan of the data directory for planted personal values; a package whose
message deviates from the official XSD is imported and its deviations are in the sync report.
"""

from __future__ import annotations

import json
import shutil

import pytest

from connectors.catalog import catalog
from connectors.efile.procedures import PROCEDURE_TYPES
from connectors.efile.xdomea import OTHER_PROCEDURE, XdomeaConnector
from connectors.efile.xdomea_fixtures import (FOREIGN_FEDERFUEHRUNG, FOREIGN_MAPPED, FOREIGN_UNMAPPED,
                                             write_real_style)
from indexer.pii import CaseRecordBuilder
from tests.conftest import copy_demo_index
from tests.integration.test_xdomea import MIN_LEN, _free_text_values, _leaks
from tests.unit.test_xdomea_xsd import PLANTED
from tests.unit.test_xdomea_xsd import _broken as _schema_broken


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    return write_real_style(tmp_path_factory.mktemp("xdomea-real") / "export")


def _conn(fs) -> XdomeaConnector:
    return XdomeaConnector(fs.packages[0].parent, refresh_interval_s=0)


def _synced(conn: XdomeaConnector) -> set[str]:
    """Every case the sync finds: one search per catalog Aktenplan entry plus "sonstiges Verfahren"."""
    aps = [pt.apentry_coo for pt in PROCEDURE_TYPES] + [OTHER_PROCEDURE]
    return {r.coo for ap in aps for r in conn.search_cases(apentry=ap)}


def _record(conn: XdomeaConnector, coo: str):
    case = conn.get_case(coo)
    procs = [conn.get_procedure(p.coo) for p in case.procedures]
    return case, CaseRecordBuilder().build(case, procs, {p.coo: conn.list_documents(p.coo) for p in procs})


def test_every_variant_is_listed_by_the_sync_searches(real):
    conn = _conn(real)
    assert _synced(conn) == {c.uuid for c in real.cases}
    assert not [p for p in conn.problems() if p.fatal or p.kind == "warning"], conn.import_warnings()


def test_0501_then_0503_yields_each_akte_once_with_its_documents(real):
    conn = _conn(real)
    for fc in real.sequence:
        assert [r.coo for r in conn.search_cases(aktenzeichen=fc.aktenzeichen)] == [fc.uuid]
        for fp in fc.procedures:
            assert [d.coo for d in conn.list_documents(fp.uuid)] == [d.uuid for d in fp.documents]
            for fd in fp.documents:
                assert {f.file_name: f.content for f in conn.read_document(fd.uuid)} == fd.files
    notes = [p for p in conn.problems() if p.package == "a_aussonderung_0503.zip"]
    assert len(notes) == len(real.sequence) and {p.kind for p in notes} == {"merge"}
    assert all("Dokumente mit Dateien ersetzen Einträge ohne Dateien" in p.text() for p in notes)


def test_vorgang_without_akte_is_a_case_of_its_own(real):
    conn = _conn(real)
    for fc in real.vorgang_only:
        case, record = _record(conn, fc.uuid)
        pt = catalog().by_code(fc.code)
        assert case.aktenzeichen == fc.aktenzeichen and case.procedure_type == pt.name
        assert [p.coo for p in case.procedures] == [fc.uuid]
        assert [d.coo for d in conn.list_documents(fc.uuid)] == [d.uuid for d in fc.procedures[0].documents]
        assert record.department == pt.department and record.documents
    notes = [p for p in conn.problems() if p.package == "vorgang_ohne_akte.zip"]
    assert {p.kind for p in notes} == {"note"} and "als eigene Akte übernommen" in notes[0].message


def test_foreign_aktenplan_is_sonstiges_verfahren_with_a_department(real):
    conn = _conn(real)
    assert catalog().department_of_other(FOREIGN_MAPPED[0]) == "S-II"
    for fc in real.foreign:
        case, record = _record(conn, fc.uuid)
        assert case.procedure_type == OTHER_PROCEDURE == "sonstiges Verfahren"
        assert record.department == "S-II"  # Aktenplan prefix S-II
        assert record.aktenzeichen == fc.aktenzeichen
        assert "Verfahren: sonstiges Verfahren" in record.text()
    for fc in real.foreign_federfuehrung:
        case, record = _record(conn, fc.uuid)
        assert case.org_unit == FOREIGN_FEDERFUEHRUNG
        assert catalog().department_of_other(FOREIGN_UNMAPPED[0]) is None
        assert record.department == "S-Z"  # from the Federführung
    # nothing mapped and no Federführung: the default department
    assert catalog().department_of_other("AP 99", "Kämmerei") is None


def test_several_versions_of_a_document_read_the_latest(real):
    conn = _conn(real)
    for fc in real.versioned:
        for fp in fc.procedures:
            for fd in fp.documents:
                assert conn._current().documents[fd.uuid][0].version == 3
                assert {f.file_name: f.content for f in conn.read_document(fd.uuid)} == fd.files


@pytest.fixture(scope="module")
def synced(real, tmp_path_factory, demo_index):
    from tests.conftest import run_lotse_in_process

    tmp = tmp_path_factory.mktemp("xdomea-real-sync")
    copy_demo_index(demo_index, tmp / "data")
    # the real-style packages plus one whose message deviates from the XSD but is readable
    export = tmp / "export"
    shutil.copytree(real.packages[0].parent, export)
    _, deviating = _schema_broken(export)
    env = {"LOTSE_DATA_DIR": str(tmp / "data"), "LOTSE_EFILE_KIND": "xdomea", "LOTSE_EFILE_XDOMEA_DIR": str(export)}
    out = run_lotse_in_process(["sync-cases", "--json"], env=env, cwd=tmp)
    return {"tmp": tmp, "env": env, "out": out, "deviating": deviating}


def test_sync_cases_indexes_every_variant_without_personal_data(real, synced, run_lotse):
    out = synced["out"]
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    assert report["error"] is None and report["complete"]
    assert report["added"] == report["cases_found"] == len(real.cases) + len(synced["deviating"])
    assert any("zusammengeführt" in w for w in report["warnings"])
    # the foreign Akte is in the index, in its department
    search = run_lotse(["search", "--json", "sonstiges Verfahren Akte", "--department", "S-II", "--doc-type", "akte"],
                       env=synced["env"], cwd=synced["tmp"])
    assert search.returncode == 0, search.stderr[-2000:]
    sources = {h["source"] for h in json.loads(search.stdout)}
    assert {f"efile:{fc.aktenzeichen}" for fc in real.foreign} <= sources
    # nothing personal from the packages' free text reaches the data directory
    values = _free_text_values(real)
    assert len(values) >= len(real.cases)
    leaks = _leaks(synced["tmp"] / "data", [p.value for p in real.planted if len(p.value) >= MIN_LEN] + [PLANTED])
    assert not leaks, leaks[:10]
    assert not [v for v in values if v.lower() in (out.stdout + out.stderr).lower()]


def test_sync_report_shows_schema_deviations_and_still_imports_the_package(synced, run_lotse):
    out = synced["out"]
    assert out.returncode == 0, out.stderr[-3000:]
    bericht = json.loads(out.stdout)["bericht"]
    found = [d for d in bericht["decisions"] if "offiziellen XDOMEA-Schema" in d]
    # only the deviating package; every generated real-style package is valid against its XSD
    assert len(found) == 1 and found[0].startswith("XDOMEA-Paket „kaputtes_schema.zip“: Die XDOMEA-Nachricht "
                                                   "entspricht nicht dem offiziellen XDOMEA-Schema 3.1.0 (3 Abweichungen:")
    assert "unerwartetes Element „Sachbearbeitung“" in found[0] and "trotzdem eingelesen" in found[0]
    assert "Zu entscheiden" in bericht["text"] and found[0] in bericht["text"]
    assert not [s for s in bericht["skipped"] if "kaputtes_schema.zip" in s]
    assert PLANTED not in out.stdout + out.stderr  # the deviating value itself is never shown
    # its Akten are in the index: the case lookup finds them
    fc = synced["deviating"][0]
    ask = run_lotse(["ask", "--json", "--case", fc.aktenzeichen, "Welche Unterlagen fehlen noch?"],
                    env=synced["env"], cwd=synced["tmp"])
    assert ask.returncode == 0, ask.stderr[-3000:]
    assert json.loads(ask.stdout)["case"]["aktenzeichen"] == fc.aktenzeichen


def test_ask_case_answers_about_a_foreign_akte(real, synced, run_lotse):
    assert synced["out"].returncode == 0
    fc = real.foreign[0]
    out = run_lotse(["ask", "--json", "--case", fc.aktenzeichen, "Welche Unterlagen fehlen noch?"],
                    env=synced["env"], cwd=synced["tmp"])
    assert out.returncode == 0, out.stderr[-3000:]
    r = json.loads(out.stdout)
    assert r["case"]["aktenzeichen"] == fc.aktenzeichen
    assert r["case"]["procedure_type"] == "sonstiges Verfahren"
    values = [p.value for p in real.planted if p.aktenzeichen in {fc.aktenzeichen} and len(p.value) >= MIN_LEN]
    assert not [v for v in values if v in r["answer"]]


def test_xdomea_2_4_and_2_3_packages_are_read_like_3_x(real):
    import zipfile

    conn = _conn(real)
    by_name = {p.name: p for p in real.packages}
    for name, ns in (("xdomea_2_4_aussonderung.zip", "2.4.0"), ("xdomea_2_3_abgabe.zip", "2.3.0")):
        with zipfile.ZipFile(by_name[name]) as zf:
            xml = zf.read(next(n for n in zf.namelist() if n.endswith(".xml")))
        assert f"urn:xoev-de:xdomea:schema:{ns}".encode() in xml
        assert b"DateinameOriginal" not in xml and b"NummerImUebergeordnetenContainer" not in xml  # 3.x only
        assert conn._current().packages[[p.name for p in conn._current().packages].index(name)].xdomea_version == ns
    assert len(real.xdomea_2) >= 3
    for fc in real.xdomea_2:
        case = conn.get_case(fc.uuid)
        assert case.aktenzeichen == fc.aktenzeichen
        assert case.procedure_type == catalog().by_code(fc.code).name
        for fp in fc.procedures:
            for fd in fp.documents:
                # without DateinameOriginal the file name is the Dateiname without its UUID prefix
                assert {f.file_name: f.content for f in conn.read_document(fd.uuid)} == fd.files
