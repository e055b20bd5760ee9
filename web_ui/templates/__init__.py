"""Jinja2 templates of the server-side HTML pages (autoescaping on for .html, .svg and .xml).

``render("report_print.html", report=...)`` returns the page as a string. Text shown to people is German
and lives in the templates; values are passed in already formatted (German numbers, dates)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

FOLDER = Path(__file__).resolve().parent

ENV = Environment(loader=FileSystemLoader(FOLDER), autoescape=select_autoescape(["html", "svg", "xml"]),
                  undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def render(name: str, **context) -> str:
    return ENV.get_template(name).render(**context)
