"""The information block holds in LibreOffice: the letter is rendered DOCX -> PDF (LibreOffice headless)
and the PDF's word boxes are read (pdftotext -bbox). Every label stands on the line of its value (or
directly above it, for an address too long for the value column); no e-mail address or URL is broken.
One conversion, a few seconds; the page image goes to $LETTER_LAYOUT_IMAGE when set (docs example)."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.letters import LetterService

ROOT = Path(__file__).resolve().parents[2]
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")

pytestmark = [pytest.mark.slow, pytest.mark.skipif(SOFFICE is None or shutil.which("pdftotext") is None,
                                                    reason="LibreOffice (soffice) und pdftotext fehlen")]

LONG_MAIL = "baerbel.schaefer-oberhuber@muenchen.de"
# the office's e-mail in the letterhead of this Wohngeld letter: a neutral long address (the Wohngeld office's
# own, wohngeld.soz@muenchen.de, fits the value column and would test nothing)
OFFICE_MAIL = "poststelle.beispielabteilung@muenchen.de"
URL = "www.muenchen.de/sozialreferat"


def _values() -> dict:
    sys.path.insert(0, str(ROOT / "tools"))
    import build_letter_templates as b

    v = {**b.SAMPLE_BASE, **b.SAMPLE_VALUES, "rechtsweg": "vwgo_wahl"}
    v["behoerde"] = {**v["behoerde"], "email": OFFICE_MAIL, "internet": URL,
                     "abteilung": "Abteilung Wohngeld und Lastenzuschuss"}
    v["sachbearbeitung"] = {"name": "Bärbel Schäfer-Oberhuber", "telefon": "089 233-96123", "email": LONG_MAIL,
                            "zimmer": "2.114"}
    return v


def _words(pdf: Path) -> list[tuple[float, float, float, str]]:
    out = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(pdf), "-"], check=True,
                         capture_output=True, text=True).stdout
    words = []
    for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', out):
        words.append((float(m.group(1)), float(m.group(2)), float(m.group(3)), html.unescape(m.group(4))))
    return words


def test_information_block_holds_in_libreoffice(tmp_path):
    service = LetterService(f"sqlite:///{tmp_path / 'l.db'}")
    docx = tmp_path / "brief.docx"
    from assistant.letters.reasons import normalize_choice

    block = service.reasons.get("WG-AB-UNTER-10-EUR")
    reasons, _ = normalize_choice(service.reasons, "wohngeld", "ablehnung", [
        {"baustein": block.id, "tatsachen": {f.name: f.example for f in block.facts}}])
    values = {**_values(), "gruende": reasons, "begruendung": ""}
    docx.write_bytes(service._render(service.templates.get("ablehnung"), values))
    subprocess.run([SOFFICE, "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path}/lo",
                    "--convert-to", "pdf", "--outdir", str(tmp_path), str(docx)], check=True, timeout=120,
                   capture_output=True)
    words = _words(tmp_path / "brief.pdf")
    texts = [w[3] for w in words]
    # e-mail addresses and the URL are whole words (not broken at '-' or mid-word)
    for address in (LONG_MAIL, OFFICE_MAIL, URL, "S-III-WG/2026/004711"):
        assert address in texts, (address, [t for t in texts if "@" in t or "/" in t])
    info_x = min(w[0] for w in words if w[3] == "Datum")  # the information block's left edge
    betreff_y = next(w[1] for w in words if w[3] == "Wohngeld" and w[0] < info_x)  # the Betreff line
    block = [w for w in words if w[0] >= info_x - 1 and w[1] < betreff_y]  # the right column above it

    def line_of(word: str, after_y: float = 0) -> float:
        return next(w[1] for w in block if w[3] == word and w[1] >= after_y)

    def value_right_of(label_y: float) -> list[str]:
        return [w[3] for w in block if abs(w[1] - label_y) < 2 and w[0] > info_x + 40]

    # short values: on the label's line
    for label, value in (("Sachbearbeitung", "Bärbel"), ("Zimmer", "2.114"), ("Datum", "20.03.2026"),
                         ("Zeichen", "S-III-WG/2026/004711"), ("Dienstgebäude", "Werinherstraße")):
        assert value in value_right_of(line_of(label)), (label, value)
    # long addresses: directly below their label, the label never alone at the end of the block
    for label_y, value in ((line_of("E-Mail"), LONG_MAIL), (line_of("E-Mail", line_of("Dienstgebäude")), OFFICE_MAIL),
                           (line_of("Internet"), URL)):
        y = next(w[1] for w in block if w[3] == value)
        assert 0 < y - label_y < 14, (value, label_y, y)
    image = os.environ.get("LETTER_LAYOUT_IMAGE")
    if image and shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-r", "80", "-f", "1", "-l", "1", "-png", "-singlefile",
                        str(tmp_path / "brief.pdf"), str(Path(image).with_suffix(""))], check=True)
