"""The yearly report for the city council committee: JSON, CSV download and a printable page
(OpenAPI tag "Bericht").

The app includes it with::

    from assistant.report import ReportService
    from web_ui.report_api import report_router
    report_service = ReportService(assistant.Session)
    app.include_router(report_router(lambda: report_service, get_principal))

Endpoints (query parameters ``from``, ``to`` as YYYY-MM-DD, default the current calendar year up
to today; ``minutes_per_answer``, ``minutes_per_letter`` for the time-saved estimate):

* ``GET /api/report`` -> the figures as JSON (see :meth:`assistant.report.ReportService.build`)
* ``GET /api/report.csv`` -> CSV download (``;``, UTF-8 with BOM, German headers and numbers)
* ``GET /bericht/druck`` -> self-contained printable HTML page (inline CSS and SVG, no scripts)

Roles ``administration`` or ``schulung``; others get 403. Invalid parameters: 422. Errors come as
``{"detail": "<German message>"}``, on the printable page as a short German HTML page.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from html import escape
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from assistant import Principal
from assistant.report import ReportAssumptions, ReportError, ReportService, german_number

from .auth import require_roles
from .errors import status_for

ALLOWED_ROLES = frozenset({"administration", "schulung"})
FORBIDDEN = ("Der Bericht für den Stadtratsausschuss ist nur für die Rollen „Administration“ und "
             "„Schulung“ freigegeben.")
NO_STORE = {"Cache-Control": "no-store"}
NUM_CLASS = ' class="num"'


def report_router(get_service: Callable[[], ReportService], get_principal: Callable[[], Principal]) -> APIRouter:
    router = APIRouter(tags=["Bericht"])
    # the role check comes first: no hint about parameters for someone without access; the printable
    # page answers a browser with a short HTML page
    reader = require_roles(get_principal, *sorted(ALLOWED_ROLES), message=FORBIDDEN,
                           page=lambda message: render_error_page(message, 403), page_headers=NO_STORE)

    def params(from_: str | None = Query(None, alias="from", description="Beginn (JJJJ-MM-TT), Standard: 1. Januar"),
               to: str | None = Query(None, description="Ende (JJJJ-MM-TT, einschließlich), Standard: heute"),
               minutes_per_answer: str | None = Query(None, description="Eingesparte Minuten je beantworteter "
                                                      "Frage (Standard 6)"),
               minutes_per_letter: str | None = Query(None, description="Eingesparte Minuten je abgelegtem "
                                                      "Schreiben (Standard 20)")) -> dict:
        return {"from": from_, "to": to, "minutes_per_answer": minutes_per_answer,
                "minutes_per_letter": minutes_per_letter}

    def build(service: ReportService, principal: Principal, p: dict) -> dict:
        """The report; invalid parameters raise ReportError (422 by the app's handlers, web_ui.errors)."""
        period_from, period_to = service.period_from_params(p["from"], p["to"])
        assumptions = ReportAssumptions.parse(p["minutes_per_answer"], p["minutes_per_letter"])
        return service.build(period_from, period_to, assumptions, viewer=principal)

    @router.get("/api/report", summary="Bericht für den Stadtratsausschuss (Kennzahlen als JSON)",
                responses={403: {"description": "Nur Rollen Administration und Schulung"},
                           422: {"description": "Ungültiger Zeitraum oder ungültige Annahmen"}})
    def report_json(p: dict = Depends(params), service: ReportService = Depends(get_service),
                    principal: Principal = Depends(reader)):
        return JSONResponse(build(service, principal, p), headers=NO_STORE)

    @router.get("/api/report.csv", summary="Bericht als CSV (Excel, Semikolon, UTF-8 mit BOM)",
                response_class=Response, responses={200: {"content": {"text/csv": {}}}})
    def report_csv(p: dict = Depends(params), service: ReportService = Depends(get_service),
                   principal: Principal = Depends(reader)):
        report = build(service, principal, p)
        name = f"lotse-bericht_{report['period']['from']}_bis_{report['period']['to']}.csv"
        return Response(content=render_csv(report).encode("utf-8"), media_type="text/csv; charset=utf-8",
                        headers={**NO_STORE, "Content-Disposition": f"attachment; filename=\"{name}\"; "
                                 f"filename*=UTF-8''{quote(name)}"})

    @router.get("/bericht/druck", summary="Bericht als druckbare Seite", response_class=HTMLResponse)
    def report_print(p: dict = Depends(params), service: ReportService = Depends(get_service),
                     principal: Principal = Depends(reader)):
        try:
            report = build(service, principal, p)
        except ReportError as exc:  # the printable page says it as a page, with the table's status
            status = status_for(exc)
            return HTMLResponse(render_error_page(exc.message, status), status_code=status, headers=NO_STORE)
        return HTMLResponse(render_html(report, p), headers=NO_STORE)

    return router


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


# -- printable HTML --------------------------------------------------------------------------
# Colours: every one at least 4.5:1 against white (text and bars alike).
COLOURS = {"answered_not_marked_wrong": "#1d5e2c", "answered_marked_wrong": "#6b2c91", "fallback": "#8a4b00",
           "refused": "#a4262c",
           "letters_drafted": "#5a5a5a", "letters_filed": "#1f4e8c", "hours_saved": "#1f4e8c"}

CSS = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: "Segoe UI", Arial, Helvetica, sans-serif; color: #1a1a1a; background: #fff;
       margin: 0 auto; max-width: 60rem; padding: 1.5rem; line-height: 1.45; font-size: 11pt; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; color: #0b2e59; }
h2 { font-size: 1.25rem; margin: 2rem 0 .5rem; color: #0b2e59; border-bottom: 2px solid #0b2e59;
     padding-bottom: .15rem; }
.meta { margin: 0; color: #333; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; color: #1a1a1a; }
th, td { border: 1px solid #767676; padding: .3rem .5rem; text-align: left; vertical-align: top; }
thead th { background: #e8edf4; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }
th { hyphens: manual; overflow-wrap: normal; }
th.month { white-space: nowrap; }
table.months { width: auto; min-width: 60%; }
.assumption { border-left: 4px solid #0b2e59; padding: .25rem .6rem; background: #f3f6fa; }
.keyfigures { display: grid; grid-template-columns: repeat(auto-fit, minmax(10.5rem, 1fr)); gap: .75rem;
              margin: 0; padding: 0; }
.keyfigures div { border: 1px solid #767676; border-radius: 4px; padding: .6rem .75rem; }
.keyfigures dt { font-size: .9rem; color: #333; }
.keyfigures dd { margin: .15rem 0 0; font-size: 1.5rem; font-weight: 700; color: #0b2e59; }
figure { margin: .5rem 0 1rem; }
figure svg { width: 100%; height: auto; max-height: 20rem; }
figcaption { font-size: .9rem; color: #333; }
.controls { border: 1px solid #767676; border-radius: 4px; padding: .75rem 1rem; margin: 1rem 0; }
.controls fieldset { border: 0; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: .75rem 1.25rem;
                     align-items: end; }
.controls label { display: flex; flex-direction: column; font-size: .9rem; }
.controls input { font: inherit; padding: .25rem .4rem; border: 1px solid #555; border-radius: 3px; }
.controls button { font: inherit; padding: .35rem .9rem; background: #0b2e59; color: #fff; border: 0;
                   border-radius: 3px; cursor: pointer; }
.controls button:focus-visible, .controls input:focus-visible, a:focus-visible { outline: 3px solid #c26100;
                   outline-offset: 2px; }
a { color: #0b4f9c; }
.hint { font-size: .9rem; color: #333; }
@media print {
  @page { size: A4; margin: 16mm 14mm; }
  body { max-width: none; padding: 0; font-size: 10pt; }
  .noprint { display: none !important; }
  .keyfigures { grid-template-columns: repeat(5, 1fr); gap: .4rem; }
  .keyfigures dd { font-size: 1.25rem; }
  h2 { break-after: avoid; page-break-after: avoid; }
  table, figure, .keyfigures div { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
  thead th { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  a { color: #1a1a1a; text-decoration: none; }
}
"""


def render_error_page(message: str, status: int) -> str:
    title = "Kein Zugriff" if status == 403 else "Bericht kann nicht erstellt werden"
    return (f'<!DOCTYPE html>\n<html lang="de"><head><meta charset="utf-8"><title>{escape(title)} – Lotse</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>'
            f'<body><main><h1>{escape(title)}</h1><p role="alert">{escape(message)}</p>'
            '<p><a href="/bericht">Zurück zum Bericht</a></p></main></body></html>')


def render_html(report: dict, params: dict | None = None) -> str:
    q, fb, lt, ts = report["questions"], report["feedback"], report["letters"], report["time_saved"]
    months = report["monthly"]
    n = german_number

    def pct(v):
        return "–" if v is None else f"{n(v, 1)} %"

    def num_row(label, *cells) -> str:
        return (f'<tr><th scope="row">{escape(label)}</th>'
                + "".join(f'<td class="num">{escape(c)}</td>' for c in cells) + "</tr>")

    def table(caption: str, header: list[str], rows: list[str], first_numeric: int = 1, css: str = "") -> str:
        head = "".join(f'<th scope="col"{NUM_CLASS if i >= first_numeric else ""}>{escape(h)}</th>'
                       for i, h in enumerate(header))
        cls = f' class="{css}"' if css else ""
        return (f"<table{cls}><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead>"
                f"<tbody>{''.join(rows)}</tbody></table>")

    assumptions = {a["key"]: a for a in report["assumptions"]}
    mpa, mpl = assumptions["minutes_per_answer"]["value"], assumptions["minutes_per_letter"]["value"]
    parts: list[str] = []
    add = parts.append
    add(f'<!DOCTYPE html>\n<html lang="de">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<title>{escape(report["title"])}, {escape(report["period"]["label"])}</title>\n'
        f"<style>{CSS}</style>\n</head>\n<body>\n<header>\n<h1>{escape(report['title'])}</h1>\n"
        f'<p class="meta">Sozialreferat der Landeshauptstadt München · Zeitraum: '
        f'<strong>{escape(report["period"]["label"])}</strong> · {escape(report["scope"])} · '
        f'erstellt am {escape(_generated(report))}</p>\n'
        "</header>\n<main>\n")
    add(_controls(report, params or {}))

    add('<section aria-labelledby="h-summary"><h2 id="h-summary">Das Wichtigste in Kürze</h2>'
        '<dl class="keyfigures">'
        f"<div><dt>Gestellte Fragen</dt><dd>{n(q['asked'])}</dd></div>"
        f"<div><dt>Beantwortet, nicht als falsch markiert</dt>"
        f"<dd>{pct(q['share_answered_not_marked_wrong_pct'])}</dd></div>"
        f"<div><dt>Hilfreiche Antworten laut Rückmeldung</dt><dd>{pct(fb['share_positive_pct'])}</dd></div>"
        f"<div><dt>Schreiben in der E-Akte abgelegt</dt><dd>{n(lt['filed'])}</dd></div>"
        f"<div><dt>Geschätzte eingesparte Arbeitszeit</dt><dd>{n(ts['hours_total'], 1)} Std.</dd></div>"
        "</dl></section>\n")

    add('<section aria-labelledby="h-questions"><h2 id="h-questions">Fragen und Antworten</h2>')
    add(table("Fragen im Zeitraum nach Ergebnis", ["Ergebnis", "Anzahl", "Anteil"],
              [num_row("Gestellte Fragen", n(q["asked"]), "100 %" if q["asked"] else "–")]
              + [num_row(label, n(q[key]), pct(q[f"share_{key}_pct"])) for key, label in QUESTION_GROUPS]))
    add(bar_chart("chart-questions", "Fragen je Monat nach Ergebnis", months,
                  [("answered_not_marked_wrong", "Beantwortet"), ("answered_marked_wrong", "Als falsch markiert"),
                   ("refused", "Abgelehnt"), ("fallback", "Ersatzverfahren")], unit="Fragen"))
    add("</section>\n")

    add('<section aria-labelledby="h-feedback"><h2 id="h-feedback">Rückmeldungen zu Antworten</h2>')
    add(table("Bewertungen der Antworten durch die Mitarbeitenden", ["Bewertung", "Anzahl", "Anteil"], [
        num_row("Hilfreich (Daumen hoch)", n(fb["up"]), pct(fb["share_positive_pct"])),
        num_row("Nicht hilfreich (Daumen runter)", n(fb["down"]), pct(_rest(fb["share_positive_pct"]))),
        num_row("Rückmeldungen insgesamt", n(fb["total"]), "100 %" if fb["total"] else "–"),
    ]))
    add("</section>\n")

    add('<section aria-labelledby="h-letters"><h2 id="h-letters">Routineschreiben</h2>')
    median = ("–" if lt["median_draft_to_filed_hours"] is None else
              f"{n(lt['median_draft_to_filed_hours'], 1)} Stunden ({n(lt['median_draft_to_filed_days'], 1)} Tage)")
    add(table("Schreiben im Zeitraum nach Arbeitsschritt", ["Arbeitsschritt", "Anzahl"], [
        num_row("Entwürfe erstellt", n(lt["drafted"])),
        num_row("Zur Prüfung eingereicht", n(lt["submitted"])),
        num_row("Freigegeben", n(lt["approved"])),
        num_row("In der E-Akte abgelegt", n(lt["filed"])),
        num_row("Mittlere Dauer vom Entwurf bis zur Ablage (Median)", median),
    ]))
    add(bar_chart("chart-letters", "Routineschreiben je Monat", months,
                  [("letters_drafted", "Entwürfe erstellt"), ("letters_filed", "In der E-Akte abgelegt")],
                  unit="Schreiben", stacked=False))
    add("</section>\n")

    add('<section aria-labelledby="h-topics"><h2 id="h-topics">Häufigste Themen</h2>')
    topic_rows = [f'<tr><td class="num">{t["rank"]}</td><th scope="row">{escape(t["topic"])}</th>'
                  f'<td class="num">{n(t["count"])}</td></tr>' for t in report["topics"]]
    if report["topics_other"]:
        topic_rows.append(f'<tr><td class="num"></td><th scope="row">Weitere Themen</th>'
                          f'<td class="num">{n(report["topics_other"])}</td></tr>')
    if topic_rows:
        add("<table><caption>Themen nach Titel des zuerst zitierten Dokuments je Antwort</caption><thead><tr>"
            '<th scope="col" class="num">Rang</th><th scope="col">Thema</th>'
            '<th scope="col" class="num">Antworten</th></tr></thead><tbody>' + "".join(topic_rows) + "</tbody></table>")
    else:
        add("<p>Im Zeitraum gibt es keine gespeicherten Antworten mit Quellen.</p>")
    add("</section>\n")

    add('<section aria-labelledby="h-saved"><h2 id="h-saved">Geschätzte eingesparte Arbeitszeit</h2>')
    add(table("Schätzung der eingesparten Arbeitszeit", ["Posten", "Anzahl", "Minuten je Vorgang", "Stunden"], [
        num_row("Beantwortete, nicht als falsch markierte Fragen", n(ts["answers"]), n(mpa, _dec(mpa)),
                n(ts["minutes_answers"] / 60, 1)),
        num_row("In der E-Akte abgelegte Schreiben", n(ts["letters"]), n(mpl, _dec(mpl)),
                n(ts["minutes_letters"] / 60, 1)),
        num_row("Summe", "", "", n(ts["hours_total"], 1)),
    ]))
    add(f"<p>Das entspricht etwa <strong>{n(ts['working_days_total'], 1)} Arbeitstagen</strong> "
        "(7,8 Stunden je Arbeitstag).</p>")
    add(f'<p class="assumption"><strong>Annahme:</strong> {escape(ts["basis"])}; {n(mpa, _dec(mpa))} Minuten je '
        f"Antwort, {n(mpl, _dec(mpl))} Minuten je Schreiben.</p>")
    add(bar_chart("chart-saved", "Geschätzte eingesparte Stunden je Monat", months,
                  [("hours_saved", "Eingesparte Stunden")], unit="Stunden", decimals=1))
    add('<table><caption>Annahmen der Schätzung</caption><thead><tr><th scope="col">Annahme</th>'
        '<th scope="col" class="num">Wert</th><th scope="col">Erläuterung</th></tr></thead><tbody>'
        + "".join(f'<tr><th scope="row">{escape(a["label"])}</th>'
                  f'<td class="num">{n(a["value"], _dec(a["value"]))} {escape(a["unit"])}</td>'
                  f'<td>{escape(a["explanation"])} (Standardwert: {n(a["default"], _dec(a["default"]))} '
                  f'{escape(a["unit"])})</td></tr>' for a in report["assumptions"])
        + "</tbody></table>")
    add("</section>\n")

    add('<section aria-labelledby="h-months"><h2 id="h-months">Monatsverlauf</h2>')
    for caption, columns in MONTH_TABLES:  # two tables of six columns: they fit at 1280 px and on A4
        add(table(caption, ["Monat"] + [h for h, _ in columns],
                  [f'<tr><th scope="row" class="month">{escape(m["label"])}</th>'
                   + "".join(f'<td class="num">{n(m[k], 1 if k == "hours_saved" else 0)}</td>'
                             for _, k in columns) + "</tr>" for m in months], css="months"))
    add("</section>\n")

    add('<section aria-labelledby="h-notes"><h2 id="h-notes">Hinweise zu den Zahlen</h2><ul>'
        + "".join(f"<li>{escape(note)}</li>" for note in report["notes"]) + "</ul></section>\n")
    add("</main>\n</body>\n</html>\n")
    return "".join(parts)


def _dec(value) -> int:
    return 0 if float(value).is_integer() else 1


def _controls(report: dict, params: dict) -> str:
    """Screen-only form (plain GET, no script) to change the period and assumptions."""
    values = {"from": report["period"]["from"], "to": report["period"]["to"]}
    for a in report["assumptions"]:
        values[a["key"]] = str(a["value"])
    query = urlencode(values)
    field = ('<label>{label}<input type="{type}" name="{name}" value="{value}"{extra}></label>')
    return ('<form class="controls noprint" method="get" action="/bericht/druck" aria-label="Bericht anpassen">'
            "<fieldset><legend class=\"hint\">Zeitraum und Annahmen ändern</legend>"
            + field.format(label="Von", type="date", name="from", value=escape(values["from"]), extra=" required")
            + field.format(label="Bis", type="date", name="to", value=escape(values["to"]), extra=" required")
            + field.format(label="Minuten je beantworteter Frage", type="number", name="minutes_per_answer",
                           value=escape(values["minutes_per_answer"]), extra=' min="0" max="480" step="0.5"')
            + field.format(label="Minuten je abgelegtem Schreiben", type="number", name="minutes_per_letter",
                           value=escape(values["minutes_per_letter"]), extra=' min="0" max="480" step="0.5"')
            + '<button type="submit">Bericht aktualisieren</button></fieldset>'
            f'<p class="hint">Drucken oder als PDF speichern: Strg+P. '
            f'<a href="/api/report.csv?{escape(query)}">Als CSV herunterladen (Excel)</a></p></form>\n')


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
    legend and axis labels; the numbers themselves are in the table "Monatsverlauf"."""
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

    out = [f'<figure><svg id="{chart_id}" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc" '
           f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" '
           'font-family="Segoe UI, Arial, Helvetica, sans-serif" font-size="12">',
           f'<title id="{chart_id}-title">{escape(title)}</title>',
           f'<desc id="{chart_id}-desc">{escape(desc)}</desc>']
    # legend
    x = left
    for key, label in series:
        out.append(f'<rect x="{x}" y="8" width="14" height="14" fill="{COLOURS[key]}"/>'
                   f'<text x="{x + 19}" y="19" fill="#1a1a1a">{escape(label)}</text>')
        x += 30 + 7 * len(label)
    # grid and y axis
    for i in range(steps + 1):
        y = top + plot_h - plot_h * i / steps
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#c8c8c8" '
                   f'stroke-width="1"/><text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
                   f'fill="#1a1a1a">{escape(n(step * i, tick_decimals))}</text>')
    out.append(f'<text x="12" y="{top + plot_h / 2:.1f}" text-anchor="middle" fill="#1a1a1a" '
               f'transform="rotate(-90 12 {top + plot_h / 2:.1f})">{escape(unit)}</text>')
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
                    out.append(f'<rect x="{bx:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                               f'fill="{COLOURS[key]}"><title>{escape(m["label"])}: {escape(label)} '
                               f'{escape(n(m[key], decimals))}</title></rect>')
            if count <= 24 and totals[i] > 0:
                out.append(f'<text x="{x0 + slot / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="11" '
                           f'fill="#1a1a1a">{escape(n(totals[i], decimals))}</text>')
        else:
            for j, (key, label) in enumerate(series):
                h = plot_h * m[key] / ymax
                bx = x0 + slot * 0.1 + bar_w * j
                if h > 0:
                    out.append(f'<rect x="{bx:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
                               f'height="{h:.1f}" fill="{COLOURS[key]}"><title>{escape(m["label"])}: '
                               f'{escape(label)} {escape(n(m[key], decimals))}</title></rect>')
                    if count <= 12:
                        out.append(f'<text x="{bx + bar_w / 2:.1f}" y="{top + plot_h - h - 4:.1f}" '
                                   f'text-anchor="middle" font-size="10" fill="#1a1a1a">'
                                   f'{escape(n(m[key], decimals))}</text>')
        if i % label_every == 0:
            out.append(f'<text x="{x0 + slot / 2:.1f}" y="{top + plot_h + 16}" text-anchor="middle" '
                       f'font-size="11" fill="#1a1a1a">{escape(m["short_label"])}</text>')
    out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" '
               'stroke="#1a1a1a" stroke-width="1"/>')
    out.append("</svg>")
    out.append(f"<figcaption>{escape(title)} ({escape(unit)}); Zahlen in der Tabelle „Monatsverlauf“."
               "</figcaption></figure>")
    return "".join(out)
