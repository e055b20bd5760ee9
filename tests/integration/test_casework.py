"""`lotse ask --case`: the case from the e-file double, the checklist from the policy corpus."""

from __future__ import annotations

import json

from tests.integration.efile_fixtures import DoubleProcess


def test_ask_about_a_case_lists_missing_documents_with_citations(tmp_path, demo_data_dir, run_lotse):
    from connectors.efile.double.generator import generate_cases

    cases, planted = generate_cases(12, 7)
    wohngeld = next(c for c in cases if "-WG/" in c["objname"] and c.get("state") != "Storniert")
    double = DoubleProcess(tmp_path / "eakte.sqlite3", ["--generate", "12", "--seed", "7"]).start()
    try:
        # the CLI in this process on a data dir holding the demo index (the real `lotse ask` process is
        # tested in test_assistant.py and, with --case, in test_xdomea.py)
        env = {"LOTSE_DATA_DIR": str(demo_data_dir), "LOTSE_EFILE_URL": double.base_url,
               "LOTSE_EFILE_USER": "lotse-tech", "LOTSE_EFILE_PASSWORD": "lotse-secret"}
        out = run_lotse(["ask", "--json", "--case", wohngeld["objname"], "Welche Unterlagen fehlen noch?"], env=env)
        assert out.returncode == 0, out.stderr[-2000:]
        r = json.loads(out.stdout)
        assert r["case"]["procedure_type"] == "Wohngeld"
        assert "Antrag" in r["case"]["present"]
        assert "Antrag auf Mietzuschuss" not in r["case"]["missing"]  # covered by the case's Antrag
        assert r["case"]["missing"], "the generated cases lack some checklist documents"
        assert r["citations"][0]["source"] == "S-III/wohngeld_checkliste.docx"
        values = [p.value for p in planted if p.aktenzeichen == wohngeld["objname"] and len(p.value) >= 6]
        assert values
        assert not [v for v in values if v in r["answer"]]  # no personal data of the case in the answer
    finally:
        double.stop()
