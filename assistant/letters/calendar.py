"""Deadlines for letters: Bavarian public holidays (Munich) and the deadline rules of the sidecars.

Rules (``rule`` in a sidecar field with ``source: computed``):

``today``         the date itself
``days:N``        N calendar days later
``workdays:N``    N calendar days later (the sidecar hint: "14 Kalendertage ab heute, auf den
                  nächsten Werktag verschoben")
``months:N``      N months later; a missing day is the last day of that month (§ 188 Abs. 3 BGB)

Every deadline that ends on a Saturday, Sunday or public holiday ends on the next working
day (§ 26 Abs. 3 SGB X, § 64 Abs. 3 SGG, § 193 BGB). Holidays are those of Bavaria at the
seat of the authority, Munich: including Heilige Drei Könige, Fronleichnam, Mariä
Himmelfahrt and Allerheiligen. Buß- und Bettag is no public holiday in Bavaria;
Heiligabend and Silvester are working days. The Augsburger Friedensfest (8 August) applies
only in Augsburg and is off by default.
"""

from __future__ import annotations

import calendar as _cal
import re
from datetime import date, timedelta
from functools import lru_cache

RULE_RE = re.compile(r"^(today|days:\d+|workdays:\d+|months:\d+|briefanrede)$")
DATE_RULE_RE = re.compile(r"^(today|(days|workdays|months):(\d+))$")


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=256)
def _holidays(year: int, maria_himmelfahrt: bool, augsburg: bool) -> tuple[tuple[date, str], ...]:
    easter = easter_sunday(year)
    days: dict[date, str] = {
        date(year, 1, 1): "Neujahr",
        date(year, 1, 6): "Heilige Drei Könige",
        easter - timedelta(days=2): "Karfreitag",
        easter + timedelta(days=1): "Ostermontag",
        date(year, 5, 1): "Tag der Arbeit",
        easter + timedelta(days=39): "Christi Himmelfahrt",
        easter + timedelta(days=50): "Pfingstmontag",
        easter + timedelta(days=60): "Fronleichnam",
        date(year, 11, 1): "Allerheiligen",
        date(year, 12, 25): "1. Weihnachtstag",
        date(year, 12, 26): "2. Weihnachtstag",
    }
    if maria_himmelfahrt:
        days[date(year, 8, 15)] = "Mariä Himmelfahrt"
    if augsburg:
        days[date(year, 8, 8)] = "Augsburger Hohes Friedensfest"
    if year >= 1990:
        days[date(year, 10, 3)] = "Tag der Deutschen Einheit"
    elif year >= 1954:
        days[date(year, 6, 17)] = "Tag der Deutschen Einheit"
    return tuple(sorted(days.items()))


def bavarian_holidays(year: int, *, maria_himmelfahrt: bool = True, augsburg: bool = False) -> dict[date, str]:
    """Public holidays in Bavaria for ``year`` (default: as in Munich) -> {date: German name}."""
    return dict(_holidays(year, maria_himmelfahrt, augsburg))


def holiday_name(d: date) -> str | None:
    return bavarian_holidays(d.year).get(d)


def is_working_day(d: date) -> bool:
    """Monday to Friday and no public holiday in Munich (Saturday counts as non-working for deadlines)."""
    return d.weekday() < 5 and d not in bavarian_holidays(d.year)


def next_working_day(d: date) -> date:
    """``d`` itself if it is a working day, else the next working day."""
    while not is_working_day(d):
        d += timedelta(days=1)
    return d


def add_months(d: date, months: int) -> date:
    """Same day number N months later; the last day of the month where that day is missing."""
    m = d.month - 1 + months
    year, month = d.year + m // 12, m % 12 + 1
    return date(year, month, min(d.day, _cal.monthrange(year, month)[1]))


def deadline(rule: str, start: date) -> date:
    """Apply a date rule (``today``, ``days:N``, ``workdays:N``, ``months:N``) from ``start``.

    ``today`` is returned unchanged (it is the letter date, not a deadline); every other rule
    is rolled forward to the next working day.
    """
    m = DATE_RULE_RE.match(rule.strip())
    if not m:
        raise ValueError(f"Unbekannte Fristregel '{rule}'. Erlaubt: today, days:N, workdays:N, months:N.")
    if m.group(1) == "today":
        return start
    kind, n = m.group(2), int(m.group(3))
    if kind in ("days", "workdays"):
        end = start + timedelta(days=n)
    else:
        end = add_months(start, n)
    return next_working_day(end)


def format_date(d: date) -> str:
    return d.strftime("%d.%m.%Y")


def parse_date(value: str) -> date:
    """Accept ``TT.MM.JJJJ`` or ISO ``JJJJ-MM-TT``; German ValueError otherwise."""
    s = str(value).strip()
    try:
        if re.fullmatch(r"\d{1,2}\.\d{1,2}\.\d{4}", s):
            d, m, y = (int(x) for x in s.split("."))
            return date(y, m, d)
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}(T.*)?", s):
            return date.fromisoformat(s[:10])
    except ValueError:
        pass
    raise ValueError(f"'{value}' ist kein gültiges Datum (erwartet TT.MM.JJJJ).")
