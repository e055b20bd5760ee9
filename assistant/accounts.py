"""User accounts: local accounts with argon2id password hashes, and accounts of single sign-on users.

A user has roles (what they may do) and departments (which documents, cases and letters they see).
:meth:`AccountStore.principal` turns a stored user into the :class:`Principal` every request runs as.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select

from .db import AuditEvent, User, WebSession, make_engine, make_sessionmaker
from .errors import AssistantError, NotFoundError
from .identity import Contact, Principal

#: role -> German label (the values used in tokens, the CLI and the API)
ROLES: dict[str, str] = {
    "sachbearbeitung": "Sachbearbeitung",
    "pruefung": "Prüfung",
    "schulung": "Schulung",
    "administration": "Administration",
}
ALL_DEPARTMENTS = "*"
MIN_PASSWORD = 10
_USER_ID = re.compile(r"^[A-Za-z0-9._@-]{2,200}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HASHER = PasswordHasher()  # argon2id, library defaults (RFC 9106 low-memory profile)
_DUMMY_HASH = _HASHER.hash(secrets.token_hex(16))


class AccountError(AssistantError):
    """Invalid account data (German message)."""


def _roles_of(u: User) -> list[str]:
    """The user's roles (a JSON list; a comma-separated text written into the column by hand also counts)."""
    roles = u.roles or []
    return [r for r in (roles.split(",") if isinstance(roles, str) else roles) if r]


def parse_roles(value) -> list[str]:
    items = value.split(",") if isinstance(value, str) else list(value or [])
    roles = sorted({str(r).strip().lower() for r in items if str(r).strip()})
    unknown = [r for r in roles if r not in ROLES]
    if unknown:
        raise AccountError(f"Unbekannte Rolle(n): {', '.join(unknown)}. Erlaubt: {', '.join(ROLES)}.")
    return roles


def parse_departments(value) -> list[str] | None:
    """``*`` (or None) means all departments; otherwise a list of department codes such as S-III."""
    if value is None:
        return None
    items = value.split(",") if isinstance(value, str) else list(value)
    deps = sorted({str(d).strip() for d in items if str(d).strip()})
    if ALL_DEPARTMENTS in deps:
        return None
    bad = [d for d in deps if not re.fullmatch(r"[A-Za-z0-9ÄÖÜäöüß._/-]{1,50}", d)]
    if bad:
        raise AccountError(f"Ungültige Fachbereichskennung(en): {', '.join(bad)}")
    return deps


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(d: datetime) -> datetime:
    """SQLite returns naive datetimes (stored as UTC)."""
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


class AccountStore:
    def __init__(self, database_url: str | None = None, *, Session=None):
        self.Session = Session or make_sessionmaker(make_engine(database_url))

    # -- reading --------------------------------------------------------------------
    def count(self) -> int:
        with self.Session() as s:
            return s.scalar(select(func.count()).select_from(User)) or 0

    def get(self, user_id: str) -> User | None:
        with self.Session() as s:
            return s.get(User, user_id)

    def list(self) -> list[dict]:
        with self.Session() as s:
            return [self.as_dict(u) for u in s.scalars(select(User).order_by(User.id)).all()]

    @staticmethod
    def as_dict(u: User) -> dict:
        deps = u.departments.split(",") if u.departments and u.departments != ALL_DEPARTMENTS else []
        return {"id": u.id, "display_name": u.display_name, "roles": _roles_of(u),
                "kontakt": {"zimmer": u.zimmer or "", "telefon": u.telefon or "", "email": u.email or ""},
                "departments": None if u.departments == ALL_DEPARTMENTS else deps, "source": u.source,
                "active": u.active, "created_at": u.created_at.isoformat() if u.created_at else None,
                "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None}

    @staticmethod
    def principal(u: User) -> Principal:
        deps = None if u.departments == ALL_DEPARTMENTS else tuple(d for d in u.departments.split(",") if d)
        contact = Contact(u.zimmer or "", u.telefon or "", u.email or "")
        return Principal(u.id, u.display_name, frozenset(_roles_of(u)), deps,
                         contact if (contact.zimmer or contact.telefon or contact.email) else None)

    # -- writing --------------------------------------------------------------------
    def add(self, user_id: str, display_name: str, roles, departments, password: str | None, *,
            actor: str = "system") -> dict:
        if not _USER_ID.fullmatch(user_id or ""):
            raise AccountError("Der Benutzername darf nur Buchstaben, Ziffern und . _ @ - enthalten "
                               "(2 bis 200 Zeichen).")
        roles_l, deps = parse_roles(roles), parse_departments(departments)
        if not roles_l:
            raise AccountError("Bitte mindestens eine Rolle angeben.")
        if password is not None:
            self._check_password(password)
        with self.Session() as s:
            if s.get(User, user_id) is not None:
                raise AccountError(f"Den Benutzer „{user_id}“ gibt es schon.")
            u = User(id=user_id, display_name=(display_name or user_id).strip()[:200], roles=roles_l,
                     departments=ALL_DEPARTMENTS if deps is None else ",".join(deps),
                     password_hash=_HASHER.hash(password) if password is not None else None, source="local")
            s.add(u)
            s.add(AuditEvent(user_id=actor, action="user_created", object_id=user_id[:100], outcome="ok"))
            s.commit()
            return self.as_dict(u)

    def update(self, user_id: str, *, display_name=None, roles=None, departments=..., active=None,
               password: str | None = None, contact: dict | None = None, actor: str = "system") -> dict:
        """``contact``: {"zimmer", "telefon", "email"} as printed on letters ("" clears a value)."""
        with self.Session() as s:
            u = s.get(User, user_id)
            if u is None:
                raise NotFoundError(f"Den Benutzer „{user_id}“ gibt es nicht.")
            if display_name is not None:
                u.display_name = display_name.strip()[:200] or u.id
            if roles is not None:
                r = parse_roles(roles)
                if not r:
                    raise AccountError("Bitte mindestens eine Rolle angeben.")
                u.roles = r
            if departments is not ...:
                deps = parse_departments(departments)
                u.departments = ALL_DEPARTMENTS if deps is None else ",".join(deps)
            if contact is not None:
                self._set_contact(u, contact)
            if active is not None:
                u.active = bool(active)
                if not u.active:
                    self._end_all(s, user_id, "locked")
            if password is not None:
                self._check_password(password)
                u.password_hash = _HASHER.hash(password)
                self._end_all(s, user_id, "password_changed")
            s.add(AuditEvent(user_id=actor, action="user_updated", object_id=user_id[:100], outcome="ok"))
            s.commit()
            return self.as_dict(u)

    @staticmethod
    def _check_password(password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"Das Passwort muss mindestens {MIN_PASSWORD} Zeichen lang sein.")
        if len(password) > 1000:
            raise AccountError("Das Passwort ist zu lang (höchstens 1000 Zeichen).")

    # -- authentication -------------------------------------------------------------
    def verify(self, user_id: str, password: str) -> User | None:
        """The user when the password is right and the account active; None otherwise (same timing
        for unknown users: a dummy hash is verified)."""
        with self.Session() as s:
            u = s.get(User, user_id)
            stored = u.password_hash if u is not None and u.password_hash else _DUMMY_HASH
            try:
                _HASHER.verify(stored, password)
                ok = u is not None and bool(u.password_hash) and u.active
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                ok = False
            s.add(AuditEvent(user_id=(user_id or "?")[:200], action="login", object_id=None,
                             outcome="ok" if ok else "failed"))
            if ok:
                u.last_login_at = _now()
                if _HASHER.check_needs_rehash(u.password_hash):
                    u.password_hash = _HASHER.hash(password)
            s.commit()
            return u if ok else None

    @staticmethod
    def _set_contact(u: User, contact: dict) -> None:
        for key, limit in (("zimmer", 50), ("telefon", 50), ("email", 200)):
            if key in contact and contact[key] is not None:
                value = " ".join(str(contact[key]).split())[:limit]
                if key == "email" and value and not _EMAIL.fullmatch(value):
                    raise AccountError(f"„{value}“ ist keine gültige E-Mail-Adresse.")
                setattr(u, key, value or None)

    def upsert_sso(self, subject: str, display_name: str, roles: list[str], departments: list[str] | None,
                   contact: dict | None = None) -> User:
        """Create or refresh the account of a single sign-on user: roles and departments always come from
        the identity provider's token, so a change there takes effect at the next login."""
        user_id = subject[:200]
        with self.Session() as s:
            u = s.get(User, user_id)
            if u is None:
                u = User(id=user_id, source="oidc", password_hash=None, active=True, display_name=user_id)
                s.add(u)
            elif u.source != "oidc":
                raise AccountError("Dieses Konto ist ein lokales Konto; Anmeldung per Single Sign-on nicht möglich.")
            u.display_name = (display_name or user_id)[:200]
            u.roles = sorted(set(roles))
            u.departments = ALL_DEPARTMENTS if departments is None else ",".join(sorted(set(departments)))
            if contact:  # the identity provider's claims win over what was stored before
                self._set_contact(u, {k: v for k, v in contact.items() if v})
            u.last_login_at = _now()
            s.add(AuditEvent(user_id=user_id, action="login_sso", object_id=None,
                             outcome="ok" if u.active else "inactive"))
            s.commit()
            return u

    # -- browser sessions -------------------------------------------------------------
    @staticmethod
    def _sid(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def open_session(self, user_id: str) -> str:
        """A new session; returns the token for the cookie (the database keeps only its hash)."""
        token = secrets.token_urlsafe(32)
        with self.Session() as s:
            s.add(WebSession(id=self._sid(token), user_id=user_id))
            s.commit()
        return token

    def session_user(self, token: str, *, max_age_s: float, idle_s: float) -> User | None:
        """The active user of a live session, or None (unknown, ended, expired, user locked)."""
        if not token:
            return None
        now = _now()
        with self.Session() as s:
            ws = s.get(WebSession, self._sid(token))
            if ws is None or ws.ended_at is not None:
                return None
            created, seen = _aware(ws.created_at), _aware(ws.last_seen_at)
            if now - created > timedelta(seconds=max_age_s) or now - seen > timedelta(seconds=idle_s):
                ws.ended_at, ws.ended_reason = now, "expired"
                s.commit()
                return None
            u = s.get(User, ws.user_id)
            if u is None or not u.active:
                return None
            if now - seen > timedelta(seconds=30):
                ws.last_seen_at = now
                s.commit()
            return u

    def end_session(self, token: str, reason: str = "logout") -> None:
        with self.Session() as s:
            ws = s.get(WebSession, self._sid(token)) if token else None
            if ws is not None and ws.ended_at is None:
                ws.ended_at, ws.ended_reason = _now(), reason
                s.add(AuditEvent(user_id=ws.user_id, action="logout", object_id=None, outcome=reason))
                s.commit()

    @staticmethod
    def _end_all(s, user_id: str, reason: str) -> None:
        for ws in s.scalars(select(WebSession).where(WebSession.user_id == user_id,
                                                     WebSession.ended_at.is_(None))).all():
            ws.ended_at, ws.ended_reason = _now(), reason

    def active_sessions(self) -> dict[str, int]:
        """user id -> number of open sessions (for administration)."""
        with self.Session() as s:
            rows = s.execute(select(WebSession.user_id, func.count()).where(WebSession.ended_at.is_(None))
                             .group_by(WebSession.user_id)).all()
            return {u: n for u, n in rows}

    def ensure_initial_admin(self, password: str | None = None) -> str | None:
        """On an empty user table create ``admin`` (all roles, all departments). Returns the password
        when one was generated (to be shown once on the console), else None."""
        if self.count() > 0:
            return None
        generated = password is None
        password = password or secrets.token_urlsafe(12)
        try:
            self.add("admin", "Administration", list(ROLES), ALL_DEPARTMENTS, password)
        except AccountError:
            if self.count() > 0:  # another process was faster
                return None
            raise
        return password if generated else None
