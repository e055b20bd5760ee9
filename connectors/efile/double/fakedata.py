"""Fictitious personal data for the double: names, Munich addresses, valid-looking ids.

All persons are invented. IBANs carry a correct checksum, tax ids a correct
ISO 7064 check digit and social insurance numbers a correct check digit, so that
detectors which validate them recognise them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

FIRST_F = ("Anna", "Maria", "Elisabeth", "Sabine", "Claudia", "Petra", "Monika", "Ursula", "Katharina",
           "Sophie", "Lena", "Fatma", "Ayşe", "Olena", "Agnieszka", "Ivana", "Leonie", "Marlene",
           "Johanna", "Theresa", "Gertrud", "Hildegard", "Rosa", "Zeynep")
FIRST_M = ("Josef", "Franz", "Michael", "Thomas", "Andreas", "Stefan", "Peter", "Klaus", "Johann",
           "Markus", "Mehmet", "Dragan", "Oleksandr", "Piotr", "Luca", "Jonas", "Maximilian", "Florian",
           "Georg", "Anton", "Alois", "Xaver", "Ahmad", "Emre")
LAST = ("Huber", "Bauer", "Wagner", "Müller", "Schmid", "Mayer", "Hofmann", "Gruber", "Brandl", "Lechner",
        "Obermaier", "Steiner", "Wimmer", "Kaiser", "Fischer", "Weber", "Yılmaz", "Kowalski", "Petrović",
        "Schewtschenko", "Rossi", "Nguyen", "Berger", "Zeller", "Moser", "Reiter", "Haas", "Pichler",
        "Fuchs", "Kraus", "Oberhuber", "Demir", "Hadžić", "Amann", "Rauscher", "Westermeier")
STREETS = (("Lindwurmstraße", "80337"), ("Leopoldstraße", "80802"), ("Sonnenstraße", "80331"),
           ("Rosenheimer Straße", "81669"), ("Landsberger Straße", "80687"), ("Schleißheimer Straße", "80797"),
           ("Belgradstraße", "80796"), ("Fürstenrieder Straße", "81377"), ("Plinganserstraße", "81369"),
           ("Hansastraße", "81373"), ("Schwanthalerstraße", "80336"), ("Dachauer Straße", "80335"),
           ("Ungererstraße", "80805"), ("Orleansstraße", "81667"), ("Wasserburger Landstraße", "81825"),
           ("Hanauer Straße", "80993"), ("Karl-Marx-Ring", "81735"), ("Thalkirchner Straße", "80337"),
           ("Implerstraße", "81371"), ("Ingolstädter Straße", "80807"), ("Balanstraße", "81549"),
           ("Fritz-Meyer-Weg", "81925"), ("Paulckestraße", "81249"), ("Neuherbergstraße", "80937"))
BANKS = ("70150000", "70020270", "70010080", "70090100", "70169464")
INSURERS = ("AOK Bayern", "BKK Landeshauptstadt", "Techniker Krankenkasse", "DAK-Gesundheit", "Barmer")
MAIL_DOMAINS = ("example.org", "example.com", "example.net")
_TRANSLIT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "ı": "i", "ş": "s", "ć": "c",
                           "ž": "z", "č": "c", "ğ": "g", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})


@dataclass(frozen=True)
class Person:
    anrede: str
    vorname: str
    nachname: str
    geburtsdatum: date
    strasse: str
    hausnummer: str
    plz: str
    ort: str
    iban: str
    telefon: str
    email: str
    steuer_id: str
    sozialversicherungsnummer: str

    @property
    def name(self) -> str:
        return f"{self.vorname} {self.nachname}"

    @property
    def anschrift(self) -> str:
        return f"{self.strasse} {self.hausnummer}, {self.plz} {self.ort}"

    @property
    def geburtsdatum_de(self) -> str:
        return self.geburtsdatum.strftime("%d.%m.%Y")

    @property
    def briefanrede(self) -> str:
        return "Sehr geehrte Frau" if self.anrede == "Frau" else "Sehr geehrter Herr"

    def as_json(self) -> dict[str, str]:
        return {
            "anrede": self.anrede, "vorname": self.vorname, "nachname": self.nachname,
            "geburtsdatum": self.geburtsdatum.isoformat(), "strasse": self.strasse,
            "hausnummer": self.hausnummer, "plz": self.plz, "ort": self.ort, "iban": self.iban,
            "telefon": self.telefon, "email": self.email, "steuer_id": self.steuer_id,
            "sozialversicherungsnummer": self.sozialversicherungsnummer,
        }


def iban_de(blz: str, account: str) -> str:
    bban = blz + account
    check = 98 - int(bban + "131400") % 97
    raw = f"DE{check:02d}{bban}"
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def steuer_id(rng: random.Random) -> str:
    digits = [rng.randint(1, 9)] + [rng.randint(0, 9) for _ in range(9)]
    product = 10
    for d in digits:
        s = (d + product) % 10 or 10
        product = (s * 2) % 11
    check = (11 - product) % 10
    return "".join(map(str, digits)) + str(check)


def sv_nummer(rng: random.Random, born: date, nachname: str, female: bool) -> str:
    letter = nachname.translate(_TRANSLIT)[0].upper()
    area = rng.choice(("12", "13", "14", "15"))
    serial = rng.randint(50, 99) if female else rng.randint(0, 49)
    base = f"{area}{born:%d%m%y}{ord(letter) - 64:02d}{serial:02d}"
    weights = (2, 1, 2, 5, 7, 1, 2, 1, 2, 1, 2, 1)
    total = sum(sum(divmod(int(d) * w, 10)) for d, w in zip(base, weights, strict=True))
    return f"{area}{born:%d%m%y}{letter}{serial:02d}{total % 10}"


def phone(rng: random.Random) -> str:
    if rng.random() < 0.5:
        return f"089 {rng.randint(100, 999)} {rng.randint(1000, 9999)}"
    return f"0{rng.choice(('151', '160', '170', '176'))} {rng.randint(1000000, 99999999)}"


def birthdate(rng: random.Random, first_year: int, last_year: int) -> date:
    start = date(first_year, 1, 1)
    span = (date(last_year, 12, 31) - start).days
    return start + timedelta(days=rng.randint(0, span))


def person(rng: random.Random, first_year: int = 1950, last_year: int = 2000,
           nachname: str | None = None, street: tuple[str, str, str] | None = None) -> Person:
    female = rng.random() < 0.55
    vorname = rng.choice(FIRST_F if female else FIRST_M)
    nachname = nachname or rng.choice(LAST)
    born = birthdate(rng, first_year, last_year)
    strasse, plz = (street[0], street[2]) if street else rng.choice(STREETS)
    hausnummer = street[1] if street else f"{rng.randint(1, 160)}{rng.choice(('', '', '', 'a', 'b'))}"
    mail_name = f"{vorname}.{nachname}".translate(_TRANSLIT).lower()
    return Person(
        anrede="Frau" if female else "Herr", vorname=vorname, nachname=nachname, geburtsdatum=born,
        strasse=strasse, hausnummer=hausnummer, plz=plz, ort="München",
        iban=iban_de(rng.choice(BANKS), f"{rng.randint(0, 9_999_999_999):010d}"),
        telefon=phone(rng), email=f"{mail_name}{rng.randint(1, 99)}@{rng.choice(MAIL_DOMAINS)}",
        steuer_id=steuer_id(rng), sozialversicherungsnummer=sv_nummer(rng, born, nachname, female),
    )


def euro(value: float) -> str:
    return f"{value:,.2f} EUR".replace(",", "X").replace(".", ",").replace("X", ".")
