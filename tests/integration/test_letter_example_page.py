"""The example letter of the README and docs/letters.md, drafted as a caseworker would and read as printed.

A generated Wohngeld case in the real e-file double process; the caseworker (with her own room, line and
e-mail in the profile) drafts an Ablehnungsbescheid, picks the reason block "Berechnetes Wohngeld unter
10 Euro monatlich" and fills its facts. The DOCX is converted to PDF with LibreOffice headless and the
printed text of page 1 and 2 is checked: the case's applicant, Aktenzeichen and application date, the
Wohngeld office's own letterhead and e-mail, the caseworker's contact, Tenor, facts and legal ground
(§ 35 SGB X), the Rechtsbehelfsbelehrung for Wohngeld in Bavaria, page numbers.
``LETTER_EXAMPLE_IMAGE=docs/images/brief-ablehnung-wohngeld-seite1.png`` writes page 1 as the docs' image.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from assistant import Principal
from assistant.identity import Contact
from assistant.letters import LetterService
from connectors.efile.double.generator import generate_cases

try:
    from tests.integration.efile_fixtures import DoubleProcess, make_client
except ImportError:  # pragma: no cover - depends on how pytest puts tests on sys.path
    from efile_fixtures import DoubleProcess, make_client  # type: ignore

ROOT = Path(__file__).resolve().parents[2]
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(SOFFICE is None or shutil.which("pdftotext") is None,
                                                    reason="LibreOffice (soffice) und pdftotext fehlen")]

TODAY = date(2026, 5, 21)
CLARA = Principal("clara", "Clara Sachbearbeiterin",
                  contact=Contact("2.114", "089 233-96123", "clara.sachbearbeiterin@muenchen.de"))


def _pdf_text(pdf: Path, page: int) -> str:
    return subprocess.run(["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout


def test_example_ablehnung_as_printed(tmp_path):
    cases, _ = generate_cases(20, 3)
    spec = next(c for c in cases if c["procedure_type"] == "WG" and c.get("state") != "Storniert"
                and len(c["procedures"]) == 1)
    antrag = spec["procedures"][0]["documents"][0]
    (tmp_path / "efile").mkdir()
    double = DoubleProcess.with_cases(tmp_path / "efile", cases)
    efile = make_client(double.base_url, timeout=15.0, retries=1)
    try:
        service = LetterService(f"sqlite:///{tmp_path / 'letters.db'}", efile, None, today=lambda: TODAY)
        view = service.create_draft(CLARA, spec["objname"], "ablehnung")
        block = service.reasons.get("WG-AB-UNTER-10-EUR")
        view = service.save(CLARA, view["id"], {"gruende": [
            {"baustein": block.id, "tatsachen": {f.name: f.example for f in block.facts}}]}, view["version"])
        assert view["missing"] == []
        view = service.submit(CLARA, view["id"], view["version"])  # § 35 SGB X check passes
        docx = tmp_path / "brief.docx"
        docx.write_bytes(service.render_docx(view["id"]))
    finally:
        efile.close()
        double.stop()
    subprocess.run([SOFFICE, "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/lo",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(docx)], check=True, timeout=180,
                   capture_output=True)
    pdf = tmp_path / "brief.pdf"
    page1, page2 = _pdf_text(pdf, 1), _pdf_text(pdf, 2)
    text = " ".join((page1 + page2).split())
    person = antrag["shortname"].removeprefix("Antrag Wohngeld ")  # "Schmid, Jonas"
    nachname, vorname = [x.strip() for x in person.split(",")]
    antragsdatum = date.fromisoformat(antrag["date"][:10]).strftime("%d.%m.%Y")
    assert f"{vorname} {nachname}" in text and "Sehr geehrte" in text and nachname + "," in text
    assert spec["objname"] in text and "21.05.2026" in text
    assert f"Wohngeld – Antrag vom {antragsdatum}" in text
    assert f"Ihr Antrag auf Wohngeld vom {antragsdatum} wird abgelehnt." in text
    # the Wohngeld office's letterhead and e-mail, the caseworker's own contact
    assert "Amt für Wohnen und Migration" in text and "Abteilung Wohngeld und Lastenzuschuss" in text
    assert "wohngeld.soz@muenchen.de" in text and "soziale-sicherung" not in text
    assert "Clara Sachbearbeiterin" in text and "2.114" in text and "089 233-96123" in text
    assert "clara.sachbearbeiterin@muenchen.de" in text
    # § 35 SGB X: facts of the case and the legal ground; the Bavarian Rechtsbehelf for Wohngeld
    assert "ein Wohngeld von 4,00 EUR monatlich" in text and "Nach § 21 Nr. 1 WoGG" in text
    assert "entweder Widerspruch eingelegt oder unmittelbar Klage erhoben werden" in text
    assert "Bayerischen Verwaltungsgericht München" in text
    assert "Seite 1 von 2" in " ".join(page1.split())
    for leftover in ("{{", "{%", "[…]", "ACHTUNG"):
        assert leftover not in text
    image = os.environ.get("LETTER_EXAMPLE_IMAGE")
    if image and shutil.which("pdftoppm"):
        target = Path(image) if Path(image).is_absolute() else ROOT / image  # relative to the repository
        subprocess.run(["pdftoppm", "-r", "80", "-f", "1", "-l", "1", "-png", "-singlefile", str(pdf),
                        str(target.with_suffix(""))], check=True)
