from indexer.analysis import analyze, analyze_query, canonical_law, expand_synonyms, fold, legal_refs


def test_umlauts_and_sharp_s_meet():
    assert fold("Zuschuß") == fold("Zuschuss")
    assert analyze("Zuschuß") == analyze("Zuschuss")
    assert analyze("Mitwirkungspflicht") == analyze("MITWIRKUNGSPFLICHT")


def test_inflected_forms_share_a_stem():
    assert set(analyze("Leistungen")) & set(analyze("Leistung"))
    assert set(analyze("Anträge")) & set(analyze("Antrag"))


def test_legal_reference_variants_meet():
    forms = ["§ 66 SGB I", "§66 Abs. 1 SGB 1", "66 SGB I", "§ 66 Absatz 1 Satz 2 SGB I"]
    for form in forms:
        assert "§66sgb1" in legal_refs(form), form
    assert canonical_law("SGB XII") == "sgb12"
    assert canonical_law("sgb 2") == "sgb2"
    assert "§66sgb1" not in legal_refs("§ 66 SGB II")


def test_compounds_are_split_into_known_parts():
    terms = analyze("Mitwirkungspflicht")
    assert any(t.startswith("pflicht") for t in terms)
    assert set(analyze("Kostenübernahmeerklärung")) & set(analyze("Erklärung"))


def test_a_verb_prefix_is_no_part_of_a_compound():
    """"Aufforderung" is not a compound of "auf": a question with it must not match every passage with
    "auf" three times as strongly (the customer's "Aufforderung" had pulled a UV payment-demand passage
    before the Mitwirkung guidance)."""
    terms = set(analyze("Aufforderung")) | set(analyze("Ausgleichszahlung")) | set(analyze("Mitteilungspflicht"))
    assert not terms & {"auf", "aus", "mit", "bei", "vor"}
    assert any(t.startswith("zahlung") for t in analyze("Ausgleichszahlung"))  # the real head stays


def test_domain_synonyms_expand_queries_with_lower_weight():
    assert "bürgergeld" in expand_synonyms("Hartz IV Antrag abgelehnt")
    weights = analyze_query("Mietzuschuss beantragen")
    assert weights[analyze("Wohngeld")[0]] < 1.0
    assert weights[analyze("Mietzuschuss")[0]] == 1.0


def test_question_words_are_not_terms():
    assert analyze("Wie lange hat der Kunde Zeit?") == analyze("Zeit")
