"""Command line of the double: ``python -m connectors.efile.double --port PORT ...``."""

from __future__ import annotations

import argparse
import json
import logging
import socket
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from .auth import users_from_env_or
from .casefile import load_cases, parse_cases, read_cases_file
from .faults import FaultSettings, FaultState
from .generator import generate_cases
from .store import Store

log = logging.getLogger(__name__)
READY = "E-Akte-Double bereit auf http://{host}:{port}"


def default_db() -> Path:
    return Path(tempfile.gettempdir()) / "lotse-efile-double" / "eakte.sqlite3"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="efile-double", description="Test-Double der E-Akte-Schnittstelle (EAI v1.2.5)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765, help="0 wählt einen freien Port")
    p.add_argument("--db", type=Path, default=None, help=f"SQLite-Datei (Standard: {default_db()})")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--cases", type=Path, help="Fälle aus JSON-Datei laden (Format: docs/efile.md)")
    src.add_argument("--generate", type=int, metavar="N", help="N fiktive Fälle erzeugen")
    p.add_argument("--seed", type=int, default=42, help="Startwert für --generate")
    p.add_argument("--dump-cases", type=Path, help="erzeugte Fälle als JSON schreiben und beenden")
    p.add_argument("--dump-planted", type=Path, help="eingestreute personenbezogene Werte als JSON schreiben")
    p.add_argument("--reset", action="store_true", help="vorhandene Datenbank vorher löschen")
    p.add_argument("--users", help="technische Nutzer 'name:passwort:rw,name2:pw:r' (auch EAKTE_DOUBLE_USERS)")
    p.add_argument("--latency-ms", type=int, default=0)
    p.add_argument("--error-rate-500", type=float, default=0.0)
    p.add_argument("--error-401", action="store_true")
    p.add_argument("--drop-connection-rate", type=float, default=0.0)
    p.add_argument("--fault-seed", type=int, default=0)
    p.add_argument("--log-level", default="warning")
    return p


def _seed(store: Store, args: argparse.Namespace) -> None:
    if args.cases is None and args.generate is None:
        return
    if store.count_cases():
        print(f"Datenbank enthält bereits {store.count_cases()} Akten; es wird nichts neu geladen.",
              file=sys.stderr)
        return
    if args.cases is not None:
        specs = read_cases_file(args.cases)
    else:
        cases, _planted = generate_cases(args.generate, args.seed)
        specs = parse_cases(cases)
    n = load_cases(store, specs)
    print(f"{len(specs)} Akten geladen ({n} Objekte).", file=sys.stderr)


def _dump(args: argparse.Namespace) -> bool:
    if not (args.dump_cases or args.dump_planted):
        return False
    cases, planted = generate_cases(args.generate or 0, args.seed)
    if args.dump_cases:
        args.dump_cases.write_text(json.dumps({"cases": cases}, ensure_ascii=False, indent=1), encoding="utf-8")
    if args.dump_planted:
        args.dump_planted.write_text(json.dumps([asdict(p) for p in planted], ensure_ascii=False, indent=1),
                                     encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    if _dump(args):
        return 0
    try:
        users = users_from_env_or(args.users)
        faults = FaultState(FaultSettings(latency_ms=args.latency_ms, error_rate_500=args.error_rate_500,
                                          error_401=args.error_401,
                                          drop_connection_rate=args.drop_connection_rate), seed=args.fault_seed)
    except ValueError as exc:
        print(f"Fehler: {exc}", file=sys.stderr)
        return 2
    db = args.db or default_db()
    if args.reset and db.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    store = Store(db)
    try:
        _seed(store, args)
        return _serve(store, users, faults, args)
    finally:
        store.close()


def _serve(store: Store, users: dict, faults: FaultState, args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        print(f"Fehler: Port {args.port} ist nicht verfügbar ({exc.strerror}).", file=sys.stderr)
        return 2
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(store, users, faults), log_level=args.log_level, access_log=False,
                            lifespan="off", timeout_graceful_shutdown=2)

    class _Server(uvicorn.Server):
        async def startup(self, sockets=None):  # type: ignore[no-untyped-def]
            await super().startup(sockets=sockets)
            print(READY.format(host=args.host, port=port), flush=True)

    _Server(config).run(sockets=[sock])
    return 0
