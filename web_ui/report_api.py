"""The yearly report for the city council committee: JSON, CSV download and a printable page
(OpenAPI tag "Bericht").

``create_app`` includes the module-level ``router`` when the app has a report service
(``app.state.services.report``, read through :func:`web_ui.services.get_report`); the acting person
comes from :func:`web_ui.services.get_principal`.

Endpoints (query parameters ``from``, ``to`` as YYYY-MM-DD, default the current calendar year up
to today; ``minutes_per_answer``, ``minutes_per_letter`` for the time-saved estimate):

* ``GET /api/report`` -> the figures as JSON (see :meth:`assistant.report.ReportService.build`), plus
  ``charts``: the report page's SVG charts as markup (:func:`web_ui.report_render.page_charts`)
* ``GET /api/report.csv`` -> CSV download (``;``, UTF-8 with BOM, German headers and numbers)
* ``GET /bericht/druck`` -> self-contained printable HTML page (inline CSS and SVG, no scripts)

Rendering (CSV, printable page, charts) is in :mod:`web_ui.report_render`.

Roles ``administration`` or ``schulung``; others get 403. Invalid parameters: 422. Errors come as
``{"detail": "<German message>"}``, on the printable page as a short German HTML page.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response

from assistant import Principal
from assistant.report import ReportAssumptions, ReportError, ReportService

from .auth import require_roles
from .errors import status_for
from .report_render import page_charts, render_csv, render_error_page, render_html
from .services import get_principal, get_report

ALLOWED_ROLES = frozenset({"administration", "schulung"})
FORBIDDEN = ("Der Bericht für den Stadtratsausschuss ist nur für die Rollen „Administration“ und "
             "„Schulung“ freigegeben.")
NO_STORE = {"Cache-Control": "no-store"}


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
def report_json(p: dict = Depends(params), service: ReportService = Depends(get_report),
                principal: Principal = Depends(reader)):
    report = build(service, principal, p)
    report["charts"] = page_charts(report)  # drawn by the server, shown by static/report.js
    return JSONResponse(report, headers=NO_STORE)


@router.get("/api/report.csv", summary="Bericht als CSV (Excel, Semikolon, UTF-8 mit BOM)",
            response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def report_csv(p: dict = Depends(params), service: ReportService = Depends(get_report),
               principal: Principal = Depends(reader)):
    report = build(service, principal, p)
    name = f"lotse-bericht_{report['period']['from']}_bis_{report['period']['to']}.csv"
    return Response(content=render_csv(report).encode("utf-8"), media_type="text/csv; charset=utf-8",
                    headers={**NO_STORE, "Content-Disposition": f"attachment; filename=\"{name}\"; "
                             f"filename*=UTF-8''{quote(name)}"})


@router.get("/bericht/druck", summary="Bericht als druckbare Seite", response_class=HTMLResponse)
def report_print(p: dict = Depends(params), service: ReportService = Depends(get_report),
                 principal: Principal = Depends(reader)):
    try:
        report = build(service, principal, p)
    except ReportError as exc:  # the printable page says it as a page, with the table's status
        status = status_for(exc)
        return HTMLResponse(render_error_page(exc.message, status), status_code=status, headers=NO_STORE)
    return HTMLResponse(render_html(report, p), headers=NO_STORE)
