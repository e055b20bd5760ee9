"""Figures for the yearly report to the city council committee (Stadtratsausschuss).

:class:`ReportService` aggregates one period (calendar days in Europe/Berlin, both ends included)
into a plain dict, see :meth:`ReportService.build`. The report holds **no personal data**: no
user ids or names, no question texts, no feedback comments, no letter contents, no Aktenzeichen.

Where the figures come from:

* Questions and their outcome: the audit events ``action="answer"`` (outcome ``answered``,
  ``fallback`` or ``refused``). They are written with every saved answer and, unlike messages,
  stay when a caseworker deletes a conversation, so the yearly count does not shrink.
* Answers marked wrong: a thumbs-down (``feedback.rating = -1``) on an answer that was neither
  refused nor written by the fallback method. Answered questions are reported in four groups that
  add up to all questions: answered and not marked wrong, answered and marked wrong (thumbs down),
  refused, fallback. A thumbs-down on an answer whose conversation was deleted counts as marked
  wrong (its outcome can no longer be told; the report errs on the side of fewer good answers).
* Topics: the title of the first cited policy document of each stored, not refused answer
  (``messages.citations``). Case records (``source="efile:..."``, title "Akte <Aktenzeichen>")
  are never shown by title; they count as "Auskunft aus Akten (<Verfahren>)".
* Feedback: ``feedback.rating`` (+1/-1) by ``created_at``; comments are never read.
* Letters: ``created_at`` (drafted), ``submitted_at``, ``approved_at``, ``filed_at`` in the
  period; the median time from draft to filing over the letters filed in the period.
* Staff time saved: answered and not marked wrong x minutes per answer + filed letters x minutes
  per letter; answers marked wrong, refusals and fallback answers save nothing. The assumptions are
  part of the result.
* Departments: a viewer of some departments gets the figures of people of those departments
  (:mod:`.visibility`) and of letters of those departments; a viewer of all departments, all.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from .db import AuditEvent, Conversation, Feedback, Message
from .errors import AssistantError
from .identity import Principal
from .visibility import restrict, visible_user_ids

BERLIN = ZoneInfo("Europe/Berlin")
MAX_YEARS = 5
MAX_MINUTES = 480.0
TOP_TOPICS = 10
CASE_SOURCE_PREFIX = "efile:"
OUTCOMES = {"answered": "answered", "fallback": "fallback", "refused": "refused"}  # audit -> report
MONTHS_DE = ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober",
             "November", "Dezember")
MONTHS_SHORT_DE = ("Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez")

ASSUMPTION_LABELS = {
    "minutes_per_answer": "Eingesparte Arbeitszeit je beantworteter, nicht als falsch markierter Frage",
    "minutes_per_letter": "Eingesparte Arbeitszeit je abgelegtem Schreiben",
}
ASSUMPTION_EXPLANATIONS = {
    "minutes_per_answer": "Annahme: So lange hätte das Nachschlagen in Vorschriften und Arbeitshilfen ohne "
                          "Lotse im Durchschnitt gedauert. Gezählt werden nur beantwortete Fragen, die nicht "
                          "per Daumen runter als falsch markiert wurden; Ablehnungen und Antworten im "
                          "Ersatzverfahren sparen keine Zeit.",
    "minutes_per_letter": "Annahme: So viel Zeit spart ein aus der Akte vorbefülltes Routineschreiben "
                          "gegenüber dem Schreiben von Hand im Durchschnitt.",
}
DEFAULT_MINUTES = {"minutes_per_answer": 6.0, "minutes_per_letter": 20.0}


class ReportError(AssistantError):
    """Invalid report parameters; the message is German and names what to change."""


@dataclass(frozen=True)
class ReportAssumptions:
    """Assumptions of the time-saved estimate (minutes); always printed with the result."""

    minutes_per_answer: float = DEFAULT_MINUTES["minutes_per_answer"]
    minutes_per_letter: float = DEFAULT_MINUTES["minutes_per_letter"]

    def __post_init__(self):
        for key in ASSUMPTION_LABELS:
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value \
                    or not 0 <= value <= MAX_MINUTES:
                raise ReportError(f"{ASSUMPTION_LABELS[key]}: bitte eine Zahl von 0 bis "
                                  f"{MAX_MINUTES:.0f} Minuten angeben.")

    @classmethod
    def parse(cls, minutes_per_answer: str | float | None = None,
              minutes_per_letter: str | float | None = None) -> ReportAssumptions:
        """From query parameters; empty means the default. Accepts a decimal comma ("7,5")."""
        values = {}
        for key, raw in (("minutes_per_answer", minutes_per_answer), ("minutes_per_letter", minutes_per_letter)):
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                continue
            if isinstance(raw, str):
                try:
                    raw = float(raw.strip().replace(",", "."))
                except ValueError:
                    raise ReportError(f"{ASSUMPTION_LABELS[key]}: „{raw[:40]}“ ist keine Zahl. Bitte eine Zahl "
                                      f"von 0 bis {MAX_MINUTES:.0f} Minuten angeben.") from None
            values[key] = raw
        return cls(**values)

    def as_list(self) -> list[dict]:
        return [{"key": key, "label": label, "value": _num(getattr(self, key)), "unit": "Minuten",
                 "default": _num(DEFAULT_MINUTES[key]), "explanation": ASSUMPTION_EXPLANATIONS[key]}
                for key, label in ASSUMPTION_LABELS.items()]


def parse_day(raw: str, what: str) -> date:
    """``YYYY-MM-DD`` -> date, with a German error naming the parameter (``what``)."""
    try:
        if len(raw.strip()) != 10:
            raise ValueError
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise ReportError(f"Ungültiges Datum „{raw[:40]}“ für {what}. Bitte im Format JJJJ-MM-TT angeben, "
                          "z. B. 2025-01-31.") from None


def validate_period(period_from: date, period_to: date) -> None:
    for d in (period_from, period_to):
        if not 2000 <= d.year <= 2099:
            raise ReportError(f"Das Datum {german_date(d)} liegt außerhalb des möglichen Bereichs "
                              "(Jahre 2000 bis 2099).")
    if period_from > period_to:
        raise ReportError(f"Der Beginn des Zeitraums ({german_date(period_from)}) liegt nach dem Ende "
                          f"({german_date(period_to)}). Bitte den Zeitraum korrigieren.")
    if period_to >= _add_years(period_from, MAX_YEARS):
        raise ReportError(f"Der Zeitraum darf höchstens {MAX_YEARS} Jahre umfassen. Bitte einen kürzeren "
                          "Zeitraum wählen.")


def german_date(d: date) -> str:
    return d.strftime("%d.%m.%Y")


def german_number(value: float | int | None, decimals: int = 0) -> str:
    """1234.5 -> "1.234,5" (German separators); None -> "–"."""
    if value is None:
        return "–"
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


class ReportService:
    """Aggregates the report from the assistant's database (``Session``: a SQLAlchemy sessionmaker)."""

    def __init__(self, Session: sessionmaker, *, clock: Callable[[], datetime] | None = None,  # noqa: N803
                 top_topics: int = TOP_TOPICS):
        self.Session = Session
        self.clock = clock or (lambda: datetime.now(timezone.utc))
        self.top_topics = top_topics

    def today(self) -> date:
        return self.clock().astimezone(BERLIN).date()

    def default_period(self) -> tuple[date, date]:
        """The current calendar year up to today (Europe/Berlin)."""
        today = self.today()
        return date(today.year, 1, 1), today

    def period_from_params(self, raw_from: str | None, raw_to: str | None) -> tuple[date, date]:
        """Query parameters -> validated period; a missing end defaults to today (or the end of the
        start's year if that lies before today), a missing start to 1 January of the end's year."""
        default_from, default_to = self.default_period()
        period_to = parse_day(raw_to, "das Ende („to“)") if raw_to and raw_to.strip() else None
        period_from = parse_day(raw_from, "den Beginn („from“)") if raw_from and raw_from.strip() else None
        if period_from is None and period_to is None:
            period_from, period_to = default_from, default_to
        elif period_from is None:
            period_from = date(period_to.year, 1, 1)
        elif period_to is None:
            period_to = min(default_to, date(period_from.year, 12, 31))
            period_to = max(period_to, period_from)
        validate_period(period_from, period_to)
        return period_from, period_to

    # -- the report -----------------------------------------------------------------------
    def build(self, period_from: date, period_to: date, assumptions: ReportAssumptions | None = None,
              viewer: Principal | None = None) -> dict:
        """The report of one period; ``viewer`` limits it to the viewer's departments (None: all)."""
        validate_period(period_from, period_to)
        assumptions = assumptions or ReportAssumptions()
        start, end = _utc_bounds(period_from, period_to)
        months = _months(period_from, period_to)
        monthly = {key: _empty_month(key) for key in months}

        with self.Session() as s:
            visible = visible_user_ids(s, viewer) if viewer is not None else None
            outcomes = Counter()
            rows = s.execute(restrict(select(AuditEvent.at, AuditEvent.outcome)
                                      .where(AuditEvent.action == "answer", AuditEvent.at >= start,
                                             AuditEvent.at < end), AuditEvent.user_id, visible))
            for at, outcome in rows:
                if outcome not in OUTCOMES:
                    continue
                outcomes[outcome] += 1
                monthly[_month_key(at)][OUTCOMES[outcome]] += 1

            wrong = self._marked_wrong(s, start, end, visible, monthly)

            topics: Counter = Counter()
            stored_answers = 0
            rows = s.execute(restrict(select(Message.citations)
                                      .join(Conversation, Conversation.id == Message.conversation_id)
                                      .where(Message.role == "assistant", Message.refused.is_(False),
                                             Message.created_at >= start, Message.created_at < end),
                                      Conversation.user_id, visible)
                             .execution_options(yield_per=2000))
            for (citations,) in rows:
                stored_answers += 1
                topic = topic_of(citations)
                if topic:
                    topics[topic] += 1

            feedback = Counter()
            rows = s.execute(restrict(select(Feedback.created_at, Feedback.rating)
                                      .where(Feedback.created_at >= start, Feedback.created_at < end),
                                      Feedback.user_id, visible))
            for at, rating in rows:
                if not rating:
                    continue
                kind = "feedback_up" if rating > 0 else "feedback_down"
                feedback[kind] += 1
                monthly[_month_key(at)][kind] += 1

            departments = None if viewer is None else viewer.departments
            letters, durations = self._letters(s, start, end, monthly, departments)

        marked_wrong = min(wrong, outcomes["answered"])
        good = outcomes["answered"] - marked_wrong
        total = sum(outcomes.values())
        fb_total = feedback["feedback_up"] + feedback["feedback_down"]
        minutes_answers = good * assumptions.minutes_per_answer
        minutes_letters = letters["filed"] * assumptions.minutes_per_letter
        median_h = statistics.median(durations) / 3600 if durations else None

        series = []
        for key in months:
            m = monthly.pop(key)
            m["answered_marked_wrong"] = min(m.pop("wrong"), m["answered"])
            m["answered_not_marked_wrong"] = m.pop("answered") - m["answered_marked_wrong"]
            m["questions"] = m["answered_not_marked_wrong"] + m["answered_marked_wrong"] + m["fallback"] + m["refused"]
            saved = (m["answered_not_marked_wrong"] * assumptions.minutes_per_answer
                     + m["letters_filed"] * assumptions.minutes_per_letter)
            m["hours_saved"] = round(saved / 60, 1)
            series.append({k: m[k] for k in MONTH_KEYS})

        ranked = sorted(topics.items(), key=lambda kv: (-kv[1], kv[0].casefold()))
        shown = ranked[: self.top_topics]
        return {
            "title": "Lotse – Bericht für den Stadtratsausschuss",
            "period": {"from": period_from.isoformat(), "to": period_to.isoformat(),
                       "label": f"{german_date(period_from)} bis {german_date(period_to)}",
                       "timezone": "Europe/Berlin"},
            "scope": ("alle Fachbereiche" if departments is None
                      else "Fachbereiche " + ", ".join(sorted(departments))),
            "generated_at": self.clock().astimezone(BERLIN).isoformat(timespec="seconds"),
            "questions": {
                "asked": total,
                "answered_not_marked_wrong": good, "answered_marked_wrong": marked_wrong,
                "refused": outcomes["refused"], "fallback": outcomes["fallback"],
                "share_answered_not_marked_wrong_pct": _pct(good, total),
                "share_answered_marked_wrong_pct": _pct(marked_wrong, total),
                "share_refused_pct": _pct(outcomes["refused"], total),
                "share_fallback_pct": _pct(outcomes["fallback"], total),
            },
            "feedback": {"up": feedback["feedback_up"], "down": feedback["feedback_down"], "total": fb_total,
                         "share_positive_pct": _pct(feedback["feedback_up"], fb_total)},
            "letters": dict(letters, median_draft_to_filed_hours=_round(median_h, 1),
                            median_draft_to_filed_days=_round(median_h / 24 if median_h is not None else None, 1),
                            median_basis=len(durations)),
            "topics": [{"rank": i, "topic": t, "count": n} for i, (t, n) in enumerate(shown, 1)],
            "topics_other": sum(n for _, n in ranked[self.top_topics:]),
            "topics_basis": stored_answers,
            "time_saved": {
                "answers": good, "letters": letters["filed"],
                "minutes_answers": _num(round(minutes_answers, 1)),
                "minutes_letters": _num(round(minutes_letters, 1)),
                "minutes_total": _num(round(minutes_answers + minutes_letters, 1)),
                "hours_total": round((minutes_answers + minutes_letters) / 60, 1),
                "working_days_total": round((minutes_answers + minutes_letters) / 60 / 7.8, 1),
                "basis": TIME_SAVED_BASIS,
            },
            "assumptions": assumptions.as_list(),
            "monthly": series,
            "notes": NOTES,
        }

    @staticmethod
    def _marked_wrong(s, start: datetime, end: datetime, visible: set[str] | None, monthly: dict) -> int:
        """Answers of the period whose latest rating is a thumbs-down and that were neither refused nor
        fallback (by the answer's time; for an answer no longer stored, by the time of the rating)."""
        rows = s.execute(restrict(select(Feedback.message_id, Feedback.rating, Feedback.created_at,
                                         Message.created_at, Message.refused, Message.fallback)
                                  .outerjoin(Message, Message.id == Feedback.message_id)
                                  .order_by(Feedback.created_at, Feedback.id), Feedback.user_id, visible))
        latest: dict[int, tuple] = {}
        for message_id, *rest in rows:
            latest[message_id] = tuple(rest)  # the newest rating of an answer counts
        count = 0
        for rating, rated_at, answered_at, refused, fallback in latest.values():
            if rating >= 0 or (answered_at is not None and (refused or fallback)):
                continue
            at = _aware(answered_at if answered_at is not None else rated_at)
            if not start <= at < end:
                continue
            count += 1
            monthly[_month_key(at)]["wrong"] += 1
        return count

    def _letters(self, s, start: datetime, end: datetime, monthly: dict,
                 departments: tuple[str, ...] | None) -> tuple[dict, list[float]]:
        from .letters.models import Letter  # late: keeps the report importable without the letter package

        def mine(stmt):
            return stmt if departments is None else stmt.where(Letter.department.in_(list(departments)))

        counts = {}
        for key, column, month_field in (("drafted", Letter.created_at, "letters_drafted"),
                                         ("submitted", Letter.submitted_at, None),
                                         ("approved", Letter.approved_at, None),
                                         ("filed", Letter.filed_at, "letters_filed")):
            if month_field is None:
                counts[key] = s.scalar(mine(select(func.count()).select_from(Letter)
                                            .where(column >= start, column < end))) or 0
                continue
            counts[key] = 0
            for (at,) in s.execute(mine(select(column).where(column >= start, column < end))):
                counts[key] += 1
                monthly[_month_key(at)][month_field] += 1
        durations = [(_aware(filed) - _aware(created)).total_seconds()
                     for created, filed in s.execute(mine(select(Letter.created_at, Letter.filed_at)
                                                          .where(Letter.filed_at >= start, Letter.filed_at < end)))]
        return counts, [max(d, 0.0) for d in durations]


TIME_SAVED_BASIS = ("Schätzung nur aus beantworteten, nicht als falsch markierten Fragen × Minuten je Antwort "
                    "+ abgelegte Schreiben × Minuten je Schreiben; als falsch markierte Antworten, Ablehnungen "
                    "und Antworten im Ersatzverfahren zählen nicht")
NOTES = [
    "Alle Angaben sind Summen ohne personenbezogene Daten: keine Namen, Kennungen, Fragetexte, "
    "Kommentare oder Aktenzeichen.",
    "Tage und Monate nach deutscher Zeit (Europe/Berlin); Beginn und Ende des Zeitraums zählen mit.",
    "Fragen und Ergebnisse stammen aus dem Protokoll und zählen auch, wenn ein Gespräch später gelöscht wurde. "
    "„Ersatzverfahren“: Das Sprachmodell war nicht verfügbar oder lieferte keine gültige Quellenangabe; die "
    "Antwort wurde dann direkt aus den Quellen zusammengestellt.",
    "Themen: Titel des zuerst zitierten Dokuments je Antwort (nur noch gespeicherte Antworten); Auskünfte aus "
    "Akten werden nur nach Verfahren gezählt.",
    "„Als falsch markiert“: Die fragende Person hat die Antwort mit Daumen runter bewertet. Ist das Gespräch "
    "inzwischen gelöscht, zählt eine solche Bewertung ebenfalls als falsch markiert.",
    f"Eingesparte Arbeitszeit: {TIME_SAVED_BASIS}; ein Arbeitstag = 7,8 Stunden.",
]


def topic_of(citations: list | None) -> str | None:
    """The topic of one answer (its stored ``messages.citations``): the title of its first cited policy
    document (never question text)."""
    if not isinstance(citations, list):
        return None
    case_section = None
    for c in citations:
        if not isinstance(c, dict):
            continue
        source = str(c.get("source") or "")
        if source.startswith(CASE_SOURCE_PREFIX):
            if case_section is None:
                case_section = str(c.get("section") or "").strip()
            continue
        title = str(c.get("title") or "").strip() or source.strip()
        if title:
            return title[:200]
    if case_section is not None:
        return f"Auskunft aus Akten ({case_section[:100]})" if case_section else "Auskunft aus Akten"
    return None


# -- helpers --------------------------------------------------------------------------------
def _utc_bounds(period_from: date, period_to: date) -> tuple[datetime, datetime]:
    start = datetime.combine(period_from, time(0), BERLIN).astimezone(timezone.utc)
    end = datetime.combine(period_to + timedelta(days=1), time(0), BERLIN).astimezone(timezone.utc)
    return start, end


def _aware(dt: datetime) -> datetime:
    """SQLite hands back naive datetimes; the application stores UTC."""
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt


def _month_key(dt: datetime) -> str:
    return _aware(dt).astimezone(BERLIN).strftime("%Y-%m")


def _months(period_from: date, period_to: date) -> list[str]:
    keys, y, m = [], period_from.year, period_from.month
    while (y, m) <= (period_to.year, period_to.month):
        keys.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return keys


MONTH_KEYS = ("month", "label", "short_label", "questions", "answered_not_marked_wrong", "answered_marked_wrong",
              "refused", "fallback", "letters_drafted", "letters_filed", "feedback_up", "feedback_down", "hours_saved")


def _empty_month(key: str) -> dict:
    y, m = int(key[:4]), int(key[5:])
    return {"month": key, "label": f"{MONTHS_DE[m - 1]} {y}", "short_label": f"{MONTHS_SHORT_DE[m - 1]} {y % 100:02d}",
            "questions": 0, "answered": 0, "wrong": 0, "fallback": 0, "refused": 0,
            "letters_drafted": 0, "letters_filed": 0,
            "feedback_up": 0, "feedback_down": 0, "hours_saved": 0.0}


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _num(value: float) -> float | int:
    """6.0 -> 6 (so JSON and the printed assumptions read naturally), 7.5 stays."""
    return int(value) if float(value).is_integer() else value
