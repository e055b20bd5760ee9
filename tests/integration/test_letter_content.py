"""What Lotse fills into a letter by itself, read as a reviewer would (issue 13, content findings).

Drafts are made from cases in the real e-file double process (generated cases plus a few written
for the finding at hand) and read back from the rendered DOCX with python-docx:

* Anforderung fehlender Unterlagen names the checklist items missing from THIS case (never the
  application that is in the file) and follows the office rule: the first request gets the rule's
  deadline (Wohngeld WG-NF-01: three weeks) and no Versagung warning; only after an earlier request
  (WG-NF-02) two weeks with the § 66 Abs. 3 SGB I warning.
* Eingangsbestätigung: the date of receipt is the e-file's Posteingang date, not the application date.
* Betreff and filing target: the procedure the letter answers (the continuation, not the first one).
* No grant wording in benefit letters; no internal instruction sentences in proposals.
* Contact block: no empty "Zimmer", the central hotline not printed as personal contact.
"""

from __future__ import annotations

import copy
import json
from datetime import date

import pytest

from assistant import Principal
from assistant.letters import LetterService
from assistant.letters.calendar import deadline, format_date
from assistant.letters.config import LetterConfig, PersonConfig
from assistant.letters.preview import paragraphs
from assistant.letters.proposals import addressed_to_staff
from connectors.efile.double.generator import generate_cases
from tests.conftest import demo_kb_copy

try:
    from tests.integration.efile_fixtures import DoubleProcess, make_client
except ImportError:  # pragma: no cover - depends on how pytest puts tests on sys.path
    from efile_fixtures import DoubleProcess, make_client  # type: ignore

SEED, N_CASES = 3, 20
ANNA = Principal("anna", "Anna Beispiel")  # no contact profile
BERND = Principal("bernd", "Bernd Prüfer")  # with a profile (room, direct line, own e-mail)
TODAY = date(2026, 5, 21)  # Thursday
FIRST_WG = format_date(deadline("workdays:21", TODAY))  # 11.06.2026 (Thursday)
TWO_WEEKS = format_date(deadline("workdays:14", TODAY))  # 05.06.2026 (after Fronleichnam)

AZ_ONLY_ANTRAG = "S-III-WG/2026/900001"
AZ_SECOND_REQUEST = "S-III-WG/2026/900002"
AZ_GRUSI = "S-III-GRUSI/2026/900003"
AZ_HZP = "S-III-HZP/2026/900004"
AZ_ZUS = "S-GL-ZUS/2026/900005"  # a Zuschuss application, not decided yet
ANTRAGSDATUM = "2026-04-27"  # signed by the applicant
POSTEINGANG = "2026-04-30T09:15:00+02:00"  # received by the office (e-file Eingangsdatum)
EARLIER_REQUEST = "2026-05-04T10:00:00+02:00"


def _antrag_doc(verfahren: str, name: str, extra: dict | None = None) -> dict:
    data = {"verfahren": verfahren, "antragsdatum": ANTRAGSDATUM, "anrede": "Frau", "vorname": "Erika",
            "nachname": "Musterfrau", "strasse": "Lindwurmstraße", "hausnummer": "12", "plz": "80337",
            "ort": "München", **(extra or {})}
    return {"kind": "Eingang", "shortname": name, "date": POSTEINGANG,
            "files": [{"name": "antrag.json", "json": data}]}


def _written_cases() -> list[dict]:
    only_antrag = {
        "objname": AZ_ONLY_ANTRAG, "shortname": "Wohngeld Musterfrau, Erika", "procedure_type": "WG",
        "procedures": [{"shortname": "Erstantrag Wohngeld 2026", "documents": [
            _antrag_doc("Wohngeld", "Antrag Wohngeld Musterfrau, Erika")]}],
    }
    second = copy.deepcopy(only_antrag)
    second["objname"] = AZ_SECOND_REQUEST
    second["procedures"][0]["documents"].append(
        {"kind": "Erledigung", "shortname": "Anforderung fehlender Unterlagen", "date": EARLIER_REQUEST,
         "files": [{"name": "anforderung.txt", "text": "Bitte reichen Sie ... ein."}]})
    grusi = {
        "objname": AZ_GRUSI, "shortname": "Grundsicherung Musterfrau, Erika", "procedure_type": "GRUSI",
        "procedures": [{"shortname": "Grundsicherung Erstantrag 2026", "documents": [
            _antrag_doc("Grundsicherung im Alter", "Antrag Grundsicherung im Alter Musterfrau, Erika")]}],
    }
    hzp = {
        "objname": AZ_HZP, "shortname": "Hilfe zur Pflege Musterfrau, Erika", "procedure_type": "HZP",
        "procedures": [{"shortname": "Antrag Hilfe zur Pflege 2026", "documents": [
            _antrag_doc("Hilfe zur Pflege", "Antrag Hilfe zur Pflege Musterfrau, Erika")]}],
    }
    zus = {
        "objname": AZ_ZUS, "shortname": "Zuschuss 2027 Nachbarschaftshilfe Beispiel e. V.", "procedure_type": "ZUS",
        "procedures": [{"shortname": "Zuschussantrag 2027", "documents": [
            _antrag_doc("Zuschuss", "Antrag Zuschuss Musterfrau, Erika",
                        {"traeger": {"name": "Nachbarschaftshilfe Beispiel e. V."}}),
            {"kind": "Eingang", "shortname": "Kosten- und Finanzierungsplan", "date": POSTEINGANG,
             "files": [{"name": "plan.txt", "text": "Personalkosten, Sachkosten"}]}]}],
    }
    return [only_antrag, second, grusi, hzp, zus]


# -- fixtures ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def generated():
    cases, _planted = generate_cases(N_CASES, SEED)
    return cases


@pytest.fixture(scope="module")
def double(tmp_path_factory, generated):
    d = DoubleProcess.with_cases(tmp_path_factory.mktemp("efile-letter-content"), generated + _written_cases())
    yield d
    d.stop()


@pytest.fixture(scope="module")
def demo_kb(tmp_path_factory, demo_index, embedder):
    return demo_kb_copy(demo_index, tmp_path_factory.mktemp("kb"), embedder)


@pytest.fixture
def efile(double):
    c = make_client(double.base_url, timeout=15.0, retries=1)
    yield c
    c.close()


@pytest.fixture
def service(tmp_path, efile, demo_kb):
    cfg = LetterConfig(sachbearbeitung={"bernd": PersonConfig(name="Bernd Prüfer", telefon="089 233-96123",
                                                              email="bernd.pruefer@muenchen.de",
                                                              zimmer="2.114")})
    return LetterService(f"sqlite:///{tmp_path / 'letters.db'}", efile, demo_kb, cfg, today=lambda: TODAY)


# -- helpers ---------------------------------------------------------------------------------

def _draft(service, principal, az, template):
    view = service.create_draft(principal, az, template)
    return view, paragraphs(service.render_docx(view["id"]))


def _active(generated):
    return [c for c in generated if c.get("state") != "Storniert"]


def _continuation_case(generated) -> dict:
    found = [c for c in _active(generated) if c["procedure_type"] == "WG" and len(c["procedures"]) > 1]
    assert found, "no generated Wohngeld case with a continuation"
    return found[0]


def _info(lines: list[str], label: str) -> list[str]:
    """The values of an information-block line ``label<TAB>value`` (the tab reads as a space in ``paragraphs``)."""
    return [ln[len(label) + 1:] for ln in lines if ln.startswith(label + " ")]


# -- Anforderung fehlender Unterlagen --------------------------------------------------------

def test_first_request_names_the_missing_documents_three_weeks_without_warning(service):
    view, lines = _draft(service, ANNA, AZ_ONLY_ANTRAG, "anforderung_unterlagen")
    text = "\n".join(lines)
    items = view["fields"]["unterlagen"]
    # checklist Wohngeld = Antrag, Nachweis Einkommen, Mietvertrag; the Antrag is in the file
    assert len(items) == 2, items
    assert any("Einkommen" in i for i in items) and any("Miet" in i for i in items)
    assert not any("Antrag" in i for i in items), items
    assert all(i in lines for i in items)
    p = view["proposals"]["unterlagen"]
    assert p["proposal"] is True and "Nachweis Einkommen" in p["message"] and "E-Akte" in p["message"]
    assert p["sources"] and all(s["chunk_id"] for s in p["sources"])  # guidance to read, opens in the UI
    # office rule WG-NF-01: three weeks, no Versagung warning
    assert view["fields"]["frist"] == FIRST_WG == "11.06.2026"
    assert f"bis spätestens {FIRST_WG}" in text
    assert "§ 66" not in text and "versagt" not in text
    assert "§ 60 Abs. 1 Satz 1 SGB I" in text
    assert view["fields"]["nachforderung"] == ""


def test_request_after_an_unanswered_one_warns_with_two_weeks(service):
    later = date(2026, 6, 1)  # the first request's deadline (26.05.2026, after Pfingstmontag) has passed
    service._today = lambda: later
    two_weeks = format_date(deadline("workdays:14", later))
    view, lines = _draft(service, ANNA, AZ_SECOND_REQUEST, "anforderung_unterlagen")
    text = "\n".join(lines)
    assert view["fields"]["nachforderung"] == "04.05.2026"
    assert "mit Schreiben vom 04.05.2026 hatten wir Sie gebeten" in text
    assert view["fields"]["frist"] == two_weeks == "15.06.2026"
    assert "§ 66 Abs. 3 SGB I" in text and "ganz oder teilweise versagt werden" in text
    assert f"nicht bis zum {two_weeks} vorlegen" in text
    assert "§ 67 SGB I" in text
    assert view["rule_notes"] == []


def test_no_warning_while_the_first_request_still_runs(service):
    # office rule (regeln/amtsregeln.yaml): the warning only after the first request went unanswered
    view, lines = _draft(service, ANNA, AZ_SECOND_REQUEST, "anforderung_unterlagen")
    text = "\n".join(lines)
    assert view["fields"]["nachforderung"] == "" and view["fields"]["frist"] == FIRST_WG
    assert "§ 66" not in text and "versagt" not in text
    assert any("Frist bis 26.05.2026" in n and "WG-NF-02" in n for n in view["rule_notes"]), view["rule_notes"]
    # an Erinnerung is not foreseen yet either; the workspace proposes to wait
    erinnerung = service.create_draft(ANNA, AZ_SECOND_REQUEST, "erinnerung")
    assert erinnerung["rule_notes"] and "nicht vorgesehen" in erinnerung["rule_notes"][0]
    nxt = service.next_letter(ANNA, AZ_SECOND_REQUEST)
    assert nxt["template"] is None and "26.05.2026" in nxt["reason"]
    service._today = lambda: date(2026, 6, 1)
    nxt = service.next_letter(ANNA, AZ_SECOND_REQUEST)
    assert nxt["template"] == "erinnerung" and nxt["title"] == "Erinnerung"
    assert [t["notes"] for t in nxt["templates"] if t["name"] == "erinnerung"] == [[]]


def test_workspace_proposes_the_next_letter_from_the_case_history(service):
    nxt = service.next_letter(ANNA, AZ_ONLY_ANTRAG)  # application in the file, nothing sent yet
    assert nxt["template"] == "eingangsbestaetigung" and "Eingang" in nxt["reason"]
    notes = {t["name"]: t["notes"] for t in nxt["templates"]}
    assert notes["eingangsbestaetigung"] == [] and notes["anforderung_unterlagen"] == []
    assert notes["erinnerung"] and "Anforderung" in notes["erinnerung"][0]


def test_erinnerung_refers_to_the_earlier_request_from_the_file(service):
    view, lines = _draft(service, ANNA, AZ_SECOND_REQUEST, "erinnerung")
    assert view["fields"]["bezugsschreiben_datum"] == "04.05.2026"
    items = view["fields"]["unterlagen"]  # still missing according to the case
    assert len(items) == 2 and all(i in lines for i in items), items


def test_s1_first_request_two_weeks_without_warning_names_the_grundsicherung_checklist(service):
    view, lines = _draft(service, ANNA, AZ_GRUSI, "anforderung_unterlagen")
    text = "\n".join(lines)
    assert view["fields"]["frist"] == TWO_WEEKS  # Arbeitsanweisung Mitwirkung S-I: MW-01, two weeks
    assert "§ 66" not in text and "versagt" not in text
    # the catalog's Grundsicherung checklist minus the Antrag in the file (review: the draft listed nothing)
    items = view["fields"]["unterlagen"]
    assert items == ["Rentenbescheid oder letzte Rentenanpassungsmitteilung für alle Renten (auch Betriebsrenten)",
                     "Kontoauszüge aller Konten der letzten drei Monate"], items
    assert all(i in lines for i in items)
    assert "Rentenbescheid, Kontoauszüge" in view["proposals"]["unterlagen"]["message"]
    assert view["rule_notes"] == []


def test_every_procedure_with_a_request_letter_has_a_checklist(service):
    """Review finding: Grundsicherung, Hilfe zur Pflege, BuT and UVG drafts listed no document at all
    and the draft's note claimed 'laut Checkliste liegen alle Unterlagen vor' (there was no checklist)."""
    from connectors.catalog import catalog

    request_types = set(service.templates.get("anforderung_unterlagen").case_types)
    for proc in catalog().procedures:
        if proc.case_type in request_types:
            assert proc.checklist, f"{proc.name}: no checklist for the Anforderung fehlender Unterlagen"


def test_generated_cases_of_every_procedure_hold_their_checklist(service, generated):
    seen = set()
    for spec in _active(generated):
        pt = spec["procedure_type"]
        if pt in seen or pt == "ZUS" or len(spec["procedures"]) > 1:
            continue
        seen.add(pt)
        view = service.create_draft(ANNA, spec["objname"], "anforderung_unterlagen")
        assert view["fields"]["unterlagen"] == [], (spec["objname"], view["fields"]["unterlagen"])
        assert "alle Unterlagen" in view["proposals"]["unterlagen"]["message"], spec["objname"]
        assert any("liegen alle Unterlagen in der E-Akte vor" in n for n in view["rule_notes"]), view["rule_notes"]
    assert seen >= {"WG", "GRUSI", "HZP", "BUT", "UVG"}, seen


def test_hilfe_zur_pflege_asks_for_the_pflegekasse_decision(service):
    view, lines = _draft(service, ANNA, AZ_HZP, "anforderung_unterlagen")
    items = view["fields"]["unterlagen"]
    assert items == ["Bescheid Ihrer Pflegekasse über den Pflegegrad mit dem Gutachten des Medizinischen "
                     "Dienstes"], items
    assert items[0] in lines


def test_a_request_to_someone_else_is_no_request_to_the_applicant(service, generated):
    """Review finding (UVG): 'Aufforderung Auskunft an <other parent>' in the file made the draft to the
    mother say 'mit Schreiben vom 19.08.2024 hatten wir Sie gebeten ...' with the § 66 warning, and the
    Erinnerung referred to that letter, which she never received."""
    spec = next(c for c in _active(generated) if c["procedure_type"] == "UVG" and any(
        d["shortname"].startswith("Aufforderung Auskunft an ") for p in c["procedures"] for d in p["documents"]))
    view, lines = _draft(service, ANNA, spec["objname"], "anforderung_unterlagen")
    text = "\n".join(lines)
    assert view["fields"]["nachforderung"] == ""
    assert "mit Schreiben vom" not in text and "§ 66" not in text and "versagt" not in text
    assert view["fields"]["frist"] == FIRST_WG  # UVG first request: three weeks (UV-Auskunft)
    erinnerung, lines = _draft(service, ANNA, spec["objname"], "erinnerung")
    assert erinnerung["fields"]["bezugsschreiben_datum"] == ""
    assert erinnerung["rule_notes"] and "nicht vorgesehen" in erinnerung["rule_notes"][0]
    assert service.next_letter(ANNA, spec["objname"])["template"] != "erinnerung"


def test_continuation_asks_for_current_income_proof_only(service, generated):
    spec = _continuation_case(generated)
    view, _ = _draft(service, ANNA, spec["objname"], "anforderung_unterlagen")
    items = view["fields"]["unterlagen"]
    assert len(items) == 1 and items[0].startswith("Aktuelle Nachweise über das Einkommen"), items


def test_generated_complete_cases_get_no_invented_documents(service, generated):
    for spec in _active(generated):
        if spec["procedure_type"] != "WG" or len(spec["procedures"]) > 1:
            continue
        view = service.create_draft(ANNA, spec["objname"], "anforderung_unterlagen")
        assert view["fields"]["unterlagen"] == [], spec["objname"]
        assert "alle Unterlagen" in view["proposals"]["unterlagen"]["message"]
        break
    else:
        pytest.skip("no single-procedure Wohngeld case generated")


# -- Eingangsbestätigung, Betreff, filing target ----------------------------------------------

def test_eingangsbestaetigung_uses_the_posteingang_date(service):
    view, lines = _draft(service, ANNA, AZ_ONLY_ANTRAG, "eingangsbestaetigung")
    text = "\n".join(lines)
    assert view["fields"]["akte"]["antragsdatum"] == "27.04.2026"
    assert view["fields"]["akte"]["eingangsdatum"] == "30.04.2026"
    assert "Antrag auf Wohngeld vom 27.04.2026" in text
    assert "dass Ihr Antrag am 30.04.2026 bei uns eingegangen ist" in text


def test_weiterleitung_counts_the_date_of_receipt_here(service):
    view, lines = _draft(service, ANNA, AZ_ONLY_ANTRAG, "weiterleitung")
    text = "\n".join(lines)
    assert "Ihr Antrag auf Wohngeld vom 27.04.2026 ist am 30.04.2026 bei uns eingegangen" in text
    assert "an dem er bei uns eingegangen ist, also am 30.04.2026" in text
    # the reason is the caseworker's: blocks of the catalog to pick, nothing pasted from the guidance
    p = view["proposals"]["gruende"]
    assert view["fields"]["gruende"] == [] and view["fields"]["begruendung"] == ""
    assert p["proposal"] is False and "Weiterleitungsgründe" in p["message"] and p["sources"]
    assert {b["id"] for b in view["bausteine"]["gruende"]} >= {"ALLG-WL-WOHNORT", "WG-WL-JOBCENTER"}


def test_betreff_and_filing_target_are_the_continuation(service, efile, generated):
    spec = _continuation_case(generated)
    second = spec["procedures"][1]
    wl = next(d for d in second["documents"] if d["shortname"].startswith("Weiterleistungsantrag"))
    received = format_date(date.fromisoformat(wl["date"][:10]))
    view, lines = _draft(service, ANNA, spec["objname"], "eingangsbestaetigung")
    akte = view["fields"]["akte"]
    assert akte["betreff"] == f"Wohngeld – Weiterleistungsantrag vom {received}"
    assert akte["betreff"] in lines
    assert f"Weiterleistungsantrag auf Wohngeld vom {received}" in "\n".join(lines)
    # filed into the continuation's Vorgang
    case = efile.get_case(efile.search_cases(aktenzeichen=spec["objname"])[0].coo)
    procs = [efile.get_procedure(r.coo) for r in case.procedures]
    target = next(p for p in procs if p.title == second["shortname"])
    assert view["procedure_coo"] == target.coo


# -- no grant wording, no internal guidance in proposals ---------------------------------------

def test_wohngeld_letters_have_no_grant_wording(service, generated):
    spec = _continuation_case(generated)
    for template in ("eingangsbestaetigung", "anforderung_unterlagen", "anhoerung", "weiterleitung",
                     "ablehnung", "zwischennachricht", "erinnerung"):
        view, lines = _draft(service, ANNA, spec["objname"], template)
        text = "\n".join(lines)
        for word in ("Finanzierungsplan", "Zuwendung", "Verwendungsnachweis"):
            assert word not in text, (template, word)
            for p in view["proposals"].values():
                assert word not in json.dumps(p["value"], ensure_ascii=False), (template, word)


@pytest.mark.parametrize("template", ["anhoerung", "weiterleitung", "ablehnung"])
def test_reasons_are_picked_from_blocks_never_pasted_from_guidance(service, generated, template):
    seen = set()
    for spec in _active(generated):
        if spec["procedure_type"] in seen or spec["procedure_type"] == "ZUS" and template == "anhoerung":
            continue
        seen.add(spec["procedure_type"])
        try:
            view = service.create_draft(ANNA, spec["objname"], template)
        except Exception as exc:  # template does not fit the procedure
            assert "passt nicht" in str(exc)
            continue
        assert view["fields"]["gruende"] == [] and view["fields"]["begruendung"] == ""
        p = view["proposals"]["gruende"]
        assert p["proposal"] is False and p["value"] == []  # suggestions only, nothing to adopt
        blocks = {b["id"] for b in view["bausteine"]["gruende"]}
        assert blocks, (template, spec["procedure_type"])
        assert {s["baustein"] for s in p["suggested"]} <= blocks
        for other in view["proposals"].values():  # no generated field carries guidance sentences
            value = other.get("value")
            for line in (value.splitlines() if isinstance(value, str) else value or []):
                assert not addressed_to_staff(line) or line.startswith("Rechtsgrundlagen:"), line


def test_ablehnung_reasons_from_blocks_with_facts_and_the_35_check(service):
    view = service.create_draft(ANNA, AZ_ONLY_ANTRAG, "ablehnung")
    with pytest.raises(Exception) as exc:  # no reason: § 35 SGB X
        service.submit(ANNA, view["id"], view["version"])
    assert "§ 35 SGB X" in exc.value.message and "gruende" not in exc.value.message
    half = [{"baustein": "WG-AB-TRANSFER", "tatsachen": {"leistung": "Bürgergeld nach dem SGB II"}}]
    view = service.save(ANNA, view["id"], {"gruende": half}, view["version"])
    assert view["fields"]["gruende"][0]["offen"] == ["datum_beginn", "stelle"]
    with pytest.raises(Exception) as exc:
        service.submit(ANNA, view["id"], view["version"])
    assert "fehlen noch Tatsachen" in exc.value.message and "Leistungsbezug seit" in exc.value.message
    full = [{"baustein": "WG-AB-TRANSFER", "tatsachen": {"leistung": "Bürgergeld nach dem SGB II",
                                                          "datum_beginn": "2026-01-01",
                                                          "stelle": "das Jobcenter München"}}]
    view = service.save(ANNA, view["id"], {"gruende": full}, view["version"])
    text = "\n".join(paragraphs(service.render_docx(view["id"])))
    assert "Sie erhalten seit dem 01.01.2026 Bürgergeld nach dem SGB II; die Leistung zahlt das Jobcenter München." in text
    assert "Nach § 7 Abs. 1 WoGG sind Personen vom Wohngeld ausgeschlossen" in text
    assert text.count("wird abgelehnt") == 1  # the Tenor once, no circular reason
    assert "Widerspruch" in text and "innerhalb eines Monats" in text
    view = service.submit(ANNA, view["id"], view["version"])
    assert view["state"] == "submitted"


def test_staff_sentence_filter():
    staff = ["Vor der Aufhebung ist die Person anzuhören, soweit nicht lediglich Leistungen angepasst werden.",
             "Prüfen Sie, ob die Information bereits in der E-Akte vorliegt.",
             "Antrag im Original mit dem Anschreiben an den zuständigen Träger senden.",
             "Sachverhalt vollständig ermitteln und die beabsichtigte Entscheidung festlegen.",
             "Die Frist ist im Fachverfahren als Wiedervorlage zu vermerken.",
             "Anträge sind unverzüglich an den zuständigen Leistungsträger weiterzuleiten."]
    citizen = ["Bitte reichen Sie die Unterlagen bis zum 05.06.2026 ein.",
               "Ihr Einkommen übersteigt die Höchstgrenze nach Anlage 2 WoGG.",
               "Sie sind verpflichtet, alle Tatsachen anzugeben, die für die Leistung erheblich sind.",
               "Nach § 48 Abs. 1 SGB X ist ein Verwaltungsakt mit Dauerwirkung aufzuheben, soweit in den "
               "Verhältnissen eine wesentliche Änderung eintritt."]
    assert [s for s in staff if not addressed_to_staff(s)] == []
    assert [s for s in citizen if addressed_to_staff(s)] == []


# -- contact block ------------------------------------------------------------------------------

def test_contact_block_without_profile_has_no_empty_room_and_no_hotline_as_personal(service):
    view, lines = _draft(service, ANNA, AZ_ONLY_ANTRAG, "eingangsbestaetigung")
    assert not any(ln.startswith("Zimmer") for ln in lines), "empty Zimmer line"
    hotline = view["fields"]["behoerde"]["telefon"]
    assert _info(lines, "Telefon") == [hotline]  # once: the office's line
    assert _info(lines, "E-Mail") == [view["fields"]["behoerde"]["email"]]
    assert _info(lines, "Sachbearbeitung") == ["Anna Beispiel"]
    text = "\n".join(lines)
    assert f"erreichen Sie uns telefonisch unter {hotline}" in text
    assert "erreichen Sie mich" not in text


def test_contact_from_the_user_profile(service):
    from assistant.identity import Contact

    clara = Principal("clara", "Clara Sachbearbeiterin", contact=Contact("3.021", "089 233-96555",
                                                                        "clara.sachbearbeiterin@muenchen.de"))
    view, lines = _draft(service, clara, AZ_ONLY_ANTRAG, "eingangsbestaetigung")
    assert view["fields"]["sachbearbeitung"]["zimmer"] == "3.021"
    assert _info(lines, "Zimmer") == ["3.021"]
    # too long for the value column: on the line below its label (never broken mid-word)
    assert lines[lines.index("E-Mail") + 1] == "clara.sachbearbeiterin@muenchen.de"
    assert "erreichen Sie mich telefonisch unter 089 233-96555" in "\n".join(lines)


def test_contact_block_with_profile_prints_the_caseworkers_own_contact(service):
    view, lines = _draft(service, BERND, AZ_ONLY_ANTRAG, "anforderung_unterlagen")
    assert _info(lines, "Zimmer") == ["2.114"]
    assert _info(lines, "Telefon") == ["089 233-96123", view["fields"]["behoerde"]["telefon"]]
    assert "bernd.pruefer@muenchen.de" in _info(lines, "E-Mail")
    assert "erreichen Sie mich telefonisch unter 089 233-96123" in "\n".join(lines)


# -- second review (issue 13): Zuschuss, Weiterleitung, Aufhebung ------------------------------------

def _zuschuss_case(generated) -> dict:
    return next(c for c in _active(generated) if c["procedure_type"] == "ZUS")


def test_bewilligung_proposes_the_offices_nebenbestimmungen_not_guidance_sentences(service, generated):
    """Review finding: the Nebenbestimmung proposed (and printed as Ziffer 3) was a sentence of the guidance
    describing the Bescheid: 'Der Zuwendungsbescheid enthält Zweck, Höhe, Finanzierungsart, ...'."""
    from assistant.letters.rules import load_rules

    spec = _zuschuss_case(generated)
    view = service.create_draft(ANNA, spec["objname"], "bewilligung_zuschuss")
    clauses = load_rules(None).nebenbestimmungen["zuschuss"]
    p = view["proposals"]["nebenbestimmungen"]
    assert view["fields"]["nebenbestimmungen"] == p["value"] == clauses and p["proposal"] is True
    assert "Amtsregeln" in p["message"] and p["sources"]  # the guidance to read, never pasted
    assert not any(addressed_to_staff(c) for c in clauses)
    view = service.save(ANNA, view["id"], {"betrag": "12.500,00 EUR", "zeitraum_von": "01.01.2027",
                                           "zeitraum_bis": "31.12.2027", "zweck": "Lernpatenschaften für "
                                           "Grundschulkinder in Milbertshofen", "verwendungsnachweis_bis":
                                           "30.06.2028"}, view["version"])
    assert view["missing"] == []
    text = "\n".join(paragraphs(service.render_docx(view["id"])))
    assert "Der Zuwendungsbescheid enthält" not in text
    for c in clauses:
        assert c in text
    assert "vom 01.01.2027 bis 31.12.2027" in text and "in Höhe von 12.500,00 EUR" in text
    assert "bis spätestens 30.06.2028 durch einen Verwendungsnachweis" in text
    assert "Lernpatenschaften für Grundschulkinder in Milbertshofen" in text
    assert "innerhalb eines Monats nach seiner Bekanntgabe Klage erhoben werden" in text
    assert "Widerspruch ist" not in text  # Bavaria: no Widerspruch against a Zuschuss decision


@pytest.mark.parametrize("template", ["ablehnung", "zwischennachricht"])
def test_zuschuss_letters_speak_to_a_traeger_not_about_personal_circumstances(service, generated, template):
    """Review finding: a Verein was told 'Sollten sich Ihre Verhältnisse künftig ändern ...'."""
    spec = _zuschuss_case(generated)
    _, lines = _draft(service, ANNA, spec["objname"], template)
    text = "\n".join(lines)
    assert "Verhältnisse" not in text, template
    assert "Vorhaben" in text, template
    _, lines = _draft(service, ANNA, AZ_ONLY_ANTRAG, template)  # benefit letters keep their wording
    assert "Verhältniss" in "\n".join(lines)


def test_weiterleitung_names_the_receiving_office_with_a_contact_and_the_reason(service):
    """Review finding: the receiving office came as an empty object (the letter page showed no input for
    it) and the letter had no contact there."""
    view = service.create_draft(ANNA, AZ_ONLY_ANTRAG, "weiterleitung")
    assert view["fields"]["zustaendiger_traeger"] == {"name": "", "strasse": "", "plz_ort": "", "telefon": ""}
    assert "zustaendiger_traeger.name" in view["missing"]
    traeger = {"name": "Landratsamt München, Wohngeldstelle", "strasse": "Mariahilfplatz 17",
               "plz_ort": "81541 München", "telefon": "089 6221-0"}
    gruende = [{"baustein": "ALLG-WL-WOHNORT", "tatsachen": {"datum_umzug": "01.04.2026",
                                                             "wohnort": "Unterschleißheim (Landkreis München)",
                                                             "traeger_kurz": "das Landratsamt München"}}]
    view = service.save(ANNA, view["id"], {"zustaendiger_traeger": traeger, "gruende": gruende}, view["version"])
    assert view["missing"] == []
    lines = paragraphs(service.render_docx(view["id"]))
    text = "\n".join(lines)
    for part in ("Landratsamt München, Wohngeldstelle", "Mariahilfplatz 17", "81541 München", "Telefon 089 6221-0"):
        assert part in lines, part
    assert "seit dem 01.04.2026 in Unterschleißheim (Landkreis München)" in text
    assert "also am 30.04.2026" in text  # the date of receipt here counts (§ 16 Abs. 2 Satz 2 SGB I)
    assert service.submit(ANNA, view["id"], view["version"])["state"] in ("submitted", "approved")


def test_aufhebung_blocks_state_the_soll_rule_of_section_48(service):
    """Review finding: '§ 48 Abs. 1 Satz 2 Nr. 3 SGB X ist ein Bescheid ... aufzuheben' – the law says
    'soll'; the block now says so and that no atypical circumstances are known."""
    view = service.create_draft(ANNA, AZ_ONLY_ANTRAG, "anhoerung")
    facts = {"datum_bescheid": "15.01.2026", "beginn": "01.01.2026", "datum_aenderung": "01.03.2026",
             "einkommen_art": "Arbeitsentgelt aus einer Beschäftigung", "betrag": "1.240,00 EUR brutto"}
    view = service.save(ANNA, view["id"], {"gruende": [{"baustein": "ALLG-AU-EINKOMMEN", "tatsachen": facts}],
                                           "beabsichtigte_entscheidung": "Wir beabsichtigen, die Bewilligung "
                                           "ab dem 01.03.2026 aufzuheben und 1.050,00 EUR zurückzufordern.",
                                           "sachverhalt": "Seit dem 01.03.2026 arbeiten Sie bei der Firma "
                                           "Beispiel GmbH."}, view["version"])
    text = "\n".join(paragraphs(service.render_docx(view["id"])))
    assert "Nach § 48 Abs. 1 Satz 2 Nr. 3 SGB X soll ein Bescheid" in text
    assert "aufzuheben, soweit" not in text
    assert "nicht bekannt" in text and "§ 24 Abs. 1 SGB X" in text


# -- third review (issue 13): application names, Versagung, Sachleistungen, empty slots, decided cases ----------

def _first_of(generated, code: str) -> dict:
    return next(c for c in _active(generated) if c["procedure_type"] == code and len(c["procedures"]) == 1)


@pytest.mark.parametrize("code, phrase", [
    ("BUT", "Antrag auf Leistungen für Bildung und Teilhabe"),
    ("ZUS", "Antrag auf Gewährung eines Zuschusses"),
    ("GRUSI", "Antrag auf Leistungen der Grundsicherung im Alter und bei Erwerbsminderung"),
    ("WG", "Antrag auf Wohngeld"),
])
def test_each_procedure_names_its_application_as_the_catalog_says(service, generated, code, phrase):
    """Review finding: 'Ihr Antrag auf Bildung und Teilhabe', 'Ihr Antrag auf Zuschuss' – the phrase is the
    procedure catalog's (antrag_auf), in every letter that names the application."""
    spec = _first_of(generated, code)
    view, lines = _draft(service, ANNA, spec["objname"], "eingangsbestaetigung")
    akte = view["fields"]["akte"]
    assert akte["antrag"] == phrase
    assert f"vielen Dank für Ihren {phrase} vom {akte['antragsdatum']}." in "\n".join(lines)
    _, lines = _draft(service, ANNA, spec["objname"], "ablehnung")
    assert f"Ihr {phrase} vom {akte['antragsdatum']} wird abgelehnt." in lines
    _, lines = _draft(service, ANNA, spec["objname"], "zwischennachricht")
    assert f"Sie haben am {akte['antragsdatum']} einen {phrase} gestellt." in "\n".join(lines)
    for odd in ("Antrag auf Bildung und Teilhabe", "Antrag auf Zuschuss ", "Antrag auf Grundsicherung im Alter"):
        assert odd not in "\n".join(lines), odd


def test_versagung_for_lack_of_mitwirkung_says_versagt_in_tenor_and_betreff(service):
    """Review finding: with ALLG-AB-MITWIRKUNG (§ 66 SGB I) the Tenor still said 'wird abgelehnt'."""
    view = service.create_draft(ANNA, AZ_SECOND_REQUEST, "ablehnung")
    facts = {"datum_anforderung": "04.05.2026", "frist": "26.05.2026",
             "unterlagen": "die Mietbescheinigung und die Lohnabrechnungen Januar bis März 2026"}
    view = service.save(ANNA, view["id"], {"gruende": [{"baustein": "ALLG-AB-MITWIRKUNG", "tatsachen": facts}]},
                        view["version"])
    assert view["fields"]["gruende"][0]["entscheidung"] == "versagung"
    lines = paragraphs(service.render_docx(view["id"]))
    text = "\n".join(lines)
    assert "Bescheid – Versagung der Leistung wegen fehlender Mitwirkung (§ 66 SGB I)" in lines
    assert ("Die mit Ihrem Antrag auf Wohngeld vom 27.04.2026 beantragte Leistung wird nach § 66 Abs. 1 SGB I "
            "bis zur Nachholung der Mitwirkung ganz versagt.") in lines
    assert "abgelehnt" not in text and "Ablehnung" not in text
    assert "sorgfältig geprüft" not in text  # nothing could be examined without the documents
    assert "Mit Schreiben vom 04.05.2026 haben wir Sie gebeten" in text and "§ 67 SGB I" in text
    assert "Widerspruch" in text  # a Versagung is a Bescheid with its Rechtsbehelfsbelehrung
    assert service.submit(ANNA, view["id"], view["version"])["state"] == "submitted"
    # filed into the e-file as what it is: a Versagungsbescheid
    service.approve(BERND, view["id"], expected_version=view["version"], comment="Geprüft.")
    filed = service.file(BERND, view["id"])
    assert filed["state"] == "filed"
    doc = next(d for d in service.efile.list_documents(filed["procedure_coo"]) if d.coo == filed["filing"]["objid"])
    assert doc.name.startswith("Versagungsbescheid"), doc.name
    # a Versagung and an Ablehnung on the merits cannot be one Bescheid
    mixed = service.create_draft(ANNA, AZ_SECOND_REQUEST, "ablehnung")
    transfer = {"leistung": "Bürgergeld nach dem SGB II", "datum_beginn": "01.01.2026",
                "stelle": "das Jobcenter München"}
    mixed = service.save(ANNA, mixed["id"], {"gruende": [{"baustein": "ALLG-AB-MITWIRKUNG", "tatsachen": facts},
                                                         {"baustein": "WG-AB-TRANSFER", "tatsachen": transfer}]},
                         mixed["version"])
    with pytest.raises(Exception) as exc:
        service.submit(ANNA, mixed["id"], mixed["version"])
    assert "Versagung" in exc.value.message and "nicht in einem Bescheid" in exc.value.message


def test_pflegesachleistungen_are_paid_to_the_pflegedienst_not_to_the_person(service):
    """Review finding (HZP-AB-VORRANG): 'Ihre Pflegekasse zahlt Ihnen ... Pflegesachleistungen'."""
    view = service.create_draft(ANNA, AZ_HZP, "ablehnung")
    facts = {"datum_beginn": "01.02.2026", "leistung_pk": "Pflegegrad 2, ambulanter Pflegedienst Beispiel GmbH",
             "betrag": "796,00 EUR", "bedarf": "760,00 EUR"}
    view = service.save(ANNA, view["id"], {"gruende": [{"baustein": "HZP-AB-VORRANG", "tatsachen": facts}]},
                        view["version"])
    text = "\n".join(paragraphs(service.render_docx(view["id"])))
    assert ("Seit dem 01.02.2026 erhalten Sie von Ihrer Pflegekasse Pflegesachleistungen nach § 36 SGB XI "
            "(Pflegegrad 2, ambulanter Pflegedienst Beispiel GmbH).") in text
    assert "bis zu 796,00 EUR monatlich und rechnet diese unmittelbar mit dem Pflegedienst ab" in text
    assert "zahlt Ihnen" not in text
    assert "Ihr Antrag auf Hilfe zur Pflege vom 27.04.2026 wird abgelehnt." in text


def test_a_continuation_is_named_weiterleistungsantrag_in_every_letter(service, generated):
    """Review finding: the Eingangsbestätigung said 'Weiterleistungsantrag', the Weiterleitung and the
    Ablehnung 'Ihr Antrag auf Wohngeld'."""
    spec = _continuation_case(generated)
    texts = {}
    for template in ("eingangsbestaetigung", "anforderung_unterlagen", "weiterleitung", "ablehnung",
                     "zwischennachricht", "erinnerung"):
        view, lines = _draft(service, ANNA, spec["objname"], template)
        texts[template] = (lines, "\n".join(lines))
        akte = view["fields"]["akte"]
        assert akte["antrag"] == "Weiterleistungsantrag auf Wohngeld", akte
        assert "Weiterleistungsantrag auf Wohngeld" in texts[template][1], template
        for wrong in ("Ihr Antrag auf", "Ihren Antrag auf", "einen Antrag auf", "Ihres Antrags auf"):
            assert wrong not in texts[template][1], (template, wrong)
    d = akte["antragsdatum"]
    lines, text = texts["weiterleitung"]
    assert "Weiterleitung Ihres Weiterleistungsantrags an den zuständigen Leistungsträger" in lines
    assert f"Ihr Weiterleistungsantrag auf Wohngeld vom {d} ist am" in text
    lines, text = texts["ablehnung"]
    assert "Bescheid – Ablehnung Ihres Weiterleistungsantrags" in lines
    assert f"Ihr Weiterleistungsantrag auf Wohngeld vom {d} wird abgelehnt." in lines
    assert f"wir haben Ihren Weiterleistungsantrag auf Wohngeld vom {d} sorgfältig geprüft" in text
    assert "Zwischennachricht zum Stand Ihres Weiterleistungsantrags" in texts["zwischennachricht"][0]


def test_empty_slots_print_a_marked_placeholder_that_submit_refuses(service, generated):
    """Review finding: drafts the office rules do not foresee printed 'Erinnerung an unser Schreiben vom '
    and 'benötigen wir noch die folgenden Unterlagen:' with an empty list, next to their note."""
    view, lines = _draft(service, ANNA, AZ_ONLY_ANTRAG, "erinnerung")  # no request sent: not foreseen
    assert view["rule_notes"] and view["fields"]["bezugsschreiben_datum"] == ""
    text = "\n".join(lines)
    gap = "[bitte ergänzen: Datum des Bezugsschreibens]"
    assert f"Erinnerung an unser Schreiben vom {gap}" in lines
    assert f"mit Schreiben vom {gap} haben wir Sie gebeten" in text
    assert not any(ln.rstrip().endswith(" vom") or "vom  " in ln for ln in lines), lines
    assert gap in service.preview(ANNA, view["id"])["html"]
    with pytest.raises(Exception) as exc:
        service.submit(ANNA, view["id"], view["version"])
    assert "Datum des Bezugsschreibens" in exc.value.message
    view = service.save(ANNA, view["id"], {"bezugsschreiben_datum": "04.05.2026"}, view["version"])
    text = "\n".join(paragraphs(service.render_docx(view["id"])))
    assert "[bitte ergänzen" not in text and "Erinnerung an unser Schreiben vom 04.05.2026" in text

    complete = next(c for c in _active(generated) if c["procedure_type"] == "WG" and len(c["procedures"]) == 1)
    view, lines = _draft(service, ANNA, complete["objname"], "anforderung_unterlagen")
    assert view["fields"]["unterlagen"] == [] and view["rule_notes"]  # nothing missing: not foreseen
    intro = next(i for i, ln in enumerate(lines) if ln.endswith("benötigen wir noch die folgenden Unterlagen:"))
    assert lines[intro + 1] == "[bitte ergänzen: Unterlagen]"
    with pytest.raises(Exception) as exc:
        service.submit(ANNA, view["id"], view["version"])
    assert "Unterlagen" in exc.value.message

    view, lines = _draft(service, ANNA, AZ_ONLY_ANTRAG, "ablehnung")  # no reason yet
    begruendung = lines.index("Begründung")
    assert lines[begruendung + 1].startswith("[bitte ergänzen: Begründung")
    view, lines = _draft(service, ANNA, AZ_ONLY_ANTRAG, "anforderung_unterlagen")  # filled: no placeholder
    assert not any("[bitte ergänzen" in ln for ln in lines)


def test_a_decided_zuschuss_gets_no_second_bewilligung_without_a_note(service, generated):
    """Review finding: a generated Zuschuss case holding its Zuwendungsbescheid got a new Bewilligung draft
    with no note; the office rules now say that a Bescheid is already in the file."""
    spec = _zuschuss_case(generated)
    bescheid = next(d for d in spec["procedures"][-1]["documents"] if d["shortname"].startswith("Zuwendungsbescheid"))
    filed = format_date(date.fromisoformat(bescheid["date"][:10]))
    view = service.create_draft(ANNA, spec["objname"], "bewilligung_zuschuss")
    assert any("bereits ein Bescheid abgelegt" in n and f"Zuwendungsbescheid vom {filed}" in n
               and "Änderungsbescheid" in n for n in view["rule_notes"]), view["rule_notes"]
    assert any("bereits ein Bescheid" in n for n in service.create_draft(ANNA, spec["objname"], "ablehnung")["rule_notes"])
    nxt = service.next_letter(ANNA, spec["objname"])
    assert nxt["template"] is None and "bereits entschieden" in nxt["reason"] and filed in nxt["reason"]
    # an undecided Zuschuss: the Bewilligung is foreseen, and the application is named as the catalog says
    view, lines = _draft(service, ANNA, AZ_ZUS, "bewilligung_zuschuss")
    assert view["rule_notes"] == []
    assert service.next_letter(ANNA, AZ_ZUS)["template"] == "eingangsbestaetigung"
    _, lines = _draft(service, ANNA, AZ_ZUS, "eingangsbestaetigung")
    assert "vielen Dank für Ihren Antrag auf Gewährung eines Zuschusses vom 27.04.2026." in "\n".join(lines)
    assert "Nachbarschaftshilfe Beispiel e. V." in lines
