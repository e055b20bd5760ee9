"""The reviewer's view: HTML made from the rendered DOCX (what is printed and filed) and the changed
paragraphs between two versions."""

from __future__ import annotations

import sys
from pathlib import Path

from assistant.letters import LetterService
from assistant.letters.preview import compare, docx_to_html, paragraphs

ROOT = Path(__file__).resolve().parents[2]


def _values() -> dict:
    sys.path.insert(0, str(ROOT / "tools"))
    import build_letter_templates as b

    return {**b.SAMPLE_BASE, **b.SAMPLE_VALUES, "rechtsweg": "vwgo_wahl"}


def test_html_is_the_rendered_letter_escaped(tmp_path):
    service = LetterService(f"sqlite:///{tmp_path / 'l.db'}")
    tpl = service.templates.get("anforderung_unterlagen")
    values = _values()
    page = docx_to_html(service._render(tpl, values))
    assert page.startswith('<article class="brief-seite"')
    assert "Landeshauptstadt München" in page and "Jördis Müller-Öztürk" in page  # letterhead, address
    assert '<span class="marke">Sachbearbeitung</span>' in page and "Bärbel Schäfer" in page  # info block
    assert "<strong>bis spätestens 07.04.2026</strong>" in page
    assert "<li>Kontoauszüge Januar bis März 2026 &amp; Nachweis über Rücklagen &lt; 5.000 EUR</li>" in page
    assert "{{" not in page and "<script" not in page


def test_changed_paragraphs_between_versions(tmp_path):
    service = LetterService(f"sqlite:///{tmp_path / 'l.db'}")
    tpl = service.templates.get("zwischennachricht")
    a = paragraphs(service._render(tpl, _values()))
    b = paragraphs(service._render(tpl, {**_values(), "voraussichtlich_bis": "15.05.2026",
                                         "grund_verzoegerung": "Die Rentenversicherung hat noch nicht geantwortet."}))
    changes = compare(a, b)
    kinds = {c["art"] for c in changes}
    assert kinds <= {"geändert", "neu", "entfernt"} and changes
    dated = next(c for c in changes if "15.05.2026" in c["nachher"])
    assert ["-", "30.04.2026"] in dated["woerter"] and ["+", "15.05.2026"] in dated["woerter"]
    assert compare(a, a) == []
