"""Decision reasons as maintained text blocks (Begründungsbausteine), read from files the city edits
(``gruende/<case_type>.yaml`` and ``gruende/allgemein.yaml`` next to the templates).

A block has an id, a kind (``ablehnung``, ``aufhebung``, ``weiterleitung``), a title for the
caseworker, the citizen-facing wording with ``{platzhalter}`` for the facts of the case, the legal
ground (which the wording must cite) and the facts to fill in (each with a question). The caseworker
picks one or more blocks and fills the facts; the letter stores the rendered text, so a later change
of the catalog never changes an approved letter.

§ 35 SGB X: before a letter is submitted :func:`check_reasons` makes sure every picked block has all
its facts and that the reasons as a whole state facts and a legal ground. Search in the guidance may
only SUGGEST which block fits (:func:`suggest`); no sentence of the guidance goes into a letter.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .calendar import format_date, parse_date
from .errors import LetterError

log = logging.getLogger(__name__)

REASONS_DIR = Path("gruende")
KINDS = {"ablehnung": "Ablehnungsgründe", "aufhebung": "Aufhebungsgründe", "weiterleitung": "Weiterleitungsgründe"}
#: what a Bescheid with a block of kind ``ablehnung`` decides (``entscheidung`` in the file): an Ablehnung on
#: the merits, or a Versagung for lack of Mitwirkung (§ 66 Abs. 1 SGB I: Tenor and Betreff say "versagt")
DECISIONS = ("ablehnung", "versagung")
FACT_TYPES = ("text", "datum", "betrag")
_SLOT = re.compile(r"\{([a-z][a-z0-9_]*)\}")
GAP = "[…]"  # an unfilled fact in a rendered block
#: a legal reference such as "§ 21 Nr. 1 WoGG", "§ 48 Abs. 1 Satz 2 Nr. 3 SGB X" or "Art. 40 BayVwVfG"
_LEGAL = re.compile(r"(?:§§?|Art\.)\s*\d+")


class ReasonCatalogError(LetterError):
    """The file is broken (German message); an operator must fix it."""


@dataclass(frozen=True)
class Fact:
    name: str
    question: str
    type: str = "text"
    example: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "frage": self.question, "typ": self.type, "beispiel": self.example}


@dataclass(frozen=True)
class ReasonBlock:
    id: str
    kind: str
    title: str
    text: str
    legal_ground: str
    facts: tuple[Fact, ...]
    case_types: tuple[str, ...]
    keywords: str = ""
    source_file: str = ""
    decision: str = ""  # kind ablehnung: "ablehnung" or "versagung" (see DECISIONS); else ""

    def as_dict(self) -> dict[str, Any]:
        d = {"id": self.id, "art": self.kind, "titel": self.title, "text": self.text,
             "rechtsgrundlage": self.legal_ground, "tatsachen": [f.as_dict() for f in self.facts]}
        if self.decision:
            d["entscheidung"] = self.decision
        return d

    def render(self, facts: dict[str, str]) -> tuple[str, list[str]]:
        """(text with the facts filled in, names of facts still missing: shown as ``[…]``)."""
        missing: list[str] = []

        def fill(m: re.Match) -> str:
            v = str(facts.get(m.group(1)) or "").strip()
            if not v:
                missing.append(m.group(1))
                return GAP
            return v

        return _SLOT.sub(fill, self.text).strip(), missing


class ReasonCatalog:
    """All blocks of a folder, by case type and kind. Loading checks every file and block; errors name
    the file and the block in German (:class:`ReasonCatalogError`)."""

    def __init__(self, blocks: list[ReasonBlock], problems: list[str] | None = None):
        self.blocks = {b.id: b for b in blocks}
        self.problems = problems or []

    def for_case(self, case_type: str | None, kind: str) -> list[ReasonBlock]:
        return [b for b in self.blocks.values() if b.kind == kind
                and ("*" in b.case_types or (case_type or "") in b.case_types)]

    def get(self, block_id: str) -> ReasonBlock | None:
        return self.blocks.get(block_id)


def _problem(file: str, where: str, msg: str) -> str:
    return f"{file}, {where}: {msg}"


def parse_file(path: Path, known_case_types: tuple[str, ...]) -> tuple[list[ReasonBlock], list[str]]:
    """Blocks of one file and German problems (a block with a problem is left out)."""
    name = path.name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return [], [f"{name}: kein gültiges YAML."]
    if not isinstance(data, dict) or not isinstance(data.get("bausteine"), list):
        return [], [f"{name}: erwartet 'verfahren' und eine Liste 'bausteine'."]
    cts = data.get("verfahren")
    cts = [cts] if isinstance(cts, str) else cts
    if not isinstance(cts, list) or not cts:
        return [], [f"{name}: 'verfahren' fehlt (Liste von Verfahrensarten oder '*')."]
    unknown = [c for c in cts if c != "*" and c not in known_case_types]
    if unknown:
        return [], [f"{name}: unbekannte Verfahrensart {', '.join(map(str, unknown))}."]
    blocks, problems = [], []
    for i, raw in enumerate(data["bausteine"], 1):
        where = f"Baustein {i}"
        if not isinstance(raw, dict):
            problems.append(_problem(name, where, "kein Eintrag mit id, art, titel, text."))
            continue
        bid = str(raw.get("id") or "").strip()
        where = f"Baustein {bid or i}"
        bad = [k for k in ("id", "art", "titel", "text", "rechtsgrundlage") if not str(raw.get(k) or "").strip()]
        if bad:
            problems.append(_problem(name, where, f"es fehlt {', '.join(bad)}."))
            continue
        kind = str(raw["art"]).strip()
        if kind not in KINDS:
            problems.append(_problem(name, where, f"unbekannte art '{kind}' (erlaubt: {', '.join(KINDS)})."))
            continue
        decision = str(raw.get("entscheidung") or ("ablehnung" if kind == "ablehnung" else "")).strip()
        if kind == "ablehnung" and decision not in DECISIONS:
            problems.append(_problem(name, where, f"unbekannte entscheidung '{decision}' "
                                     f"(erlaubt: {', '.join(DECISIONS)})."))
            continue
        if kind != "ablehnung" and raw.get("entscheidung"):
            problems.append(_problem(name, where, "'entscheidung' gibt es nur bei art ablehnung."))
            continue
        facts: list[Fact] = []
        fact_problem = False
        for f in raw.get("tatsachen") or []:
            if not isinstance(f, dict) or not f.get("name") or not f.get("frage"):
                problems.append(_problem(name, where, "jede Tatsache braucht name und frage."))
                fact_problem = True
                break
            typ = str(f.get("typ") or "text")
            if typ not in FACT_TYPES:
                problems.append(_problem(name, where, f"Tatsache {f['name']}: unbekannter typ '{typ}'."))
                fact_problem = True
                break
            facts.append(Fact(str(f["name"]), str(f["frage"]), typ, str(f.get("beispiel") or "")))
        if fact_problem:
            continue
        text, ground = str(raw["text"]).strip(), str(raw["rechtsgrundlage"]).strip()
        slots = set(_SLOT.findall(text))
        declared = {f.name for f in facts}
        if slots - declared:
            problems.append(_problem(name, where, f"Platzhalter ohne Tatsache: {', '.join(sorted(slots - declared))}."))
            continue
        if declared - slots:
            problems.append(_problem(name, where, f"Tatsachen kommen im Text nicht vor: "
                                     f"{', '.join(sorted(declared - slots))}."))
            continue
        if not facts:
            problems.append(_problem(name, where, "ein Baustein braucht mindestens eine Tatsache des Einzelfalls "
                                     "(§ 35 SGB X)."))
            continue
        if not _LEGAL.search(text):
            problems.append(_problem(name, where, f"der Text nennt die Rechtsgrundlage ({ground}) nicht."))
            continue
        if decision == "versagung" and "§ 66" not in text:
            problems.append(_problem(name, where, "eine Versagung muss § 66 SGB I nennen."))
            continue
        blocks.append(ReasonBlock(bid, kind, str(raw["titel"]).strip(), text, ground, tuple(facts),
                                  tuple(str(c) for c in cts), str(raw.get("stichworte") or ""), name, decision))
    return blocks, problems


def load_catalog(folder: Path | None, known_case_types: tuple[str, ...]) -> ReasonCatalog:
    """The blocks of ``<folder>/gruende/*.yaml``; the shipped ones when the folder has none. Problems are
    logged and kept (``problems``); duplicate ids are a problem too."""
    from .templates import TEMPLATES_DIR

    where = (Path(folder) / REASONS_DIR) if folder else TEMPLATES_DIR / REASONS_DIR
    if not where.is_dir():
        where = TEMPLATES_DIR / REASONS_DIR
    blocks: list[ReasonBlock] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for path in sorted(where.glob("*.yaml")):
        found, probs = parse_file(path, known_case_types)
        problems.extend(probs)
        for b in found:
            if b.id in seen:
                problems.append(f"{path.name}: die Kennung {b.id} gibt es schon in {seen[b.id]}.")
                continue
            seen[b.id] = path.name
            blocks.append(b)
    for p in problems:
        log.warning("reason blocks: %s", p)
    return ReasonCatalog(blocks, problems)



# -- letter values ------------------------------------------------------------------------

def normalize_choice(catalog: ReasonCatalog, case_type: str | None, kind: str, value: Any) -> tuple[list[dict], list[str]]:
    """A reasons field value as the client sends it (``[{"baustein": id, "tatsachen": {...}}]``) ->
    stored value with the rendered text; German problems for unknown blocks or malformed facts."""
    if value in (None, ""):
        return [], []
    if not isinstance(value, list):
        return [], ["erwartet eine Liste gewählter Bausteine"]
    allowed = {b.id for b in catalog.for_case(case_type, kind)}
    out, problems = [], []
    for item in value:
        bid = item.get("baustein") if isinstance(item, dict) else item
        block = catalog.get(str(bid or ""))
        if block is None or block.id not in allowed:
            problems.append(f"den Baustein '{bid}' gibt es für dieses Verfahren nicht ({KINDS[kind]})")
            continue
        given = item.get("tatsachen") if isinstance(item, dict) else None
        given = given if isinstance(given, dict) else {}
        facts: dict[str, str] = {}
        for f in block.facts:
            v = str(given.get(f.name) or "").strip()
            if v and f.type == "datum":
                try:
                    v = format_date(parse_date(v))
                except ValueError as exc:
                    problems.append(f"{block.title}, {f.question}: {exc}")
                    continue
            facts[f.name] = v
        text, missing = block.render(facts)
        item = {"baustein": block.id, "titel": block.title, "rechtsgrundlage": block.legal_ground,
                "tatsachen": facts, "text": text, "offen": missing}
        if block.decision:  # the Bescheid's Tenor and Betreff follow it (Versagung: "wird ... versagt")
            item["entscheidung"] = block.decision
        out.append(item)
    return out, problems


def check_reasons(catalog: ReasonCatalog, kind: str, chosen: list[dict], free_text: str, required: bool) -> list[str]:
    """§ 35 SGB X before submitting: German problems (empty: the reasons hold)."""
    problems = []
    for item in chosen or []:
        block = catalog.get(item.get("baustein", ""))
        open_facts = item.get("offen") or []
        if open_facts:
            questions = [f.question for f in (block.facts if block else ()) if f.name in open_facts] or open_facts
            problems.append(f"Im Baustein „{item.get('titel')}“ fehlen noch Tatsachen des Einzelfalls: "
                            + "; ".join(questions) + ".")
    if problems:
        return problems
    decisions = {item.get("entscheidung") for item in chosen or [] if item.get("entscheidung")}
    if len(decisions) > 1:
        return ["Eine Versagung wegen fehlender Mitwirkung (§ 66 SGB I) und eine Ablehnung aus anderen Gründen "
                "können nicht in einem Bescheid stehen: Die Versagung gilt nur bis zur Nachholung der Mitwirkung, "
                "die Ablehnung entscheidet über den Antrag. Bitte wählen Sie nur eine Art von Gründen."]
    free = (free_text or "").strip()
    if chosen or not required:  # optional reasons (Anhörung, Weiterleitung: no Bescheid) need no ground
        return []
    if not free:
        return [f"Die Begründung fehlt (§ 35 SGB X): Bitte wählen Sie mindestens einen der {KINDS[kind]} "
                "und füllen Sie die Tatsachen des Einzelfalls aus, oder schreiben Sie eine eigene Begründung."]
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", free) if len(s.strip()) > 15]
    if not _LEGAL.search(free) or len(sentences) < 2:
        return ["Die Begründung genügt § 35 SGB X noch nicht: Sie muss die wesentlichen Tatsachen des "
                "Einzelfalls und die Rechtsgrundlage (Paragraf und Gesetz) nennen. Wählen Sie einen Baustein "
                "oder ergänzen Sie die eigene Begründung um beides."]
    return []


def suggest(catalog: ReasonCatalog, blocks: list[ReasonBlock], hits: list, analyze) -> list[dict[str, Any]]:
    """Which blocks fit the guidance found for the case (ids and the passages that point to them); the
    guidance itself is never copied. ``analyze`` turns text into index terms."""
    if not hits or not blocks:
        return []
    hit_terms = [set(analyze(h.text)) for h in hits[:5]]
    scored = []
    for b in blocks:
        terms = set(analyze(f"{b.title} {b.keywords} {b.legal_ground}"))
        refs = set(re.findall(r"§\s*\d+[a-z]?\s+\S+|Art\.\s*\d+\s+\S+", b.legal_ground))
        score, where = 0.0, []
        for n, (h, ht) in enumerate(zip(hits, hit_terms), 1):
            s = len(terms & ht) / (1 + len(terms)) + sum(1.0 for r in refs if r in h.text)
            if s > 0.25:
                where.append(n)
            score += s / n
        if score > 0.2:
            scored.append((score, b.id, where))
    scored.sort(key=lambda x: -x[0])
    return [{"baustein": bid, "quellen": where} for _, bid, where in scored[:2]]
