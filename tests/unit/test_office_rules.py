"""Office rules as data (regeln/amtsregeln.yaml): request deadlines, which letter may follow which, and
the letter the workspace proposes for a case's history."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from assistant.letters.rules import CaseFacts, RulesError, follow_notes, load_rules, propose_next, request_state

TODAY = date(2026, 5, 21)
ALL = {"eingangsbestaetigung", "anforderung_unterlagen", "erinnerung", "zwischennachricht", "anhoerung",
       "ablehnung", "weiterleitung"}


def facts(**kw) -> CaseFacts:
    base = dict(today=TODAY, case_type="wohngeld", has_application=True, receipt_confirmed=True,
                missing=("Mietvertrag",), request_dates=())
    return CaseFacts(**{**base, **kw})


@pytest.fixture(scope="module")
def rules():
    return load_rules(None)


def test_request_rules_come_from_the_file(rules):
    wg = rules.request("wohngeld")
    assert (wg.erste.frist_tage, wg.erste.kennung, wg.erste.versagungshinweis) == (21, "WG-NF-01", False)
    assert (wg.erneute.frist_tage, wg.erneute.kennung, wg.erneute.versagungshinweis) == (14, "WG-NF-02", True)
    assert rules.request("unbekannt") == rules.anforderung["standard"]
    assert rules.deadline_days("anhoerung") == 14


def test_next_letter_follows_the_case_history(rules):
    assert propose_next(rules, facts(receipt_confirmed=False), ALL)["template"] == "eingangsbestaetigung"
    assert propose_next(rules, facts(), ALL)["template"] == "anforderung_unterlagen"
    running = propose_next(rules, facts(request_dates=(date(2026, 5, 4),)), ALL)
    assert running["template"] is None and "26.05.2026" in running["reason"]  # 3 weeks: Pfingstmontag -> Tuesday
    late = propose_next(rules, facts(request_dates=(date(2026, 4, 20),)), ALL)  # deadline 11.05.2026
    assert late["template"] == "erinnerung" and "11.05.2026" in late["reason"]
    answered = propose_next(rules, facts(missing=(), request_dates=(date(2026, 4, 20),)), ALL)
    assert answered["template"] is None


def test_erinnerung_only_after_an_unanswered_request(rules):
    notes = follow_notes(rules, "erinnerung", facts())
    assert notes and "nicht vorgesehen" in notes[0] and "Versagung" in notes[0]
    notes = follow_notes(rules, "erinnerung", facts(request_dates=(date(2026, 5, 4),)))
    assert "Frist bis 26.05.2026" in notes[0]
    assert follow_notes(rules, "erinnerung", facts(request_dates=(date(2026, 4, 20),))) == []
    assert request_state(rules, facts(request_dates=(date(2026, 4, 20),))).unanswered


def test_a_broken_rules_file_names_the_entry(tmp_path: Path):
    (tmp_path / "regeln").mkdir()
    (tmp_path / "regeln" / "amtsregeln.yaml").write_text(
        "anforderung:\n  standard:\n    erste: {frist_tage: 14, versagungshinweis: false}\n"
        "    erneute: {frist_tage: 14, versagungshinweis: true}\n"
        "vorschlag:\n  - {vorlage: erinnerung, wenn: [mond_ist_voll], grund: x}\n", encoding="utf-8")
    with pytest.raises(RulesError) as exc:
        load_rules(tmp_path)
    assert "vorschlag.0.wenn" in exc.value.message and "mond_ist_voll" in exc.value.message


def test_a_bescheid_in_the_vorgang_is_named_in_the_notes(rules):
    """A Vorgang with a Bescheid (a Zuschuss with its Zuwendungsbescheid): a second Bewilligung or an Ablehnung
    is not foreseen, and the workspace proposes no letter."""
    decided = facts(case_type="zuschuss", missing=(), decisions=("Zuwendungsbescheid vom 12.03.2026",))
    notes = follow_notes(rules, "bewilligung_zuschuss", decided)
    assert notes and "bereits ein Bescheid abgelegt (Zuwendungsbescheid vom 12.03.2026)" in notes[0]
    assert "Änderungsbescheid" in notes[0]
    assert follow_notes(rules, "ablehnung", decided) and follow_notes(rules, "ablehnung", facts()) == []
    assert follow_notes(rules, "bewilligung_zuschuss", facts(case_type="zuschuss")) == []
    nxt = propose_next(rules, decided, ALL | {"bewilligung_zuschuss"})
    assert nxt["template"] is None and "bereits entschieden" in nxt["reason"] and "12.03.2026" in nxt["reason"]
