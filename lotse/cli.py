"""The ``lotse`` command: index, search, ask, serve and administration, one code path with the server."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from pathlib import Path

from .settings import Settings, SettingsError, load_settings

log = logging.getLogger("lotse")


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


class _EscapedRecord(logging.LogRecord):
    """Control characters in a log message (a newline in a file name) are written escaped (``\\n``),
    so no message can forge a log line; tracebacks are not part of the message and stay as they are."""

    def getMessage(self) -> str:  # noqa: N802 - logging's name
        return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), super().getMessage())


def _setup_logging(level: str) -> None:
    logging.setLogRecordFactory(_EscapedRecord)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    for noisy in ("chromadb", "httpx", "sentence_transformers", "urllib3", "transformers", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def private_data_dir(path: Path) -> None:
    """Everything Lotse writes is for its own user only: files 0600, folders 0700 (umask 077); an existing
    data directory and the files in it are tightened the same way."""
    os.umask(0o077)
    path.mkdir(parents=True, exist_ok=True)
    for folder, dirs, files in os.walk(path):
        os.chmod(folder, 0o700)
        for name in files:
            f = Path(folder) / name
            if not f.is_symlink():
                os.chmod(f, 0o600)


def _kb(settings: Settings):
    from .factory import build_knowledge_base

    return build_knowledge_base(settings)


def cmd_index(args, settings: Settings) -> int:
    kb = _kb(settings)
    if args.rebuild:
        import shutil

        if kb.catalog.shared or kb.cfg.chroma.mode == "server":  # catalog in the database, Chroma server
            log.warning("--rebuild: dropping the index catalog in %s and the vectors of collection %s",
                        kb.catalog.where(), kb.cfg.chroma.collection)
            with kb.catalog.write_lock():
                if kb.cfg.chroma.mode == "server":
                    kb.vectors.clear()
                if kb.catalog.shared:
                    kb.catalog.clear()
        log.warning("--rebuild: dropping index in %s", settings.data_dir)
        kb.vectors.close()
        del kb
        for p in ("chroma", "index.sqlite3", "index.sqlite3-wal", "index.sqlite3-shm"):
            target = settings.data_dir / p
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
        kb = _kb(settings)
    paths = args.paths or []
    if not paths:
        from indexer import DEMO_CORPUS

        paths = [DEMO_CORPUS]
    reports = []
    failed_paths = 0
    for p in paths:
        try:
            reports.append(kb.index(Path(p), department=args.department, doc_type=args.doc_type,
                                    progress=not args.json))
        except Exception as exc:  # noqa: BLE001 - report per path, keep going
            from connectors import ConnectorError

            if not isinstance(exc, ConnectorError):
                raise
            print(f"Fehler: {exc.message}", file=sys.stderr)
            failed_paths += 1
    if args.json:
        print(json.dumps([r.as_dict() for r in reports], ensure_ascii=False, indent=2))
    else:
        for r in reports:
            print(f"{r.root}: {r.added} neu, {r.updated} geändert, {r.unchanged} unverändert, "
                  f"{r.removed} entfernt, {r.chunks_written} Abschnitte geschrieben, "
                  f"{len(r.errors)} Fehler ({r.seconds:.1f} s)")
            for e in r.errors:
                print(f"  FEHLER {e.source}: {e.reason}")
    return 1 if failed_paths else 0


def _hit_json(h) -> dict:
    return {"source": h.source, "title": h.title, "section": h.section, "page": h.page,
            "score": round(h.score, 4), "text": h.text, "department": h.department, "doc_type": h.doc_type,
            "heading_path": list(h.heading_path), "chunk_id": h.chunk_id}


def cmd_search(args, settings: Settings) -> int:
    kb = _kb(settings)
    if kb.catalog.stats()["documents"] == 0:
        kb.ensure_demo_corpus(progress=not args.json)
    kw = dict(departments=args.department or None, doc_types=args.doc_type or None, mode=args.mode)
    if args.queries:
        text = Path(args.queries).read_text(encoding="utf-8")
        for line in text.splitlines():
            if not line.strip():
                print("[]")
                continue
            hits = kb.search(line.strip(), args.k, **kw)
            print(json.dumps([_hit_json(h) for h in hits], ensure_ascii=False))
        return 0
    if not args.query:
        print("Bitte eine Frage angeben: lotse search \"frage\"", file=sys.stderr)
        return 2
    hits = kb.search(args.query, args.k, **kw)
    if args.json:
        print(json.dumps([_hit_json(h) for h in hits], ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print("Keine Treffer in den freigegebenen Quellen.")
    for i, h in enumerate(hits, 1):
        page = f", S. {h.page}" if h.page else ""
        print(f"{i}. {h.title} — {h.section}{page}  [{h.source}, {h.department}, Score {h.score:.2f}]")
        snippet = " ".join(h.text.split())
        print(f"   {snippet[:240]}{'…' if len(snippet) > 240 else ''}")
    return 0


def cmd_stats(args, settings: Settings) -> int:
    kb = _kb(settings)
    if args.verify:
        fixed = kb.indexer.verify()
        print(json.dumps({"verify": fixed}, ensure_ascii=False))
    print(json.dumps(kb.stats(), ensure_ascii=False, indent=2, default=str))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lotse", description="Lotse – Assistenz für die Sachbearbeitung")
    sub = p.add_subparsers(dest="command", required=True)

    pi = sub.add_parser("index", help="Ordner indexieren (inkrementell)")
    pi.add_argument("paths", nargs="*", help="Ordner oder Dateien (Standard: Demo-Korpus)")
    pi.add_argument("--department", help="Fachbereich für Dokumente ohne eigene Angabe")
    pi.add_argument("--doc-type", help="Dokumenttyp für Dokumente ohne eigene Angabe")
    pi.add_argument("--rebuild", action="store_true", help="Index vollständig neu aufbauen")
    pi.add_argument("--json", action="store_true", help="Zusammenfassung als JSON")
    pi.set_defaults(func=cmd_index)

    ps = sub.add_parser("search", help="Quellen suchen")
    ps.add_argument("query", nargs="?", help="Suchfrage")
    ps.add_argument("-k", type=int, default=5, help="Anzahl Treffer")
    ps.add_argument("--json", action="store_true", help="JSON-Ausgabe")
    ps.add_argument("--queries", help="Datei mit einer Frage pro Zeile; eine JSON-Liste pro Zeile")
    ps.add_argument("--department", action="append", help="nur diese Fachbereiche (mehrfach möglich)")
    ps.add_argument("--doc-type", action="append", help="nur diese Dokumenttypen (mehrfach möglich)")
    ps.add_argument("--mode", choices=["hybrid", "lexical", "dense"], default="hybrid")
    ps.set_defaults(func=cmd_search)

    pst = sub.add_parser("stats", help="Indexstatus anzeigen")
    pst.add_argument("--verify", action="store_true", help="Katalog und Vektorspeicher abgleichen")
    pst.set_defaults(func=cmd_stats)

    _register_extra(sub)
    return p


def _register_extra(sub) -> None:
    """Commands of later layers (ask, serve, ...) register here when present."""
    from .commands import register
    from .letter_commands import register as register_letters
    from .user_commands import register as register_users

    register(sub)
    register_letters(sub)
    register_users(sub)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["efile-double"]:  # pass its own options through untouched
        args = argparse.Namespace(func=None, rest=argv[1:])
        from .commands import cmd_efile_double

        args.func = cmd_efile_double
    else:
        args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    _setup_logging(settings.log_level)
    private_data_dir(settings.data_dir)
    from connectors import ConnectorError
    from assistant import AssistantError
    from indexer import IndexingError

    try:
        return int(args.func(args, settings) or 0)
    except (IndexingError, ConnectorError) as exc:
        print(f"Fehler: {exc}", file=sys.stderr)
        return 1
    except AssistantError as exc:
        print(f"Fehler: {exc.message}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Abgebrochen.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
