"""``lotse letter ...``: list templates, draft a letter for an e-file case into a DOCX.

    lotse letter templates [--json]
    lotse letter draft --case S-III-WG/2026/001234 --template anforderung_unterlagen --out brief.docx \
                       [--field frist=30.04.2026 --field unterlagen="Mietvertrag\\nLohnabrechnung"]
    lotse letter import-template Anhoerung_Amt.docx [--name anhoerung_amt] [--mapping zuordnung.yaml] \
                       [--write-mapping zuordnung.yaml] [--dry-run] [--replace] [--json]

The e-file is configured by ``LOTSE_EFILE_URL``, ``LOTSE_EFILE_USER``, ``LOTSE_EFILE_PASSWORD``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _parse_fields(items: list[str] | None) -> dict[str, object]:
    fields: dict[str, object] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise SystemExit(f"Ungültige Feldangabe '{item}': erwartet name=wert")
        name, value = name.strip(), value.replace("\\n", "\n")
        if value.startswith("{") or value.startswith("["):
            try:
                fields[name] = json.loads(value)
                continue
            except ValueError:
                pass
        fields[name] = value
    return fields


def _templates_registry(settings=None):
    from assistant.letters import TemplateRegistry

    letters_cfg = getattr(settings, "letters", None)
    return TemplateRegistry(letters_cfg.templates_dir if letters_cfg is not None else None)


def cmd_letter_templates(args, settings) -> int:
    listing = _templates_registry(settings).listing()
    if args.json:
        print(json.dumps(listing, ensure_ascii=False, indent=2))
        return 1 if any(p["severity"] == "fehler" for p in listing["problems"]) else 0
    for t in listing["templates"]:
        flags = " [Vier-Augen]" if t["four_eyes"] else ""
        print(f"{t['name']:<24} {t['title']}{flags}")
        print(f"{'':<24} Verfahren: {', '.join(t['case_types'])}")
    errors = [p for p in listing["problems"] if p["severity"] == "fehler"]
    for p in listing["problems"]:
        label = "FEHLER" if p["severity"] == "fehler" else "Hinweis"
        print(f"{label} {p['template']} ({p['file']}): {p['message']}", file=sys.stderr)
    return 1 if errors else 0


def cmd_letter_draft(args, settings) -> int:
    from assistant.letters import LetterService
    from connectors.efile.registry import build_connector

    from .factory import build_knowledge_base

    cfg = settings.efile_config()
    efile = build_connector(cfg)
    if efile is None:
        print("Fehler: Keine E-Akte konfiguriert (LOTSE_EFILE_URL, LOTSE_EFILE_USER, LOTSE_EFILE_PASSWORD).",
              file=sys.stderr)
        return 2
    kb = None
    if not args.no_proposals:
        kb = build_knowledge_base(settings)
        kb.ensure_demo_corpus(progress=False)
    letters_cfg = getattr(settings, "letters", None)
    principal = settings.default_principal()
    try:
        service = LetterService(settings.db_url(), efile, kb, letters_cfg)
        view = service.create_draft(principal, args.case, args.template, _parse_fields(args.field) or None)
        data = service.render_docx(view["id"], principal)
    finally:
        efile.close()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    if args.json:
        print(json.dumps({"id": view["id"], "out": str(out), "version": view["version"], "state": view["state"],
                          "missing": view["missing"], "open_proposals": view["open_proposals"]},
                         ensure_ascii=False, indent=2))
        return 0
    print(f"Entwurf {view['id']} ({view['title']}, Version {view['version']}) gespeichert: {out}")
    if view["open_proposals"]:
        print("Textvorschläge (bitte prüfen): " + ", ".join(view["open_proposals"]))
        for name in view["open_proposals"]:
            for s in view["proposals"][name].get("sources", []):
                page = f", S. {s['page']}" if s.get("page") else ""
                print(f"  {name}: {s['title']} – {s['section']}{page} ({s['source']})")
    if view["missing"]:
        print("Noch auszufüllen: " + ", ".join(view["missing"]))
    return 0


def cmd_letter_import(args, settings) -> int:
    """Import an office's Word letter as a template (see assistant/letters/template_import.py)."""
    import yaml

    from assistant.letters import TEMPLATES_DIR
    from assistant.letters.template_import import (analyze, import_template, mapping_template, options_from_yaml,
                                                   convert)

    src = Path(args.file)
    try:
        data = src.read_bytes()
    except OSError as exc:
        print(f"Fehler: Die Datei {src} kann nicht gelesen werden ({exc.strerror}).", file=sys.stderr)
        return 2
    spec: dict = {}
    if args.mapping:
        try:
            spec = yaml.safe_load(Path(args.mapping).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            print(f"Fehler: Die Zuordnungsdatei {args.mapping} ist nicht lesbar oder kein gültiges YAML ({exc}).",
                  file=sys.stderr)
            return 2
        if not isinstance(spec, dict):
            print(f"Fehler: {args.mapping} muss eine Zuordnung enthalten (name, title, fields: ...).", file=sys.stderr)
            return 2
    options = options_from_yaml(spec, src.name, args.name)
    if args.title:
        options.title = args.title
    analysis = analyze(data, src.name)
    if args.write_mapping:
        Path(args.write_mapping).write_text(mapping_template(analysis, options), encoding="utf-8")
        print(f"Zuordnung zum Bearbeiten geschrieben: {args.write_mapping}")
    if args.dry_run or args.write_mapping:
        result = convert(data, src.name, options, spec.get("fields"))
    else:
        letters_cfg = getattr(settings, "letters", None)
        folder = (letters_cfg.templates_dir if letters_cfg is not None else None) or TEMPLATES_DIR
        result = import_template(data, src.name, folder, options, spec.get("fields"), replace=args.replace)
    if args.json:
        print(json.dumps(dict(result.as_dict(), analysis=analysis.as_dict(), saved=not (args.dry_run or
                                                                                        args.write_mapping)),
                         ensure_ascii=False, indent=2))
    else:
        print(result.report.text())
        if args.dry_run or args.write_mapping:
            print("Nicht gespeichert (Probelauf). Ohne --dry-run/--write-mapping wird die Vorlage gespeichert.")
    return 0


def register(sub) -> None:
    pl = sub.add_parser("letter", help="Routineschreiben: Vorlagen, Entwürfe")
    lsub = pl.add_subparsers(dest="letter_command", required=True)

    pt = lsub.add_parser("templates", help="Vorlagen und Vorlagenprobleme anzeigen")
    pt.add_argument("--json", action="store_true", help="JSON-Ausgabe")
    pt.set_defaults(func=cmd_letter_templates)

    pd = lsub.add_parser("draft", help="Entwurf aus einer Akte als DOCX erstellen")
    pd.add_argument("--case", required=True, help="Aktenzeichen, z. B. S-III-WG/2026/001234")
    pd.add_argument("--template", required=True, help="Name der Vorlage (lotse letter templates)")
    pd.add_argument("--out", required=True, help="Ziel-Datei (.docx)")
    pd.add_argument("--field", action="append", metavar="NAME=WERT",
                    help="Feldwert setzen (mehrfach; \\n trennt Zeilen, JSON für Listen/Adressen)")
    pd.add_argument("--no-proposals", action="store_true", help="ohne Textvorschläge aus der Wissensbasis")
    pd.add_argument("--json", action="store_true", help="Ergebnis als JSON")
    pd.set_defaults(func=cmd_letter_draft)

    pi = lsub.add_parser("import-template", help="Eigene Word-Vorlage des Amts übernehmen (Platzhalter erkennen, "
                         "zuordnen, umwandeln)")
    pi.add_argument("file", help="Word-Datei (.docx) mit Platzhaltern: {{ name }}, ${name}, Seriendruckfelder, "
                    "[Name] oder hervorgehobener Text")
    pi.add_argument("--name", help="Name der Vorlage (Standard: aus dem Dateinamen)")
    pi.add_argument("--title", help="Titel der Vorlage (Standard: Dateiname)")
    pi.add_argument("--mapping", help="YAML-Datei mit der Zuordnung (name, title, case_types, four_eyes, fields: "
                    "{Platzhalter: Zuordnung}); ohne: Vorschläge, im Bericht als zu prüfen genannt")
    pi.add_argument("--write-mapping", metavar="DATEI", help="vorgeschlagene Zuordnung zum Bearbeiten schreiben "
                    "(nichts speichern)")
    pi.add_argument("--dry-run", action="store_true", help="nur erkennen und berichten, nichts speichern")
    pi.add_argument("--replace", action="store_true", help="eine vorhandene Vorlage gleichen Namens ersetzen")
    pi.add_argument("--json", action="store_true", help="Ergebnis als JSON")
    pi.set_defaults(func=cmd_letter_import)
