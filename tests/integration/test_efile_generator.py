"""The double's case generator and cases-file format (in-process, fast)."""

from __future__ import annotations

import json

import pytest

from connectors.efile.double.casefile import load_cases, parse_cases
from connectors.efile.double.fakedata import iban_de
from connectors.efile.double.generator import generate_cases
from connectors.efile.double.store import Store
from connectors.efile.procedures import PROCEDURE_TYPES, procedure_type_of

APPLICANT_KEYS = ("anrede", "vorname", "nachname", "geburtsdatum", "strasse", "hausnummer", "plz", "ort",
                  "iban", "telefon", "email", "steuer_id", "sozialversicherungsnummer")


def test_deterministic_per_seed():
    assert generate_cases(12, 5) == generate_cases(12, 5)
    assert generate_cases(12, 5)[0] != generate_cases(12, 6)[0]


def test_every_case_starts_with_an_antrag_json():
    cases, _ = generate_cases(60, 11)
    codes = set()
    for case in cases:
        codes.add(case["procedure_type"])
        first = case["procedures"][0]["documents"][0]
        assert first["kind"] == "Eingang" and first["shortname"].startswith("Antrag")
        antrag = first["files"][0]
        assert antrag["name"] == "antrag.json"
        assert all(antrag["json"][k] for k in APPLICANT_KEYS)
        assert procedure_type_of(None, case["objname"]) is not None
    assert codes == {p.code for p in PROCEDURE_TYPES}


def test_planted_values_occur_in_free_text_and_files():
    cases, planted = generate_cases(40, 3)
    by_case = {c["coo"]: json.dumps(c, ensure_ascii=False) for c in cases}
    free_text = {c["coo"]: " ".join(_free_text(c)) for c in cases}
    assert planted
    for p in planted:
        assert p.value in by_case[p.case_coo], p
    categories = {p.category for p in planted}
    assert {"name", "geburtsdatum", "iban", "steuer_id", "sv_nummer", "telefon", "email", "gesundheit"} <= categories
    # names also sit in the free-text fields (filesubj, procremark, shortname), not only in antrag.json
    names = [p for p in planted if p.category == "name"]
    assert sum(p.value in free_text[p.case_coo] for p in names) / len(names) > 0.9


def _free_text(case):
    yield case["shortname"]
    yield case["filesubj"]
    for proc in case["procedures"]:
        yield proc["filesubj"]
        yield proc["procremark"]
        for doc in proc["documents"]:
            yield doc["shortname"]
            yield doc["filesubj"]


def test_some_cases_are_cancelled():
    cases, _ = generate_cases(200, 1)
    assert 0 < sum(c.get("state") == "Storniert" for c in cases) < 30


def test_iban_checksum():
    iban = iban_de("70150000", "0000123456").replace(" ", "")
    assert int("".join(str(int(ch, 36)) for ch in iban[4:] + iban[:4])) % 97 == 1


def test_load_into_store_and_invalid_file(tmp_path):
    cases, _ = generate_cases(5, 2)
    store = Store(tmp_path / "x.sqlite3")
    assert load_cases(store, parse_cases(cases)) > 5 * 5
    assert store.count_cases() == 5
    store.close()
    with pytest.raises(ValueError):
        parse_cases([{"objname": "S-III-WG/2026/1", "shortname": "ohne Aktenplan"}])
