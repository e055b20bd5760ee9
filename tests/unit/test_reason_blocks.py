"""Reason blocks (gruende/*.yaml) and the § 35 SGB X check: every shipped block renders into its letter
with the facts filled in, cites its legal ground, and the catalog refuses broken blocks."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from assistant.letters import LetterService
from assistant.letters.reasons import GAP, KINDS, check_reasons, load_catalog, normalize_choice, parse_file
from connectors.catalog import catalog

TEMPLATE_OF_KIND = {"ablehnung": "ablehnung", "aufhebung": "anhoerung", "weiterleitung": "weiterleitung"}


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    return LetterService(f"sqlite:///{tmp_path_factory.mktemp('r') / 'l.db'}")


def _text(data: bytes) -> str:
    import docx

    d = docx.Document(io.BytesIO(data))
    return "\n".join(p.text for p in d.paragraphs)


def test_catalog_loads_without_problems_and_covers_every_procedure(service):
    cat = service.reasons
    assert cat.problems == []
    for ct in catalog().case_types:
        assert cat.for_case(ct, "ablehnung"), f"no Ablehnungsgrund for {ct}"
        if ct != "zuschuss":
            assert cat.for_case(ct, "aufhebung") and cat.for_case(ct, "weiterleitung"), ct


def test_every_block_renders_in_its_letter(service):
    base = {"behoerde": {"amt": "Amt", "strasse": "Werinherstraße 89", "plz_ort": "81541 München"},
            "sachbearbeitung": {"name": "Bärbel Schäfer"}, "akte": {"aktenzeichen": "S-III-WG/2026/1"},
            "empfaenger": {"name": "Erika Musterfrau"}, "rechtsweg": "sgg", "datum": "21.05.2026"}
    n = 0
    for block in service.reasons.blocks.values():
        facts = {f.name: f.example or "01.01.2026" for f in block.facts}
        ct = block.case_types[0] if block.case_types[0] != "*" else "wohngeld"
        chosen, problems = normalize_choice(service.reasons, ct, block.kind, [{"baustein": block.id,
                                                                                "tatsachen": facts}])
        assert problems == [] and chosen[0]["offen"] == [], (block.id, problems)
        tpl = service.templates.get(TEMPLATE_OF_KIND[block.kind])
        text = _text(service._render(tpl, {**base, "gruende": chosen}))
        for line in chosen[0]["text"].splitlines():
            assert line in text, (block.id, line)
        for tag in ("{", "}", GAP, "[…]"):
            assert tag not in text, (block.id, tag)
        assert "§" in chosen[0]["text"] or "Art." in chosen[0]["text"], block.id
        assert check_reasons(service.reasons, block.kind, chosen, "", True) == []
        n += 1
    assert n >= 15


def test_unfilled_facts_and_missing_reasons_fail_the_35_check(service):
    block = service.reasons.for_case("wohngeld", "ablehnung")[0]
    chosen, _ = normalize_choice(service.reasons, "wohngeld", "ablehnung", [{"baustein": block.id, "tatsachen": {}}])
    assert GAP in chosen[0]["text"]
    problems = check_reasons(service.reasons, "ablehnung", chosen, "", True)
    assert problems and "fehlen noch Tatsachen" in problems[0] and block.facts[0].question in problems[0]
    assert "Die Begründung fehlt (§ 35 SGB X)" in check_reasons(service.reasons, "ablehnung", [], "", True)[0]
    circular = "Ihr Antrag wird abgelehnt. Nach § 7 Abs. 1 WoGG sind Sie ausgeschlossen."
    assert check_reasons(service.reasons, "ablehnung", [], "Sie haben keinen Anspruch.", True)
    assert check_reasons(service.reasons, "ablehnung", [], circular + " Sie beziehen seit dem 01.01.2026 "
                         "Bürgergeld vom Jobcenter München.", True) == []
    assert check_reasons(service.reasons, "weiterleitung", [], "", False) == []  # optional reasons


def test_foreign_or_unknown_blocks_are_refused(service):
    zus = service.reasons.for_case("zuschuss", "ablehnung")[0]
    _, problems = normalize_choice(service.reasons, "wohngeld", "ablehnung", [{"baustein": zus.id}])
    assert problems and "gibt es für dieses Verfahren nicht" in problems[0]
    _, problems = normalize_choice(service.reasons, "wohngeld", "ablehnung", [{"baustein": "GIBT-ES-NICHT"}])
    assert problems


def test_broken_blocks_are_reported_in_german(tmp_path: Path):
    (tmp_path / "x.yaml").write_text(
        "verfahren: [wohngeld]\nbausteine:\n"
        "  - {id: A, art: ablehnung, titel: T, rechtsgrundlage: § 1 WoGG, text: 'Sie haben {x}. Nach § 1 WoGG.'}\n"
        "  - id: B\n    art: ablehnung\n    titel: T\n    rechtsgrundlage: § 1 WoGG\n    text: 'Keine Norm, {x}.'\n"
        "    tatsachen: [{name: x, frage: X}]\n"
        "  - {id: C, art: rueckforderung, titel: T, rechtsgrundlage: § 1 WoGG, text: t}\n", encoding="utf-8")
    blocks, problems = parse_file(tmp_path / "x.yaml", catalog().case_types)
    assert blocks == []
    text = "\n".join(problems)
    assert "Platzhalter ohne Tatsache: x" in text and "nennt die Rechtsgrundlage" in text
    assert "unbekannte art 'rueckforderung'" in text
    assert set(KINDS) == {"ablehnung", "aufhebung", "weiterleitung"}
    assert load_catalog(tmp_path / "leer", catalog().case_types).blocks  # no folder: the shipped blocks


def test_a_versagung_block_is_marked_and_checked(service, tmp_path: Path):
    """ALLG-AB-MITWIRKUNG is a Versagung (§ 66 SGB I): the chosen block says so, the Bescheid's Tenor and
    Betreff follow it; a file may only mark blocks of kind ablehnung, and a Versagung must cite § 66."""
    assert service.reasons.get("ALLG-AB-MITWIRKUNG").decision == "versagung"
    assert service.reasons.get("WG-AB-TRANSFER").decision == "ablehnung"
    assert service.reasons.get("ALLG-AU-EINKOMMEN").decision == ""
    (tmp_path / "x.yaml").write_text(
        "verfahren: [wohngeld]\nbausteine:\n"
        "  - {id: A, art: ablehnung, entscheidung: ruecknahme, titel: T, rechtsgrundlage: § 1 WoGG,"
        " text: 'Sie haben {x}. Nach § 1 WoGG.', tatsachen: [{name: x, frage: X}]}\n"
        "  - {id: B, art: ablehnung, entscheidung: versagung, titel: T, rechtsgrundlage: § 1 WoGG,"
        " text: 'Sie haben {x}. Nach § 1 WoGG.', tatsachen: [{name: x, frage: X}]}\n"
        "  - {id: C, art: aufhebung, entscheidung: versagung, titel: T, rechtsgrundlage: § 66 SGB I,"
        " text: 'Sie haben {x}. Nach § 66 SGB I.', tatsachen: [{name: x, frage: X}]}\n", encoding="utf-8")
    blocks, problems = parse_file(tmp_path / "x.yaml", catalog().case_types)
    text = "\n".join(problems)
    assert blocks == [] and "unbekannte entscheidung 'ruecknahme'" in text
    assert "eine Versagung muss § 66 SGB I nennen" in text and "nur bei art ablehnung" in text
    facts = {f.name: f.example for f in service.reasons.get("ALLG-AB-MITWIRKUNG").facts}
    chosen, _ = normalize_choice(service.reasons, "wohngeld", "ablehnung",
                                 [{"baustein": "ALLG-AB-MITWIRKUNG", "tatsachen": facts}])
    assert chosen[0]["entscheidung"] == "versagung"
    assert check_reasons(service.reasons, "ablehnung", chosen, "", True) == []
