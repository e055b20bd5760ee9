"""``lotse user``: local accounts (add, list, set password, lock/unlock)."""

from __future__ import annotations

import getpass
import json
import sys


def _read_password(prompt: str) -> str:
    """From the terminal (asked twice), or the first line of stdin when it is not a terminal."""
    if sys.stdin.isatty():
        first = getpass.getpass(prompt)
        if getpass.getpass("Passwort wiederholen: ") != first:
            raise SystemExit("Fehler: Die Passwörter stimmen nicht überein.")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _store(settings):
    from assistant.accounts import AccountStore

    return AccountStore(settings.db_url())


def cmd_user(args, settings) -> int:
    from assistant.accounts import AccountError
    from assistant.errors import NotFoundError

    store = _store(settings)
    try:
        if args.user_cmd == "add":
            password = _read_password(f"Passwort für {args.name}: ")
            u = store.add(args.name, args.display_name or args.name, args.roles, args.departments, password,
                          actor="cli")
            print(f"Konto „{u['id']}“ angelegt: Rollen {', '.join(u['roles'])}; Fachbereiche "
                  f"{'alle' if u['departments'] is None else ', '.join(u['departments']) or 'keine'}.")
        elif args.user_cmd == "list":
            users = store.list()
            if args.json:
                print(json.dumps(users, ensure_ascii=False, indent=2))
            for u in [] if args.json else users:
                deps = "alle" if u["departments"] is None else ",".join(u["departments"]) or "-"
                state = "aktiv" if u["active"] else "gesperrt"
                print(f"{u['id']:<24} {u['display_name']:<30} {','.join(u['roles']):<40} {deps:<16} "
                      f"{u['source']:<6} {state}")
        elif args.user_cmd == "passwd":
            store.update(args.name, password=_read_password(f"Neues Passwort für {args.name}: "), actor="cli")
            print("Passwort geändert.")
        elif args.user_cmd == "contact":
            contact = {k: v for k, v in (("zimmer", args.zimmer), ("telefon", args.telefon),
                                         ("email", args.email)) if v is not None}
            u = store.update(args.name, contact=contact, actor="cli")
            k = u["kontakt"]
            print(f"Kontakt auf Briefen: Zimmer {k['zimmer'] or '–'}, Telefon {k['telefon'] or '–'}, "
                  f"E-Mail {k['email'] or '–'}.")
        elif args.user_cmd in ("lock", "unlock"):
            store.update(args.name, active=args.user_cmd == "unlock", actor="cli")
            print("Konto gesperrt." if args.user_cmd == "lock" else "Konto entsperrt.")
    except (AccountError, NotFoundError) as exc:
        print(f"Fehler: {exc.message}", file=sys.stderr)
        return 2
    return 0


def register(sub) -> None:
    pu = sub.add_parser("user", help="Lokale Benutzerkonten verwalten")
    us = pu.add_subparsers(dest="user_cmd", required=True)
    a = us.add_parser("add", help="Konto anlegen (Passwort wird abgefragt bzw. von stdin gelesen)")
    a.add_argument("name", help="Benutzername")
    a.add_argument("--name", dest="display_name", help="Anzeigename")
    a.add_argument("--roles", required=True,
                   help="Rollen, kommagetrennt: sachbearbeitung, pruefung, schulung, administration")
    a.add_argument("--departments", required=True, help="Fachbereiche, kommagetrennt (z. B. S-III), '*' = alle")
    ls = us.add_parser("list", help="Konten auflisten")
    ls.add_argument("--json", action="store_true")
    for name, text in (("passwd", "Passwort ändern"), ("lock", "Konto sperren"), ("unlock", "Konto entsperren")):
        p = us.add_parser(name, help=text)
        p.add_argument("name", help="Benutzername")
    c = us.add_parser("contact", help="Kontakt auf Briefen setzen (Zimmer, Durchwahl, E-Mail; '' löscht)")
    c.add_argument("name", help="Benutzername")
    c.add_argument("--zimmer")
    c.add_argument("--telefon", help="Durchwahl, z. B. '089 233-96123'")
    c.add_argument("--email")
    pu.set_defaults(func=cmd_user)
