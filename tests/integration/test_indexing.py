"""Indexing against real Chroma (embedded) and the shipped embedding model."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import LAW_CORPUS, lotse_cmd, run_lotse_in_process


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def policy_folder(root: Path) -> Path:
    write(root / "S-I" / "mitwirkung.md", "---\ntitle: Mitwirkung\ndoc_type: arbeitsanweisung\n---\n"
          "# Mitwirkung\n\n## Fristsetzung\n\nFür fehlende Kontoauszüge ist eine Frist von zwei Wochen zu setzen.\n\n"
          "## Versagung\n\nNach Fristablauf kann die Leistung nach § 66 SGB I versagt werden.\n")
    write(root / "S-III" / "wohngeld.md", "---\ntitle: Wohngeld Leitfaden\ndoc_type: prozessleitfaden\n---\n"
          "# Wohngeld\n\n## Antrag\n\nDer Mietzuschuss wird für zwölf Monate bewilligt.\n")
    return root


def catalog_state(kb) -> tuple[set, set]:
    return kb.catalog.all_chunk_ids(), kb.vectors.all_ids()


def test_incremental_update_and_deletion_leave_no_stale_chunks(tmp_path, make_kb):
    root = policy_folder(tmp_path / "docs")
    kb = make_kb()
    first = kb.index(root, progress=False)
    assert (first.added, first.errors) == (2, [])
    hits = kb.search("Frist für Kontoauszüge", 3)
    assert hits[0].source == "S-I/mitwirkung.md" and hits[0].section == "Fristsetzung"
    assert hits[0].department == "S-I" and hits[0].doc_type == "arbeitsanweisung"

    again = kb.index(root, progress=False)
    assert (again.unchanged, again.added, again.updated, again.chunks_written) == (2, 0, 0, 0)

    write(root / "S-I" / "mitwirkung.md", "---\ntitle: Mitwirkung\n---\n# Mitwirkung\n\n## Fristsetzung\n\n"
          "Die Frist für fehlende Unterlagen beträgt jetzt drei Wochen.\n")
    changed = kb.index(root, progress=False)
    assert changed.updated == 1 and changed.unchanged == 1
    texts = " ".join(h.text for h in kb.search("Versagung der Leistung", 10))
    assert "versagt werden" not in texts  # the removed section is gone from search
    assert "drei Wochen" in kb.search("Frist Unterlagen", 1)[0].text

    (root / "S-III" / "wohngeld.md").unlink()
    removed = kb.index(root, progress=False)
    assert removed.removed == 1
    assert all(h.source != "S-III/wohngeld.md" for h in kb.search("Mietzuschuss zwölf Monate", 10))
    cat_ids, vec_ids = catalog_state(kb)
    assert cat_ids == vec_ids and len(cat_ids) == kb.catalog.stats()["chunks"]


def test_broken_files_are_reported_and_do_not_stop_the_run(tmp_path, make_kb):
    root = policy_folder(tmp_path / "docs")
    (root / "leer.md").write_bytes(b"")
    (root / "kaputt.docx").write_bytes(b"PK\x03\x04garbage")
    (root / "kaputt.pdf").write_bytes(b"%PDF-1.7\n1 0 obj <<>> garbage")
    (root / "riesig.txt").write_bytes(b"Sehr grosse Datei. " * (1024 * 1024 // 19 + 1) * 2)
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_encryption(owner_password="o", user_password="geheim")
    pdf.add_page()
    pdf.set_font("helvetica")
    pdf.cell(text="Vertraulich")
    pdf.output(str(root / "geschuetzt.pdf"))

    kb = make_kb(max_file_mb=1)
    report = kb.index(root, progress=False)
    reasons = {e.source: e.reason for e in report.errors}
    assert set(reasons) == {"leer.md", "kaputt.docx", "kaputt.pdf", "riesig.txt", "geschuetzt.pdf"}
    assert "leer" in reasons["leer.md"]
    assert "beschädigt" in reasons["kaputt.docx"]
    assert "zu groß" in reasons["riesig.txt"]
    assert "passwortgeschützt" in reasons["geschuetzt.pdf"]
    assert report.added == 2
    assert {e["source"] for e in kb.stats()["errors"]} == set(reasons)
    # fixing a file clears its error on the next run
    (root / "leer.md").write_text("# Notiz\n\nJetzt mit Inhalt.\n", encoding="utf-8")
    kb.index(root, progress=False)
    assert "leer.md" not in {e["source"] for e in kb.stats()["errors"]}


def test_filters_by_department_and_document_type(tmp_path, make_kb):
    root = policy_folder(tmp_path / "docs")
    kb = make_kb()
    kb.index(root, progress=False)
    q = "Frist Antrag Monate Leistung"
    assert {h.department for h in kb.search(q, 10, departments=["S-III"])} == {"S-III"}
    assert {h.doc_type for h in kb.search(q, 10, doc_types=["arbeitsanweisung"])} == {"arbeitsanweisung"}
    assert kb.search(q, 10, departments=["S-II"]) == []
    for mode in ("lexical", "dense"):
        assert {h.department for h in kb.search(q, 10, departments=["S-I"], mode=mode)} == {"S-I"}


@pytest.mark.slow
@pytest.mark.skipif(not (LAW_CORPUS / "sgb_1.md").exists(), reason="shared law corpus not present")
def test_cli_indexes_laws_and_search_json_names_the_paragraph(tmp_path, run_lotse):
    laws = tmp_path / "gesetze"
    laws.mkdir()
    shutil.copy(LAW_CORPUS / "sgb_1.md", laws / "sgb_1.md")
    data = {"LOTSE_DATA_DIR": str(tmp_path / "d")}
    env = {**os.environ, **data}
    # `lotse index` and `search --queries` run main() in this process; `search --json` is the real-process
    # smoke test of `lotse search` (the real `lotse index` runs in the kill -9 test below)
    out = run_lotse(["index", str(laws)], env=data)
    assert out.returncode == 0, out.stderr
    assert "1 neu" in out.stdout
    res = subprocess.run(lotse_cmd() + ["search", "--json", "-k", "3",
                                        "Antragsteller legt Kontoauszüge nicht vor, darf ich versagen? § 66 SGB I"],
                         env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    hits = json.loads(res.stdout)
    assert len(hits) == 3
    assert hits[0]["source"] == "sgb_1.md"
    assert hits[0]["section"] == "§ 66 Folgen fehlender Mitwirkung"
    assert set(hits[0]) >= {"source", "title", "section", "page", "score", "text"}
    queries = tmp_path / "q.txt"
    queries.write_text("§ 60 SGB I Angabe von Tatsachen\nAntragstellung beim unzuständigen Träger\n", encoding="utf-8")
    batch = run_lotse(["search", "--queries", str(queries), "-k", "2"], env=data)
    lines = [json.loads(x) for x in batch.stdout.splitlines()]
    assert len(lines) == 2 and all(len(x) == 2 for x in lines)
    assert lines[0][0]["section"].startswith("§ 60 ")
    assert lines[1][0]["section"].startswith("§ 16 ")


def _many_files(root: Path, n: int) -> Path:
    for i in range(n):
        body = "\n\n".join(f"Absatz {j} der Regel {i}: Die Frist beträgt {j + i} Tage nach Eingang." for j in range(12))
        write(root / f"S-Z/regel_{i:03d}.md", f"# Regel {i}\n\n## Abschnitt A\n\n{body}\n\n## Abschnitt B\n\n{body}\n")
    return root


@pytest.mark.slow
def test_kill_9_mid_run_then_rerun_equals_uninterrupted_run(tmp_path, make_kb):
    root = _many_files(tmp_path / "docs", 16)
    env = {**os.environ, "LOTSE_DATA_DIR": str(tmp_path / "killed"), "LOTSE_LOG_LEVEL": "DEBUG"}
    proc = subprocess.Popen(lotse_cmd() + ["index", str(root)], env=env, stderr=subprocess.PIPE, text=True)
    seen = 0
    deadline = time.time() + 300
    while time.time() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        if "indexed S-Z/regel_" in line:
            seen += 1
            if seen == 5:
                proc.send_signal(signal.SIGKILL)
                break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the indexer finished before it could be killed"
    # the rerun: the same command in this process (a second torch start would add ~15 s, prove nothing)
    rerun = run_lotse_in_process(["index", "--json", str(root)],
                                 env={"LOTSE_DATA_DIR": str(tmp_path / "killed"), "LOTSE_LOG_LEVEL": "INFO"})
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)[0]
    assert summary["errors"] == [] and summary["unchanged"] >= 4

    killed = make_kb(tmp_path / "killed")
    clean = make_kb(tmp_path / "clean")
    clean.index(root, progress=False)
    k_cat, k_vec = catalog_state(killed)
    c_cat, c_vec = catalog_state(clean)
    assert k_cat == c_cat and k_vec == c_vec and k_cat == k_vec
    assert killed.stats()["chunks"] == clean.stats()["chunks"]
    assert killed.stats()["documents"] == 16


def test_chroma_server_mode(tmp_path, make_kb):
    import socket

    chroma = Path(sys.executable).parent / "chroma"
    if not chroma.exists():
        pytest.skip("chroma CLI not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([str(chroma), "run", "--path", str(tmp_path / "srv"), "--port", str(port),
                             "--host", "127.0.0.1"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    try:
        from indexer import ChromaConfig

        cfg = ChromaConfig(mode="server", host="127.0.0.1", port=port)
        kb = None
        for _ in range(60):
            try:
                kb = make_kb(chroma=cfg)
                break
            except Exception:  # noqa: BLE001 - server still starting
                time.sleep(0.5)
        assert kb is not None, "chroma server did not start"
        kb.index(policy_folder(tmp_path / "docs"), progress=False)
        assert kb.vectors.count() == kb.catalog.stats()["chunks"] > 0
        hits = kb.search("Mietzuschuss Bewilligungszeitraum", 1, mode="dense")
        assert hits and hits[0].source.endswith(".md")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_unreachable_chroma_server_gives_clear_error(make_kb):
    from indexer import ChromaConfig, StoreError

    with pytest.raises(StoreError, match="nicht erreichbar"):
        make_kb(chroma=ChromaConfig(mode="server", host="127.0.0.1", port=9))
