"""Deadline rules and Bavarian (Munich) public holidays of the letter workflow."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.letters.calendar import (
    add_months,
    bavarian_holidays,
    deadline,
    easter_sunday,
    is_working_day,
    next_working_day,
    parse_date,
)


def test_easter_dates():
    assert easter_sunday(2024) == date(2024, 3, 31)
    assert easter_sunday(2025) == date(2025, 4, 20)
    assert easter_sunday(2026) == date(2026, 4, 5)
    assert easter_sunday(2027) == date(2027, 3, 28)
    assert easter_sunday(2038) == date(2038, 4, 25)  # latest possible
    assert easter_sunday(2285) == date(2285, 3, 22)  # earliest possible


def test_bavarian_holidays_2026():
    h = bavarian_holidays(2026)
    expected = {
        date(2026, 1, 1): "Neujahr", date(2026, 1, 6): "Heilige Drei Könige", date(2026, 4, 3): "Karfreitag",
        date(2026, 4, 6): "Ostermontag", date(2026, 5, 1): "Tag der Arbeit",
        date(2026, 5, 14): "Christi Himmelfahrt", date(2026, 5, 25): "Pfingstmontag",
        date(2026, 6, 4): "Fronleichnam", date(2026, 8, 15): "Mariä Himmelfahrt",
        date(2026, 10, 3): "Tag der Deutschen Einheit", date(2026, 11, 1): "Allerheiligen",
        date(2026, 12, 25): "1. Weihnachtstag", date(2026, 12, 26): "2. Weihnachtstag",
    }
    assert h == expected
    assert date(2026, 8, 15).weekday() == 5  # Mariä Himmelfahrt 2026 is a Saturday
    assert date(2026, 11, 18) not in h  # Buß- und Bettag: no public holiday in Bavaria
    assert date(2026, 12, 24) not in h and date(2026, 12, 31) not in h
    assert date(2026, 8, 8) not in h  # Augsburger Friedensfest only in Augsburg
    assert date(2026, 8, 8) in bavarian_holidays(2026, augsburg=True)
    assert date(2026, 8, 15) not in bavarian_holidays(2026, maria_himmelfahrt=False)


@pytest.mark.parametrize("year", [2025, 2027, 2030])
def test_easter_based_holidays_other_years(year):
    e = easter_sunday(year)
    h = bavarian_holidays(year)
    for offset, name in ((-2, "Karfreitag"), (1, "Ostermontag"), (39, "Christi Himmelfahrt"),
                         (50, "Pfingstmontag"), (60, "Fronleichnam")):
        assert h[date.fromordinal(e.toordinal() + offset)] == name
    assert len(h) == 13


def test_working_days():
    assert is_working_day(date(2026, 6, 3))  # Wednesday
    assert not is_working_day(date(2026, 6, 4))  # Fronleichnam (Thursday)
    assert not is_working_day(date(2026, 6, 6))  # Saturday
    assert not is_working_day(date(2026, 6, 7))  # Sunday
    assert next_working_day(date(2026, 6, 4)) == date(2026, 6, 5)
    assert next_working_day(date(2026, 12, 24)) == date(2026, 12, 24)  # Heiligabend is a working day
    assert next_working_day(date(2026, 12, 25)) == date(2026, 12, 28)  # Fri holiday, Sat holiday, Sun
    assert next_working_day(date(2026, 4, 3)) == date(2026, 4, 7)  # Karfreitag .. Ostermontag


def test_day_rules_roll_over_weekends_and_holidays():
    # 14 days from Thursday 21 May 2026 = Thursday 4 June = Fronleichnam -> Friday 5 June
    assert deadline("workdays:14", date(2026, 5, 21)) == date(2026, 6, 5)
    assert deadline("days:14", date(2026, 5, 21)) == date(2026, 6, 5)
    # 14 days from Saturday 1 Aug 2026 = Saturday 15 Aug (Mariä Himmelfahrt) -> Monday 17 Aug
    assert deadline("workdays:14", date(2026, 8, 1)) == date(2026, 8, 17)
    # ends on a Sunday -> Monday
    assert deadline("days:14", date(2026, 3, 8)) == date(2026, 3, 23)
    # plain working day stays
    assert deadline("workdays:14", date(2026, 3, 10)) == date(2026, 3, 24)
    # Allerheiligen 2026 is a Sunday -> Monday 2 Nov
    assert deadline("days:7", date(2026, 10, 25)) == date(2026, 11, 2)
    # Tag der Deutschen Einheit 2025 is a Friday -> Monday 6 Oct
    assert deadline("days:10", date(2025, 9, 23)) == date(2025, 10, 6)
    assert deadline("today", date(2026, 6, 6)) == date(2026, 6, 6)  # the letter date is not rolled


def test_month_rules():
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)  # leap year
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 3, 9), 12) == date(2027, 3, 9)
    # example of the Arbeitsanweisung Fristenberechnung: Bekanntgabe 9 March 2026 -> 9 April 2026 (Thursday)
    assert deadline("months:1", date(2026, 3, 9)) == date(2026, 4, 9)
    # 31 Jan 2026 + 1 month = Saturday 28 Feb -> Monday 2 March
    assert deadline("months:1", date(2026, 1, 31)) == date(2026, 3, 2)
    # + 1 month ends on Christi Himmelfahrt (14 May 2026) -> Friday 15 May
    assert deadline("months:1", date(2026, 4, 14)) == date(2026, 5, 15)
    # year change: 1 Dec 2026 + 1 month = 1 Jan 2027 (Neujahr, Friday) -> Monday 4 Jan
    assert deadline("months:1", date(2026, 12, 1)) == date(2027, 1, 4)
    # Heilige Drei Könige 2027 is a Wednesday
    assert deadline("months:1", date(2026, 12, 6)) == date(2027, 1, 7)


def test_bad_rules_and_dates():
    with pytest.raises(ValueError, match="Fristregel"):
        deadline("weeks:2", date(2026, 1, 1))
    assert parse_date("04.06.2026") == date(2026, 6, 4)
    assert parse_date("2026-06-04") == date(2026, 6, 4)
    with pytest.raises(ValueError, match="kein gültiges Datum"):
        parse_date("31.02.2026")
    with pytest.raises(ValueError, match="kein gültiges Datum"):
        parse_date("morgen")
