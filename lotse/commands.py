"""Commands above the indexer: ask, serve, efile-double."""

from __future__ import annotations

import json
import sys


def cmd_ask(args, settings) -> int:
    from .factory import build_assistant

    assistant = build_assistant(settings, progress=not args.json)
    principal = settings.default_principal()
    if args.case:
        result = assistant.ask_case(args.case, args.question, principal)
        if args.json:
            print(json.dumps(result, ensure_ascii=False, indent=2))
        else:
            print(result["answer"] + "\n\nQuellen:")
            for c in result["citations"]:
                page = f", S. {c['page']}" if c["page"] else ""
                print(f"  [{c['n']}] {c['title']} – {c['section']}{page} ({c['source']})")
        return 0
    if args.json:
        result = assistant.ask(args.question, principal, args.conversation)
        out = {k: result.get(k) for k in ("answer", "citations", "refused", "provider", "fallback",
                                          "conversation_id", "timings", "query")}
        if result.get("suggestions"):
            out["suggestions"] = result["suggestions"]
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return 0
    from assistant.events import DoneEvent, ReplaceEvent, SavedEvent, TokenEvent

    for ev in assistant.ask_stream(args.question, principal, args.conversation):
        if isinstance(ev, TokenEvent):
            sys.stdout.write(ev.text)
            sys.stdout.flush()
        elif isinstance(ev, ReplaceEvent):
            sys.stdout.write("\n\n" + ev.text)
        elif isinstance(ev, DoneEvent):
            sys.stdout.write("\n\nQuellen:\n")
            for c in ev.citations:
                page = f", S. {c.page}" if c.page else ""
                sys.stdout.write(f"  [{c.n}] {c.title} – {c.section}{page} ({c.source})\n")
            sys.stdout.write(f"\n(Antwort: {ev.provider}, {ev.timings['total_ms']:.0f} ms)\n")
        elif isinstance(ev, SavedEvent):
            sys.stdout.write(f"(Gespräch {ev.conversation_id}: mit --conversation fortsetzen)\n")
    return 0


def cmd_serve(args, settings) -> int:
    import uvicorn

    from web_ui.app import UVICORN_OPTIONS, create_app

    from .factory import build_accounts, build_engine, build_services

    engine = build_engine(settings)  # one engine for accounts, assistant and letters
    accounts = build_accounts(settings, engine)
    initial = settings.auth.initial_admin_password
    generated = accounts.ensure_initial_admin(initial.get_secret_value() if initial else None)
    if generated:
        bar = "=" * 72
        print(f"{bar}\nErster Start: Konto 'admin' angelegt (alle Rollen, alle Fachbereiche).\n"
              f"Einmaliges Passwort: {generated}\nBitte nach der Anmeldung weitere Konten anlegen "
              f"(Verwaltung oder `lotse user add`) und das Passwort ändern (`lotse user passwd admin`).\n{bar}",
              flush=True)
    # indexes the demo corpus on first start; the sentence vectors follow in the background
    services = build_services(settings, accounts, engine=engine, progress=True, warm_in_background=True)
    app = create_app(services)
    uvicorn.run(app, host=args.host or settings.host, port=args.port or settings.port, log_level="info",
                **UVICORN_OPTIONS)
    return 0


def cmd_sync_cases(args, settings) -> int:
    from indexer.cases import run_sync

    from .factory import build_knowledge_base

    kb = build_knowledge_base(settings)
    kb.ensure_demo_corpus(progress=not args.json)  # policy corpus first, so a case-only index never blocks it
    report = run_sync(kb, settings.efile_config(), progress=not args.json)
    from assistant.import_report import sync_report

    bericht = sync_report(report)  # German: taken, skipped and why, what needs a decision
    if args.json:
        print(json.dumps(dict(report.as_dict(), bericht=bericht.as_dict()), ensure_ascii=False, indent=2,
                         default=str))
    else:
        print(bericht.text())
    return 0 if report.ok else 1


def cmd_efile_double(args, settings) -> int:
    from connectors.efile.double.cli import main as double_main

    return double_main(args.rest)


def register(sub) -> None:
    pa = sub.add_parser("ask", help="Frage stellen (Antwort mit Quellen)")
    pa.add_argument("question", help="Frage")
    pa.add_argument("--json", action="store_true", help="ein JSON-Objekt ausgeben")
    pa.add_argument("--conversation", help="Gespräch fortsetzen (ID)")
    pa.add_argument("--case", help="Aktenzeichen: Frage zu dieser Akte aus der E-Akte beantworten")
    pa.set_defaults(func=cmd_ask)

    pv = sub.add_parser("serve", help="Server starten (API, WebSocket, Oberfläche)")
    pv.add_argument("--host")
    pv.add_argument("--port", type=int)
    pv.set_defaults(func=cmd_serve)

    pc = sub.add_parser("sync-cases", help="Aktenmetadaten aus der E-Akte abgleichen (ohne personenbezogene Daten)")
    pc.add_argument("--json", action="store_true", help="Bericht als JSON")
    pc.set_defaults(func=cmd_sync_cases)

    pe = sub.add_parser("efile-double", help="E-Akte-Testdouble starten", add_help=False)
    pe.add_argument("rest", nargs="*")
    pe.set_defaults(func=cmd_efile_double)
