"""German import reports (issue 15, item 4): what was taken, what was skipped and why, what needs a
human decision. Used after a template upload (``letters.template_import``) and after
``lotse sync-cases`` (:func:`sync_report`, built from the indexer's :class:`~indexer.cases.SyncReport`).

Entries are German sentences without case content: the sync's own messages name Aktenzeichen,
package files and counts only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ImportReport:
    subject: str
    headline: str = ""
    taken: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)

    def take(self, text: str) -> None:
        self.taken.append(text)

    def skip(self, text: str) -> None:
        self.skipped.append(text)

    def decide(self, text: str) -> None:
        self.decisions.append(text)

    def text(self) -> str:
        """The report as plain German text (CLI, logs of the operator)."""
        lines = [f"Importbericht: {self.subject}"]
        if self.headline:
            lines.append(self.headline)
        for title, items, empty in (("Übernommen", self.taken, "nichts"),
                                    ("Übersprungen", self.skipped, "nichts"),
                                    ("Zu entscheiden", self.decisions, "nichts – alles ist zugeordnet")):
            lines.append(f"{title} ({len(items)}):" if items else f"{title}: {empty}")
            lines.extend(f"  - {t}" for t in items)
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "headline": self.headline, "taken": list(self.taken),
                "skipped": list(self.skipped), "decisions": list(self.decisions), "text": self.text()}


_TAKEN = re.compile(r"zusammengeführt|als eigene Akte übernommen|sonstiges Verfahren")
_SKIPPED = re.compile(r"nicht eingelesen|übersprungen|nicht übernommen|nicht gelesen|ohne Inhalt|nichts übernommen|"
                      r"nicht importiert")


def sync_report(report: Any) -> ImportReport:
    """The German summary of a case sync (``indexer.cases.SyncReport``)."""
    r = report
    out = ImportReport("Abgleich der Akten aus der E-Akte")
    out.headline = (f"{r.cases_found} Akten gefunden: {r.added} neu, {r.updated} geändert, {r.unchanged} "
                    f"unverändert, {r.removed} entfernt ({r.seconds:.1f} s).")
    if r.added or r.updated:
        out.take(f"{r.added + r.updated} Akten in den Index übernommen ({r.added} neu, {r.updated} aktualisiert; "
                 f"{r.chunks_written} Abschnitte geschrieben, ohne personenbezogene Daten).")
    if r.unchanged:
        out.take(f"{r.unchanged} Akten unverändert, nicht erneut gelesen.")
    if getattr(r, "resumed_skipped", 0):
        out.take(f"{r.resumed_skipped} Akten aus dem unterbrochenen Lauf übernommen.")
    if r.removed:
        out.take(f"{r.removed} Akten aus dem Index entfernt: die E-Akte führt sie nicht mehr (abgeschlossen, "
                 "storniert oder gelöscht).")
    if getattr(r, "vanished", 0):
        out.skip(f"{r.vanished} Akten waren beim Lesen nicht mehr vorhanden (inzwischen storniert oder gelöscht).")
    truncated = set(getattr(r, "truncated", []) or [])
    for w in r.warnings:
        if any(t in w for t in truncated) and "Obergrenze" in w:
            out.decide(w + " Bitte die Akten dieses Eintrags gezielt abgleichen lassen.")
        elif _TAKEN.search(w):
            out.take(w)
        elif _SKIPPED.search(w):
            out.skip(w)
            if "nicht eingelesen" in w:
                out.decide(f"{w.split(':', 1)[0]}: Paket prüfen und erneut bereitstellen.")
        else:
            out.decide(w)
    if r.error:
        out.decide(r.error)
    elif not getattr(r, "complete", True):
        out.decide("Der Abgleich ist nicht vollständig; der nächste Lauf setzt ihn fort.")
    return out


__all__ = ["ImportReport", "sync_report"]
