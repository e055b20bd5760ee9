"""Rendering of the yearly report (:mod:`web_ui.report_api` does the routing): the CSV download, the
printable HTML page and the report charts. The charts are drawn in one place, :func:`bar_chart` and
:func:`topic_chart`; the printable page embeds them and the report page (``static/report.js``) shows
the same figures, which ``GET /api/report`` delivers under ``charts`` (:func:`page_charts`)."""

from __future__ import annotations

import csv
import io
import math
from urllib.parse import urlencode

from markupsafe import Markup

from assistant.report import german_number

from .templates import render


# -- CSV -------------------------------------------------------------------------------------
def _cell(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "ja" if value else "nein"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return german_number(value, 1)
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):  # no formulas when opened in Excel
        text = "'" + text
    return text


def render_csv(report: dict) -> str:
    """One section per metric: a title row, a header row, data rows, an empty row."""
    out = io.StringIO()
    w = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)

    def section(title: str, header: list[str], rows: list[list]) -> None:
        w.writerow([title])
        w.writerow(header)
        for row in rows:
            w.writerow([_cell(v) for v in row])
        w.writerow([])

    q, fb, lt, ts = report["questions"], report["feedback"], report["letters"], report["time_saved"]
    w.writerow([report["title"]])
    w.writerow(["Zeitraum", report["period"]["label"]])
    w.writerow(["Erstellt am", _generated(report)])
    w.writerow([])
    w.writerow(["Fachbereiche", report["scope"]])
    w.writerow([])
    section("Fragen und Antworten", ["Kennzahl", "Anzahl", "Anteil in %"],
            [["Gestellte Fragen", q["asked"], 100.0 if q["asked"] else None]]
            + [[label, q[key], q[f"share_{key}_pct"]] for key, label in QUESTION_GROUPS])
    section("Rückmeldungen zu Antworten", ["Kennzahl", "Anzahl", "Anteil in %"], [
        ["Rückmeldungen insgesamt", fb["total"], 100.0 if fb["total"] else None],
        ["Hilfreich (Daumen hoch)", fb["up"], fb["share_positive_pct"]],
        ["Nicht hilfreich (Daumen runter)", fb["down"], _rest(fb["share_positive_pct"])],
    ])
    section("Routineschreiben", ["Kennzahl", "Wert", "Einheit"], [
        ["Entwürfe erstellt", lt["drafted"], "Schreiben"],
        ["Zur Prüfung eingereicht", lt["submitted"], "Schreiben"],
        ["Freigegeben", lt["approved"], "Schreiben"],
        ["In der E-Akte abgelegt", lt["filed"], "Schreiben"],
        ["Median Entwurf bis Ablage", lt["median_draft_to_filed_hours"], "Stunden"],
        ["Median Entwurf bis Ablage", lt["median_draft_to_filed_days"], "Tage"],
    ])
    section("Häufigste Themen", ["Rang", "Thema (Titel des zuerst zitierten Dokuments)", "Anzahl Antworten"],
            [[t["rank"], t["topic"], t["count"]] for t in report["topics"]]
            + ([["", "Weitere Themen", report["topics_other"]]] if report["topics_other"] else []))
    section("Geschätzte eingesparte Arbeitszeit",
            ["Posten", "Anzahl", "Minuten je Vorgang", "Minuten", "Stunden"], [
                ["Beantwortete, nicht als falsch markierte Fragen", ts["answers"],
                 _assumption(report, "minutes_per_answer"),
                 ts["minutes_answers"], round(ts["minutes_answers"] / 60, 1)],
                ["In der E-Akte abgelegte Schreiben", ts["letters"], _assumption(report, "minutes_per_letter"),
                 ts["minutes_letters"], round(ts["minutes_letters"] / 60, 1)],
                ["Summe", "", "", ts["minutes_total"], ts["hours_total"]],
            ])
    section("Monatsverlauf", [h for h, _ in MONTH_COLUMNS],
            [[m[k] for _, k in MONTH_COLUMNS] for m in report["monthly"]])
    section("Annahmen", ["Annahme", "Wert", "Einheit", "Erläuterung"],
            [[a["label"], a["value"], a["unit"], a["explanation"]] for a in report["assumptions"]])
    w.writerow(["Grundlage der Schätzung", ts["basis"]])
    w.writerow([])
    w.writerow(["Hinweise"])
    for note in report["notes"]:
        w.writerow([note])
    return "\ufeff" + out.getvalue()


#: the four groups of asked questions (they add up to all questions), in report order
QUESTION_GROUPS = [("answered_not_marked_wrong", "Beantwortet, nicht als falsch markiert"),
                   ("answered_marked_wrong", "Beantwortet, als falsch markiert (Daumen runter)"),
                   ("refused", "Abgelehnt (keine passende Quelle)"),
                   ("fallback", "Im Ersatzverfahren beantwortet")]
MONTH_COLUMNS = [("Monat", "label"), ("Fragen", "questions"),
                 ("Beantwortet, nicht als falsch markiert", "answered_not_marked_wrong"),
                 ("Beantwortet, als falsch markiert", "answered_marked_wrong"), ("Abgelehnt", "refused"),
                 ("Ersatzverfahren", "fallback"), ("Schreiben erstellt", "letters_drafted"),
                 ("Schreiben abgelegt", "letters_filed"), ("Rückmeldungen hilfreich", "feedback_up"),
                 ("Rückmeldungen nicht hilfreich", "feedback_down"), ("Eingesparte Stunden", "hours_saved")]
#: the monthly figures on screen and in print: two narrow tables instead of one of eleven columns
MONTH_TABLES = [("Fragen je Monat nach Ergebnis", [("Fragen", "questions"), ("Beantwortet", "answered_not_marked_wrong"),
                                                    ("Als falsch markiert", "answered_marked_wrong"),
                                                    ("Abgelehnt", "refused"), ("Ersatzverfahren", "fallback")]),
                ("Schreiben, Rückmeldungen und eingesparte Zeit je Monat",
                 [("Schreiben erstellt", "letters_drafted"), ("Schreiben abgelegt", "letters_filed"),
                  ("Hilfreich", "feedback_up"), ("Nicht hilfreich", "feedback_down"),
                  ("Eingesparte Stunden", "hours_saved")])]


def _rest(pct: float | None) -> float | None:
    return None if pct is None else round(100.0 - pct, 1)


def _assumption(report: dict, key: str):
    return next(a["value"] for a in report["assumptions"] if a["key"] == key)


def _generated(report: dict) -> str:
    g = report["generated_at"]  # 2026-03-01T10:15:00+01:00
    return f"{g[8:10]}.{g[5:7]}.{g[0:4]}, {g[11:16]} Uhr"


# -- printable HTML (templates/report_print.html) ---------------------------------------------
# Colours: every one at least 4.5:1 against white (text and bars alike).
COLOURS = {"answered_not_marked_wrong": "#1d5e2c", "answered_marked_wrong": "#6b2c91", "fallback": "#8a4b00",
           "refused": "#a4262c", "letters_drafted": "#5a5a5a", "letters_filed": "#1f4e8c", "hours_saved": "#1f4e8c",
           "topics": "#1f4e8c"}
#: the monthly charts: (key, title, series, unit, stacked, decimals); ids chart-<key>
MONTH_CHARTS = [
    ("questions", "Fragen je Monat nach Ergebnis",
     [("answered_not_marked_wrong", "Beantwortet"), ("answered_marked_wrong", "Als falsch markiert"),
      ("refused", "Abgelehnt"), ("fallback", "Ersatzverfahren")], "Fragen", True, 0),
    ("letters", "Routineschreiben je Monat",
     [("letters_drafted", "Entwürfe erstellt"), ("letters_filed", "In der E-Akte abgelegt")], "Schreiben", False, 0),
    ("saved", "Geschätzte eingesparte Stunden je Monat", [("hours_saved", "Eingesparte Stunden")], "Stunden", True, 1),
]


def render_error_page(message: str, status: int) -> str:
    title = "Kein Zugriff" if status == 403 else "Bericht kann nicht erstellt werden"
    return render("report_error.html", title=title, message=message)


def month_charts(report: dict) -> dict[str, str]:
    """The monthly charts of the report by key (questions, letters, saved) as figure markup."""
    return {key: bar_chart(f"chart-{key}", title, report["monthly"], series, unit=unit, stacked=stacked,
                           decimals=decimals)
            for key, title, series, unit, stacked, decimals in MONTH_CHARTS}


def page_charts(report: dict) -> dict[str, str | None]:
    """The charts of the report page (static/report.js): the monthly ones and the topics (None without)."""
    return {**month_charts(report), "topics": topic_chart("chart-topics", report["topics"]) or None}


def render_html(report: dict, params: dict | None = None) -> str:
    q, fb, lt, ts = report["questions"], report["feedback"], report["letters"], report["time_saved"]
    months = report["monthly"]
    n = german_number

    def pct(v):
        return "–" if v is None else f"{n(v, 1)} %"

    def row(label, *cells, month: bool = False) -> dict:
        return {"label": label, "cells": cells, "month": month}

    assumptions = {a["key"]: a for a in report["assumptions"]}
    mpa, mpl = assumptions["minutes_per_answer"]["value"], assumptions["minutes_per_letter"]["value"]
    median = ("–" if lt["median_draft_to_filed_hours"] is None else
              f"{n(lt['median_draft_to_filed_hours'], 1)} Stunden ({n(lt['median_draft_to_filed_days'], 1)} Tage)")
    topics = [{"rank": t["rank"], "topic": t["topic"], "count": n(t["count"])} for t in report["topics"]]
    if report["topics_other"]:
        topics.append({"rank": "", "topic": "Weitere Themen", "count": n(report["topics_other"])})
    values = {"from": report["period"]["from"], "to": report["period"]["to"]}
    for a in report["assumptions"]:
        values[a["key"]] = str(a["value"])
    fields = [{"label": "Von", "type": "date", "name": "from", "required": True},
              {"label": "Bis", "type": "date", "name": "to", "required": True},
              {"label": "Minuten je beantworteter Frage", "type": "number", "name": "minutes_per_answer"},
              {"label": "Minuten je abgelegtem Schreiben", "type": "number", "name": "minutes_per_letter"}]
    for f in fields:
        f.setdefault("required", False)
        f["value"] = values[f["name"]]
    return render(
        "report_print.html", title=report["title"], period=report["period"]["label"], scope=report["scope"],
        generated=_generated(report), fields=fields, csv_query=urlencode(values),
        key_figures=[("Gestellte Fragen", n(q["asked"])),
                     ("Beantwortet, nicht als falsch markiert", pct(q["share_answered_not_marked_wrong_pct"])),
                     ("Hilfreiche Antworten laut Rückmeldung", pct(fb["share_positive_pct"])),
                     ("Schreiben in der E-Akte abgelegt", n(lt["filed"])),
                     ("Geschätzte eingesparte Arbeitszeit", f"{n(ts['hours_total'], 1)} Std.")],
        question_rows=[row("Gestellte Fragen", n(q["asked"]), "100 %" if q["asked"] else "–")]
        + [row(label, n(q[key]), pct(q[f"share_{key}_pct"])) for key, label in QUESTION_GROUPS],
        feedback_rows=[row("Hilfreich (Daumen hoch)", n(fb["up"]), pct(fb["share_positive_pct"])),
                       row("Nicht hilfreich (Daumen runter)", n(fb["down"]), pct(_rest(fb["share_positive_pct"]))),
                       row("Rückmeldungen insgesamt", n(fb["total"]), "100 %" if fb["total"] else "–")],
        letter_rows=[row("Entwürfe erstellt", n(lt["drafted"])), row("Zur Prüfung eingereicht", n(lt["submitted"])),
                     row("Freigegeben", n(lt["approved"])), row("In der E-Akte abgelegt", n(lt["filed"])),
                     row("Mittlere Dauer vom Entwurf bis zur Ablage (Median)", median)],
        topics=topics,
        saved_rows=[row("Beantwortete, nicht als falsch markierte Fragen", n(ts["answers"]), n(mpa, _dec(mpa)),
                        n(ts["minutes_answers"] / 60, 1)),
                    row("In der E-Akte abgelegte Schreiben", n(ts["letters"]), n(mpl, _dec(mpl)),
                        n(ts["minutes_letters"] / 60, 1)),
                    row("Summe", "", "", n(ts["hours_total"], 1))],
        working_days=n(ts["working_days_total"], 1), basis=ts["basis"], mpa=n(mpa, _dec(mpa)), mpl=n(mpl, _dec(mpl)),
        assumptions=[{"label": a["label"], "value": n(a["value"], _dec(a["value"])), "unit": a["unit"],
                      "explanation": a["explanation"], "default": n(a["default"], _dec(a["default"]))}
                     for a in report["assumptions"]],
        # two tables of six columns: they fit at 1280 px and on A4
        month_tables=[(caption, ["Monat"] + [h for h, _ in columns],
                       [row(m["label"], *(n(m[k], 1 if k == "hours_saved" else 0) for _, k in columns), month=True)
                        for m in months]) for caption, columns in MONTH_TABLES],
        notes=report["notes"], charts={k: Markup(v) for k, v in month_charts(report).items()})


def _dec(value) -> int:
    return 0 if float(value).is_integer() else 1


# -- charts (templates/report_chart.svg) -----------------------------------------------------
def _scale(maximum: float, integer: bool) -> tuple[float, int]:
    """(tick step, number of steps) for a y axis from 0 to at least ``maximum``: steps of 1, 2, 2.5
    or 5 times a power of ten, whole numbers only for counts, at most four steps."""
    if maximum <= 0:
        return 1.0, 1
    raw = maximum / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = 10 * magnitude
    for factor in (1, 2, 2.5, 5, 10):
        candidate = factor * magnitude
        if integer and (candidate < 1 or not float(candidate).is_integer()):
            continue
        if candidate >= raw:
            step = candidate
            break
    if integer:
        step = max(step, 1.0)
    return step, max(1, math.ceil(round(maximum / step, 9)))


def bar_chart(chart_id: str, title: str, months: list[dict], series: list[tuple[str, str]], *, unit: str,
              stacked: bool = True, decimals: int = 0) -> str:
    """A server-side SVG bar chart of monthly values (stacked or grouped), with title, description,
    legend and axis labels, as figure markup; the numbers themselves are in the table "Monatsverlauf".
    The one drawing of the monthly charts: the printable page embeds it, the report page shows it."""
    width, height = 760, 300
    left, right, top, bottom = 56, 12, 40, 46
    plot_w, plot_h = width - left - right, height - top - bottom
    count = max(len(months), 1)
    totals = [sum(m[k] for k, _ in series) if stacked else max((m[k] for k, _ in series), default=0)
              for m in months]
    step, steps = _scale(max(totals, default=0), integer=decimals == 0)
    ymax = step * steps
    tick_decimals = 0 if float(step).is_integer() else (1 if float(step * 10).is_integer() else 2)
    slot = plot_w / count
    bar_w = slot * 0.7 if stacked else slot * 0.8 / len(series)
    n = german_number

    peak = max(range(len(months)), key=lambda i: totals[i]) if months else None
    total_sum = sum(sum(m[k] for k, _ in series) for m in months)
    desc = (f"Balkendiagramm, {len(months)} Monate von {months[0]['label']} bis {months[-1]['label']}. "
            if months else "Balkendiagramm ohne Monate. ")
    desc += "Reihen: " + ", ".join(label for _, label in series) + ". "
    desc += f"Summe im Zeitraum: {n(total_sum, decimals)} {unit}. "
    if peak is not None and totals[peak] > 0:
        desc += f"Höchster Monatswert: {months[peak]['label']} mit {n(totals[peak], decimals)} {unit}. "
    desc += "Die Zahlen je Monat stehen in der Tabelle „Monatsverlauf“."

    shapes: list[dict] = []

    def rect(*args):
        shapes.append(_rect(*args))

    def text(*args, **kw):
        shapes.append(_text(*args, **kw))

    def line(*args):
        shapes.append(_line(*args))

    x = left  # legend
    for key, label in series:
        rect(x, 8, 14, 14, COLOURS[key])
        text(x + 19, 19, label)
        x += 30 + 7 * len(label)
    for i in range(steps + 1):  # grid and y axis
        y = top + plot_h - plot_h * i / steps
        line(left, left + plot_w, y, y, "#c8c8c8")
        text(left - 6, y + 4, n(step * i, tick_decimals), anchor="end")
    mid = _f(top + plot_h / 2)
    text(12, top + plot_h / 2, unit, anchor="middle", transform=f"rotate(-90 12 {mid})")
    label_every = 1 if count <= 18 else (3 if count <= 36 else 6)
    for i, m in enumerate(months):
        x0 = left + slot * i
        if stacked:
            y = top + plot_h
            bx = x0 + (slot - bar_w) / 2
            for key, label in series:
                h = plot_h * m[key] / ymax
                if h > 0:
                    y -= h
                    rect(bx, y, bar_w, h, COLOURS[key], f"{m['label']}: {label} {n(m[key], decimals)}")
            if count <= 24 and totals[i] > 0:
                text(x0 + slot / 2, y - 4, n(totals[i], decimals), anchor="middle", size=11)
        else:
            for j, (key, label) in enumerate(series):
                h = plot_h * m[key] / ymax
                bx = x0 + slot * 0.1 + bar_w * j
                if h > 0:
                    rect(bx, top + plot_h - h, bar_w, h, COLOURS[key], f"{m['label']}: {label} {n(m[key], decimals)}")
                    if count <= 12:
                        text(bx + bar_w / 2, top + plot_h - h - 4, n(m[key], decimals), anchor="middle", size=10)
        if i % label_every == 0:
            text(x0 + slot / 2, top + plot_h + 16, m["short_label"], anchor="middle", size=11)
    line(left, left + plot_w, top + plot_h, top + plot_h, "#1a1a1a")
    return render("report_chart.svg", id=chart_id, width=width, height=height, title=title, desc=desc,
                  shapes=shapes, caption=f"{title} ({unit}); Zahlen in der Tabelle „Monatsverlauf“.")


def topic_chart(chart_id: str, topics: list[dict]) -> str:
    """Horizontal bars for the most frequent topics (label left, value right) as figure markup; "" without
    topics. Shown on the report page; the printable page has the table only."""
    if not topics:
        return ""
    row_h, width, label_w, top = 26, 760, 330, 8
    height = top * 2 + row_h * len(topics)
    step, steps = _scale(max(t["count"] for t in topics), integer=True)
    plot_w = width - label_w - 60
    shapes: list[dict] = []
    for i, t in enumerate(topics):
        y = top + row_h * i
        w = plot_w * t["count"] / (step * steps)
        label = t["topic"] if len(t["topic"]) <= 48 else t["topic"][:47] + "…"
        shapes.append(_text(label_w - 8, y + 17, label, anchor="end"))
        shapes.append(_rect(label_w, y + 4, max(w, 1), row_h - 8, COLOURS["topics"],
                            f"{t['topic']}: {german_number(t['count'])}"))
        shapes.append(_text(label_w + w + 6, y + 17, german_number(t["count"])))
    desc = ("Balkendiagramm der häufigsten Themen: "
            + "; ".join(f"{t['topic']} {german_number(t['count'])}" for t in topics) + ".")
    return render("report_chart.svg", id=chart_id, width=width, height=height, title="Häufigste Themen", desc=desc,
                  shapes=shapes, caption="Häufigste Themen (Antworten je Thema)")


def _rect(x, y, w, h, fill, title=None) -> dict:
    return {"kind": "rect", "x": _f(x), "y": _f(y), "w": _f(w), "h": _f(h), "fill": fill, "title": title}


def _text(x, y, value, anchor=None, size=None, transform=None) -> dict:
    return {"kind": "text", "x": _f(x), "y": _f(y), "text": value, "anchor": anchor, "size": size,
            "transform": transform}


def _line(x1, x2, y1, y2, stroke) -> dict:
    return {"kind": "line", "x1": _f(x1), "x2": _f(x2), "y1": _f(y1), "y2": _f(y2), "stroke": stroke}


def _f(value) -> str:
    """A coordinate as written into the SVG: whole numbers as they are, others with one decimal."""
    return str(value) if isinstance(value, int) else f"{value:.1f}"
