"""Template import through the administration API and ``lotse letter import-template`` (issue 15, item 3),
with the German import report (item 4). The test letters come from tests/unit/test_template_import.py."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml
from fastapi.testclient import TestClient

from assistant.accounts import AccountStore
from assistant.letters import TEMPLATES_DIR, LetterConfig
from assistant.letters.workflow import LetterService
from tests.conftest import run_lotse_in_process, web_login
from tests.unit.test_template_import import MAPPING, make_letter

PASSWORD = "ein-langes-passwort-1"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def app_env(tmp_path):
    from lotse.settings import load_settings
    from web_ui.app import create_app
    from web_ui.services import Services

    folder = tmp_path / "vorlagen"
    shutil.copytree(TEMPLATES_DIR, folder)
    settings = load_settings(data_dir=tmp_path / "data")
    accounts = AccountStore(settings.db_url())
    accounts.add("admin", "Administration", ["administration"], "*", PASSWORD)
    accounts.add("sb3", "Sachbearbeitung", ["sachbearbeitung"], ["S-III"], PASSWORD)
    letters = LetterService(settings.db_url(), None, None, LetterConfig(templates_dir=folder))

    def no_assistant():
        raise AssertionError("the template import does not need the assistant")

    app = create_app(Services(settings=settings, assistant_factory=no_assistant, letters=letters, accounts=accounts))
    return app, letters, folder


def test_admin_uploads_maps_and_saves_a_word_template(app_env):
    app, letters, folder = app_env
    data, _ = make_letter("mergefield")
    admin = TestClient(app)
    web_login(admin, "admin", PASSWORD)
    files = {"file": ("Anforderung Amt.docx", data, DOCX)}
    r = admin.post("/api/admin/templates/import/analyze", files=files)
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["suggested_name"] == "anforderung_amt"
    assert {p["label"] for p in a["placeholders"]} == set(MAPPING)
    assert "akte.aktenzeichen" in a["choices"]["case_fields"] and "wohngeld" in a["choices"]["case_types"]
    mapping = {p["key"]: p["suggestion"] for p in a["placeholders"]}
    mapping["unterlagen_liste"] = {"kind": "generated", "target": "fehlende Unterlagen Wohngeld"}
    r = admin.post("/api/admin/templates/import", files=files, data={
        "name": "anforderung_amt", "title": "Anforderung (Amtsvorlage)", "case_types": "wohngeld",
        "four_eyes": "true", "mapping": json.dumps(mapping)})
    assert r.status_code == 201, r.text
    rep = r.json()["report"]
    assert rep["subject"] == "Vorlage „Anforderung Amt.docx“ als „anforderung_amt“"
    assert len(rep["taken"]) >= 7 and rep["skipped"] == [] and rep["decisions"] == []
    assert "Zu entscheiden: nichts" in rep["text"]
    # usable at once, listed with the others
    listing = admin.get("/api/admin/templates").json()
    tpl = next(t for t in listing["templates"] if t["name"] == "anforderung_amt")
    assert tpl["case_types"] == ["wohngeld"] and tpl["four_eyes"] is True
    assert not [p for p in listing["problems"] if p["template"] == "anforderung_amt"]
    side = yaml.safe_load((folder / "anforderung_amt.yaml").read_text(encoding="utf-8"))
    assert {f["name"]: f["source"] for f in side["fields"]}["unterlagen_liste"] == "generated"
    # the same name again is refused unless replaced
    again = admin.post("/api/admin/templates/import", files=files, data={
        "name": "anforderung_amt", "title": "X", "mapping": json.dumps(mapping)})
    assert again.status_code == 422 and "gibt es bereits" in again.json()["detail"]
    from sqlalchemy import select

    from assistant.db import AuditEvent

    with letters.Session() as s:
        audit = s.scalars(select(AuditEvent).where(AuditEvent.action == "template_import")
                          .order_by(AuditEvent.id)).all()
        assert [(e.user_id, e.object_id, e.outcome) for e in audit] == [
            ("admin", "anforderung_amt", "imported"), ("admin", "anforderung_amt", "refused")]


def test_import_errors_are_german_and_only_for_administrators(app_env):
    app, _, folder = app_env
    data, _ = make_letter("jinja")
    sb = TestClient(app)
    web_login(sb, "sb3", PASSWORD)
    assert sb.post("/api/admin/templates/import/analyze", files={"file": ("a.docx", data, DOCX)}).status_code == 403
    admin = TestClient(app)
    web_login(admin, "admin", PASSWORD)
    r = admin.post("/api/admin/templates/import/analyze", files={"file": ("a.doc", b"\xd0\xcf\x11\xe0", DOCX)})
    assert r.status_code == 422 and ".docx" in r.json()["detail"]
    r = admin.post("/api/admin/templates/import/analyze", files={"file": ("a.docx", b"kein zip", DOCX)})
    assert r.status_code == 422 and "kein lesbares Word-Dokument" in r.json()["detail"]
    r = admin.post("/api/admin/templates/import", files={"file": ("a.docx", data, DOCX)},
                   data={"name": "a_brief", "title": "A", "mapping": json.dumps({"Frist": "morgen"})})
    assert r.status_code == 422 and "„morgen“" in r.json()["detail"]
    assert not (folder / "a_brief.docx").exists()


def test_cli_import_template_with_mapping_file_and_report(tmp_path):
    folder = tmp_path / "vorlagen"
    folder.mkdir()
    data, _ = make_letter("phpword")
    src = tmp_path / "Anhörung Amt.docx"
    src.write_bytes(data)
    env = {"LOTSE_LETTERS__TEMPLATES_DIR": str(folder)}
    # 1. write the suggested mapping, nothing is stored
    r = run_lotse_in_process(["letter", "import-template", str(src), "--write-mapping", str(tmp_path / "m.yaml")],
                             env=env)
    assert r.returncode == 0, r.stderr
    assert "Nicht gespeichert" in r.stdout and list(folder.iterdir()) == []
    m = yaml.safe_load((tmp_path / "m.yaml").read_text(encoding="utf-8"))
    assert m["name"] == "anhoerung_amt" and m["fields"]["aktenzeichen"] == {"kind": "case",
                                                                          "target": "akte.aktenzeichen"}
    assert "# Vorschlag, bitte prüfen" in (tmp_path / "m.yaml").read_text(encoding="utf-8")
    # 2. import with the edited mapping
    m["title"], m["case_types"], m["four_eyes"] = "Anhörung (Amt)", ["wohngeld", "grundsicherung"], True
    m["fields"]["unterlagen_liste"] = {"kind": "user", "hint": "Welche Unterlagen fehlen?"}
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(m, allow_unicode=True), encoding="utf-8")
    r = run_lotse_in_process(["letter", "import-template", str(src), "--mapping", str(tmp_path / "m.yaml")], env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Importbericht: Vorlage „Anhörung Amt.docx“ als „anhoerung_amt“")
    assert "Übernommen (8):" in r.stdout and "Übersprungen: nichts" in r.stdout
    assert sorted(p.name for p in folder.iterdir()) == ["anhoerung_amt.docx", "anhoerung_amt.yaml"]
    listing = run_lotse_in_process(["letter", "templates", "--json"], env=env)
    assert listing.returncode == 0, listing.stdout + listing.stderr
    t = json.loads(listing.stdout)["templates"][0]
    assert (t["name"], t["title"], t["four_eyes"]) == ("anhoerung_amt", "Anhörung (Amt)", True)
    # 3. a second import under the same name needs --replace
    r = run_lotse_in_process(["letter", "import-template", str(src), "--mapping", str(tmp_path / "m.yaml")], env=env)
    assert r.returncode == 1 and "gibt es bereits" in r.stderr
    r = run_lotse_in_process(["letter", "import-template", str(src), "--mapping", str(tmp_path / "m.yaml"),
                              "--replace", "--json"], env=env)
    assert r.returncode == 0 and json.loads(r.stdout)["saved"] is True
