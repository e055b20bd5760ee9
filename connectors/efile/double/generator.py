"""Seeded, deterministic generator of fictitious social-department cases.

``generate_cases(n, seed)`` returns ``(cases, planted)``: ``cases`` in the cases
JSON format (see ``casefile``), ``planted`` every personal value put into the
cases (in antrag.json and in free-text fields), for leak tests.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from ..procedures import by_code
from .casefile import TZ
from .fakedata import Person, euro, person

CANCEL_CASE_RATE = 0.04
CANCEL_DOC_RATE = 0.05
FIRST_CASE_COO = 1_100_000
ORG_UNITS = {"WG": "COO.1.2300.1.847", "HZP": "COO.1.2300.1.851", "BUT": "COO.1.2300.1.853",
             "GRUSI": "COO.1.2300.1.855", "UVG": "COO.1.2300.1.862", "ZUS": "COO.1.2300.1.870"}
TYPE_WEIGHTS = (("WG", 30), ("HZP", 15), ("BUT", 15), ("GRUSI", 15), ("UVG", 15), ("ZUS", 10))
DIAGNOSES = ("Pflegegrad 3 nach Schlaganfall", "Pflegegrad 4 bei fortgeschrittener Alzheimer-Demenz",
             "Pflegegrad 2, Diabetes mellitus Typ 2 mit Polyneuropathie",
             "Pflegegrad 3, Morbus Parkinson", "Pflegegrad 5 nach Hirnblutung, bettlägerig",
             "Pflegegrad 2, Herzinsuffizienz NYHA III")
GRUSI_HEALTH = ("Schwerbehinderung GdB 80, Merkzeichen G", "volle Erwerbsminderung wegen Multipler Sklerose",
                "Schwerbehinderung GdB 50 nach Krebserkrankung", "chronische Depression, in Behandlung")
HOMES = ("Seniorenzentrum Am Westpark (fiktiv)", "Pflegeheim St. Anna Giesing (fiktiv)",
         "Haus Isarblick Pflege (fiktiv)", "Ambulanter Pflegedienst Lichtblick (fiktiv)")
SCHOOLS = ("Grundschule an der Implerstraße", "Mittelschule an der Wittelsbacherstraße",
           "Städtische Realschule Neuhausen", "Grundschule am Hasenbergl")
CARRIERS = ("Sozialwerk Sonnenhof München e.V.", "Nachbarschaftshilfe Isarauen e.V.",
            "Verein für Wohnungslosenhilfe Giesing e.V.", "Frauenhilfe Haidhausen e.V.",
            "Seniorentreff Hasenbergl e.V.", "Lernpaten Milbertshofen e.V.")
MEASURES = ("Beratungsstelle für Wohnungslose", "Offener Mittagstisch für Senior*innen",
            "Schuldnerberatung im Stadtteil", "Hausaufgabenbetreuung für Grundschulkinder",
            "Frauennotruf und Begleitung")


@dataclass(frozen=True)
class PlantedValue:
    case_coo: str
    aktenzeichen: str
    category: str  # name, geburtsdatum, anschrift, iban, telefon, email, steuer_id, sv_nummer, gesundheit
    value: str


class _Gen:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.next_coo = FIRST_CASE_COO
        self.planted: list[PlantedValue] = []
        self.numbers: dict[str, int] = {}
        self.case_coo = ""
        self.az = ""

    def coo(self) -> str:
        self.next_coo += 1
        return f"COO.1.2301.1.{self.next_coo}"

    def plant(self, category: str, value: str) -> None:
        self.planted.append(PlantedValue(self.case_coo, self.az, category, value))

    def plant_person(self, p: Person) -> None:
        for cat, val in (("name", p.name), ("geburtsdatum", p.geburtsdatum_de),
                         ("geburtsdatum", p.geburtsdatum.isoformat()),
                         ("anschrift", f"{p.strasse} {p.hausnummer}"), ("iban", p.iban), ("telefon", p.telefon),
                         ("email", p.email), ("steuer_id", p.steuer_id),
                         ("sv_nummer", p.sozialversicherungsnummer)):
            self.plant(cat, val)

    def aktenzeichen(self, code: str, year: int) -> str:
        pt = by_code(code)
        n = self.numbers.get(code, self.rng.randint(1000, 1500)) + self.rng.randint(1, 7)
        self.numbers[code] = n
        return f"{pt.office}-{code}/{year}/{n:06d}"

    # builders -------------------------------------------------------------------

    def file(self, name: str, *, text: str | None = None, json: Any = None, subj: list[str] | None = None) -> dict:
        f: dict[str, Any] = {"coo": self.coo(), "name": name}
        if json is not None:
            f["json"] = json
        else:
            f["text"] = text or ""
        if subj:
            f["filesubj"] = subj
        return f

    def doc(self, kind: str, shortname: str, when: datetime, files: list[dict], filesubj: str = "",
            cancellable: bool = True, **extra: Any) -> dict:
        d: dict[str, Any] = {"coo": self.coo(), "kind": kind, "shortname": shortname, "filesubj": filesubj,
                             "date": when.isoformat(timespec="seconds"), "files": files}
        d.update({k: v for k, v in extra.items() if v is not None})
        if cancellable and self.rng.random() < CANCEL_DOC_RATE:
            d["state"] = "Storniert"
            d["filesubj"] = (filesubj + "\nStorniert: doppelt erfasst").strip()
        return d

    def text_doc(self, kind: str, shortname: str, when: datetime, file_name: str, text: str, filesubj: str,
                 **extra: Any) -> dict:
        """A document holding one text file."""
        return self.doc(kind, shortname, when, [self.file(file_name, text=text)], filesubj=filesubj, **extra)

    def letter(self, p: Person, subject: str, body: str, when: datetime) -> str:
        return (f"Landeshauptstadt München, Sozialreferat\n\n{p.anrede}\n{p.name}\n{p.strasse} {p.hausnummer}\n"
                f"{p.plz} {p.ort}\n\nMünchen, {when:%d.%m.%Y}\n\n{subject}\n\n{p.briefanrede} {p.nachname},\n\n"
                f"{body}\n\nMit freundlichen Grüßen\nIhr Sozialreferat\n")


def _weighted_code(rng: random.Random) -> str:
    total = sum(w for _, w in TYPE_WEIGHTS)
    x = rng.uniform(0, total)
    for code, w in TYPE_WEIGHTS:
        x -= w
        if x <= 0:
            return code
    return TYPE_WEIGHTS[-1][0]


def _at(d: date, rng: random.Random) -> datetime:
    return datetime.combine(d, time(rng.randint(7, 17), rng.randint(0, 59)), tzinfo=TZ)


def generate_cases(n: int, seed: int = 42) -> tuple[list[dict[str, Any]], list[PlantedValue]]:
    """``n`` fictitious cases (deterministic for a seed) and the personal values planted in them."""
    g = _Gen(seed)
    cases = []
    for _ in range(n):
        cases.append(_case(g))
    return cases, g.planted


def _case(g: _Gen) -> dict[str, Any]:
    rng = g.rng
    code = _weighted_code(rng)
    start = date(2024, 1, 8) + timedelta(days=rng.randint(0, 780))
    g.case_coo = g.coo()
    g.az = g.aktenzeichen(code, start.year)
    builder = {"WG": _wohngeld, "HZP": _pflege, "BUT": _but, "GRUSI": _grusi, "UVG": _uvg, "ZUS": _zuschuss}[code]
    case = builder(g, start)
    case.update(coo=g.case_coo, objname=g.az, procedure_type=code, fileouobj=ORG_UNITS[code],
                fileruntimefrom=_at(start, rng).isoformat(timespec="seconds"),
                fileruntimetill=_at(start + timedelta(days=365), rng).isoformat(timespec="seconds"))
    if rng.random() < CANCEL_CASE_RATE:
        case["state"] = "Storniert"
    return case


def _akte(shortname: str, filesubj: str, objterms: str, procedures: list[dict]) -> dict[str, Any]:
    """A case file (Akte) record; ``_case`` adds its COO, Aktenzeichen and runtime."""
    return {"shortname": shortname, "filesubj": filesubj, "objterms": objterms, "procedures": procedures}


def _procedure(g: _Gen, shortname: str, filesubj: str, remark: str, objterms: str, docs: list[dict],
               state: str = "In Bearbeitung") -> dict[str, Any]:
    return {"coo": g.coo(), "shortname": shortname, "filesubj": filesubj, "procremark": remark,
            "objterms": objterms, "documents": docs, "state": state,
            "filetype": g.rng.choice(("Elektronisch", "Elektronisch", "Elektronisch", "Hybrid")),
            "bostate": "z.A. verfügt" if state == "Abgeschlossen" else "Erstellt"}


def _antrag(g: _Gen, p: Person, title: str, when: datetime, specific: dict[str, Any], text: str) -> dict:
    data = {"verfahren": title, "antragsdatum": when.date().isoformat(), **p.as_json(), **specific}
    files = [g.file("antrag.json", json=data), g.file("anschreiben.txt", text=text)]
    return g.doc("Eingang", f"Antrag {title} {p.nachname}, {p.vorname}", when, files,
                 filesubj=f"Antrag von {p.anrede} {p.name}, geb. {p.geburtsdatum_de}, {p.anschrift}",
                 cancellable=False)


def _confirm(g: _Gen, p: Person, title: str, when: datetime, incoming: dict) -> dict:
    text = g.letter(p, f"Ihr Antrag auf {title}",
                    f"wir bestätigen den Eingang Ihres Antrags auf {title} vom {when:%d.%m.%Y}.", when)
    return g.text_doc("Erledigung", "Eingangsbestätigung", when + timedelta(days=2), "eingangsbestaetigung.txt", text,
                      f"Eingangsbestätigung an {p.name}, {p.anschrift}",
                      referredincoming=incoming["coo"], doctemplate="LHM Schreiben Extern")


def _wohngeld(g: _Gen, start: date) -> dict[str, Any]:
    rng = g.rng
    p = person(rng, 1945, 2003)
    landlord = person(rng, 1950, 1985)
    g.plant_person(p)
    g.plant("name", landlord.name)
    g.plant("iban", landlord.iban)
    hh = rng.randint(1, 5)
    miete = rng.randint(55, 190) * 5.0
    income = rng.randint(900, 2600) + 0.5 * rng.randint(0, 99)
    t0 = _at(start, rng)
    antrag = _antrag(g, p, "Wohngeld", t0, {
        "miete": miete, "nebenkosten": rng.randint(12, 40) * 5.0, "wohnflaeche_qm": rng.randint(28, 95),
        "haushaltsmitglieder": hh, "einkommen_monatlich": income,
        "vermieter": {"name": landlord.name, "iban": landlord.iban}},
        f"Hiermit beantrage ich Wohngeld (Mietzuschuss). Mein Haushalt hat {hh} Personen.\n"
        f"{p.name}, {p.anschrift}, Tel. {p.telefon}")
    docs = [antrag,
            g.text_doc("Eingang", f"Nachweis Einkommen {p.nachname}", t0 + timedelta(days=1), "gehaltsabrechnung.txt",
                       f"Entgeltabrechnung\nArbeitnehmer: {p.name}\nSteuer-ID: {p.steuer_id}\n"
                       f"SV-Nummer: {p.sozialversicherungsnummer}\nNetto: {euro(income)}\nAuszahlung auf {p.iban}\n",
                       f"Gehaltsabrechnungen {p.name}"),
            g.text_doc("Eingang", f"Mietvertrag {p.strasse} {p.hausnummer}", t0 + timedelta(days=1), "mietvertrag.txt",
                       f"Mietvertrag zwischen {landlord.name} (Vermieter) und {p.name} (Mieter)\n"
                       f"Mietobjekt: {p.anschrift}\nKaltmiete: {euro(miete)}\nMiete an IBAN {landlord.iban}\n",
                       f"Mietvertrag, Vermieter {landlord.name}"),
            _confirm(g, p, "Wohngeld", t0, antrag)]
    if rng.random() < 0.5:
        docs.append(g.text_doc("Erledigung", "Bewilligungsbescheid Wohngeld", t0 + timedelta(days=30), "bescheid.txt",
                               g.letter(p, "Bescheid über Wohngeld",
                                        f"Ihnen wird ab {start:%m/%Y} ein Wohngeld von monatlich "
                                        f"{euro(rng.randint(40, 420))} bewilligt. Die Zahlung erfolgt auf das Konto "
                                        f"{p.iban}.", t0 + timedelta(days=30)),
                               f"Bescheid an {p.name}"))
    procs = [_procedure(g, f"Erstantrag Wohngeld {start.year}",
                        f"Antrag auf Mietzuschuss von {p.name}, Tel. {p.telefon}",
                        f"Rückfragen per E-Mail an {p.email}; Vermieter {landlord.name} bestätigt Miete "
                        f"{euro(miete)}", "Wohngeld; Erstantrag", docs)]
    if rng.random() < 0.4:
        procs[0]["state"] = "Abgeschlossen"
        procs[0]["bostate"] = "z.A. verfügt"
        t1 = t0 + timedelta(days=330)
        procs.append(_procedure(g, f"Weiterleistungsantrag Wohngeld {start.year + 1}",
                                f"Weiterleistung für {p.name}", f"Einkommen geändert, Tel. {p.telefon}",
                                "Wohngeld; Weiterleistung", [
                                    g.text_doc("Eingang", f"Weiterleistungsantrag {p.nachname}", t1,
                                               "weiterleistungsantrag.txt",
                                               f"Weiterleistungsantrag von {p.name}, {p.anschrift}",
                                               f"Weiterleistungsantrag {p.name}")]))
    return _akte(f"Wohngeld {p.nachname}, {p.vorname}",
                 f"Wohngeld (Mietzuschuss) für {p.anrede} {p.name}, geb. {p.geburtsdatum_de}, "
                 f"{p.anschrift}; Haushalt mit {hh} Personen",
                 "Wohngeld; Mietzuschuss", procs)


def _pflege(g: _Gen, start: date) -> dict[str, Any]:
    rng = g.rng
    p = person(rng, 1928, 1956)
    rel = person(rng, 1955, 1990, nachname=p.nachname)
    diagnose = rng.choice(DIAGNOSES)
    home = rng.choice(HOMES)
    g.plant_person(p)
    g.plant("name", rel.name)
    g.plant("telefon", rel.telefon)
    g.plant("gesundheit", diagnose)
    t0 = _at(start, rng)
    antrag = _antrag(g, p, "Hilfe zur Pflege", t0, {
        "pflegegrad": int(diagnose.split()[1].rstrip(",")), "diagnose": diagnose, "einrichtung": home,
        "krankenkasse": rng.choice(("AOK Bayern", "Techniker Krankenkasse", "DAK-Gesundheit")),
        "betreuung": {"name": rel.name, "telefon": rel.telefon}},
        f"Für meine Mutter/meinen Vater {p.name} beantrage ich Hilfe zur Pflege. {diagnose}.\n"
        f"{rel.name}, Tel. {rel.telefon}")
    docs = [antrag,
            g.text_doc("Eingang", f"Pflegegutachten Medizinischer Dienst {p.nachname}", t0 + timedelta(days=5),
                       "gutachten.txt",
                       f"Gutachten zur Feststellung der Pflegebedürftigkeit\nVersicherte/r: {p.name}, "
                       f"geb. {p.geburtsdatum_de}\nVersichertennummer: {p.sozialversicherungsnummer}\n"
                       f"Ergebnis: {diagnose}\n",
                       f"Gutachten MD: {diagnose}"),
            g.text_doc("Eingang", "Heimvertrag", t0 + timedelta(days=6), "heimvertrag.txt",
                       f"Heimvertrag {home} mit {p.name}, Kosten monatlich {euro(rng.randint(2800, 4900))}",
                       f"Heimvertrag {home}"),
            _confirm(g, p, "Hilfe zur Pflege", t0, antrag)]
    return _akte(f"Hilfe zur Pflege {p.nachname}, {p.vorname}",
                 f"Hilfe zur Pflege für {p.name}, geb. {p.geburtsdatum_de}; {diagnose}; {home}",
                 "Hilfe zur Pflege; stationär",
                 [_procedure(g, f"Antrag Hilfe zur Pflege {start.year}",
                             f"Hilfe zur Pflege {p.name} ({diagnose})",
                             f"Angehörige {rel.name} erreichbar unter {rel.telefon}; {diagnose}",
                             "Hilfe zur Pflege; Erstantrag", docs)])


def _but(g: _Gen, start: date) -> dict[str, Any]:
    rng = g.rng
    p = person(rng, 1975, 1998)
    child = person(rng, 2009, 2019, nachname=p.nachname, street=(p.strasse, p.hausnummer, p.plz))
    school = rng.choice(SCHOOLS)
    g.plant_person(p)
    g.plant("name", child.name)
    g.plant("geburtsdatum", child.geburtsdatum_de)
    g.plant("geburtsdatum", child.geburtsdatum.isoformat())
    health = "Lernförderung wegen ärztlich festgestellter Lese-Rechtschreib-Störung"
    g.plant("gesundheit", health)
    t0 = _at(start, rng)
    antrag = _antrag(g, p, "Bildung und Teilhabe", t0, {
        "kind": {"vorname": child.vorname, "nachname": child.nachname,
                 "geburtsdatum": child.geburtsdatum.isoformat(), "schule": school},
        "leistungen": ["Mittagsverpflegung", "Schulausflug", "Lernförderung"],
        "leistungsbezug": rng.choice(("Bürgergeld", "Wohngeld", "Kinderzuschlag"))},
        f"Antrag auf Leistungen für Bildung und Teilhabe für mein Kind {child.name}. {health}.")
    docs = [antrag,
            g.text_doc("Eingang", f"Schulbescheinigung {child.vorname} {child.nachname}", t0 + timedelta(days=3),
                       "schulbescheinigung.txt",
                       f"{school}: {child.name}, geb. {child.geburtsdatum_de}, besucht die Klasse {rng.randint(1, 9)}.",
                       f"Schulbescheinigung {child.name}"),
            _confirm(g, p, "Bildung und Teilhabe", t0, antrag)]
    return _akte(f"BuT {p.nachname}, {child.vorname}",
                 f"Bildung und Teilhabe für {child.name} (geb. {child.geburtsdatum_de}), {school}; "
                 f"Antragsteller/in {p.name}",
                 "Bildung und Teilhabe; Schule",
                 [_procedure(g, f"BuT Schuljahr {start.year}/{start.year + 1}",
                             f"Mittagsverpflegung und Lernförderung {child.name}",
                             f"{health}; Kontakt {p.email}", "Bildung und Teilhabe", docs)])


def _grusi(g: _Gen, start: date) -> dict[str, Any]:
    rng = g.rng
    p = person(rng, 1936, 1959)
    health = rng.choice(GRUSI_HEALTH)
    rente = rng.randint(380, 1150) + 0.01 * rng.randint(0, 99)
    g.plant_person(p)
    g.plant("gesundheit", health)
    t0 = _at(start, rng)
    antrag = _antrag(g, p, "Grundsicherung im Alter", t0, {
        "rente_monatlich": rente, "vermoegen": rng.randint(0, 9000), "miete": rng.randint(80, 160) * 5.0,
        "schwerbehinderung": health},
        f"Ich beantrage Grundsicherung im Alter. Meine Rente beträgt {euro(rente)}. {health}.")
    docs = [antrag,
            g.text_doc("Eingang", f"Rentenbescheid DRV {p.nachname}", t0 + timedelta(days=4), "rentenbescheid.txt",
                       f"Deutsche Rentenversicherung, Rentenbescheid für {p.name}, "
                       f"Versicherungsnummer {p.sozialversicherungsnummer}, Zahlbetrag {euro(rente)}",
                       f"Rentenbescheid {p.name}, VSNR {p.sozialversicherungsnummer}"),
            g.text_doc("Eingang", "Kontoauszüge", t0 + timedelta(days=4), "kontoauszuege.txt",
                       f"Kontoinhaber {p.name}, IBAN {p.iban}, Saldo {euro(rng.randint(20, 4000))}",
                       f"Kontoauszüge {p.iban}"),
            _confirm(g, p, "Grundsicherung im Alter", t0, antrag)]
    return _akte(f"Grundsicherung {p.nachname}, {p.vorname}",
                 f"Grundsicherung im Alter für {p.name}, geb. {p.geburtsdatum_de}, {p.anschrift}",
                 "Grundsicherung; Alter",
                 [_procedure(g, f"Grundsicherung Erstantrag {start.year}",
                             f"Grundsicherung {p.name}", f"{health}; Tel. {p.telefon}",
                             "Grundsicherung; Erstantrag", docs)])


def _uvg(g: _Gen, start: date) -> dict[str, Any]:
    rng = g.rng
    p = person(rng, 1980, 2002)
    child = person(rng, 2012, 2023, nachname=p.nachname, street=(p.strasse, p.hausnummer, p.plz))
    other = person(rng, 1975, 2000)
    g.plant_person(p)
    g.plant("name", child.name)
    g.plant("geburtsdatum", child.geburtsdatum_de)
    g.plant("geburtsdatum", child.geburtsdatum.isoformat())
    g.plant("name", other.name)
    g.plant("anschrift", f"{other.strasse} {other.hausnummer}")
    t0 = _at(start, rng)
    antrag = _antrag(g, p, "Unterhaltsvorschuss", t0, {
        "kind": {"vorname": child.vorname, "nachname": child.nachname,
                 "geburtsdatum": child.geburtsdatum.isoformat()},
        "unterhaltspflichtiger": {"vorname": other.vorname, "nachname": other.nachname,
                                  "letzte_anschrift": other.anschrift},
        "kindergeld_bezogen": True},
        f"Der Vater/die Mutter meines Kindes, {other.name}, zahlt keinen Unterhalt.")
    docs = [antrag,
            g.text_doc("Eingang", f"Geburtsurkunde {child.vorname} {child.nachname}", t0 + timedelta(days=2),
                       "geburtsurkunde.txt", f"Geburtsurkunde: {child.name}, geboren am {child.geburtsdatum_de} in München",
                       f"Geburtsurkunde {child.name}"),
            _confirm(g, p, "Unterhaltsvorschuss", t0, antrag),
            g.text_doc("Erledigung", f"Aufforderung Auskunft an {other.nachname}", t0 + timedelta(days=9),
                       "auskunftsersuchen.txt",
                       g.letter(other, "Unterhaltsvorschuss",
                                f"für Ihr Kind {child.name} wird Unterhaltsvorschuss geleistet. Bitte erteilen Sie "
                                f"Auskunft über Ihr Einkommen.", t0 + timedelta(days=9)),
                       f"Auskunftsersuchen an {other.name}, {other.anschrift}")]
    return _akte(f"UVG {p.nachname}, {child.vorname}",
                 f"Unterhaltsvorschuss für {child.name}, geb. {child.geburtsdatum_de}; "
                 f"Unterhaltspflichtige/r {other.name}, zuletzt {other.anschrift}",
                 "Unterhaltsvorschuss",
                 [_procedure(g, f"UVG Antrag {start.year}", f"UVG {child.name}",
                             f"Antragstellende Person {p.name}, Tel. {p.telefon}",
                             "Unterhaltsvorschuss; Erstantrag", docs)])


def _zuschuss(g: _Gen, start: date) -> dict[str, Any]:
    rng = g.rng
    p = person(rng, 1960, 1994)
    carrier = rng.choice(CARRIERS)
    measure = rng.choice(MEASURES)
    amount = rng.randint(8, 240) * 500
    carrier_iban = person(rng).iban
    g.plant_person(p)
    g.plant("iban", carrier_iban)
    t0 = _at(start, rng)
    antrag = _antrag(g, p, "Zuschuss", t0, {
        "traeger": {"name": carrier, "iban": carrier_iban}, "beantragter_betrag": amount,
        "massnahme": measure, "zeitraum": f"{start.year + 1}"},
        f"{carrier} beantragt einen Zuschuss von {euro(amount)} für {measure}. "
        f"Ansprechperson: {p.name}, {p.telefon}, {p.email}")
    docs = [antrag,
            g.text_doc("Eingang", "Kosten- und Finanzierungsplan", t0 + timedelta(days=1), "finanzierungsplan.txt",
                       f"Personalkosten {euro(amount * 0.7)}, Sachkosten {euro(amount * 0.3)}; Konto {carrier_iban}",
                       f"Finanzierungsplan {carrier}"),
            g.text_doc("Erledigung", f"Zuwendungsbescheid {start.year + 1}", t0 + timedelta(days=60),
                       "zuwendungsbescheid.txt",
                       g.letter(p, f"Zuwendung für {measure}",
                                f"dem {carrier} wird eine Zuwendung von {euro(amount)} gewährt.", t0 + timedelta(days=60)),
                       f"Bescheid an {carrier}, z. Hd. {p.name}")]
    return _akte(f"Zuschuss {start.year + 1} {carrier}",
                 f"Zuschuss an {carrier} für {measure}; Ansprechpartner/in {p.name}, "
                 f"Tel. {p.telefon}, {p.email}",
                 "Zuschuss; Wohlfahrtspflege",
                 [_procedure(g, f"Zuschussantrag {start.year + 1}", f"{measure} ({carrier})",
                             f"Ansprechpartner/in {p.name}, {p.email}", "Zuschuss", docs)])
