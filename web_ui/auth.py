"""Login, sessions, CSRF protection and roles for the web app.

- Local accounts (argon2id hashes, :mod:`assistant.accounts`) with a rate-limited login form (failed
  attempts counted in the database, :mod:`assistant.login_limit`, so every server process shares them).
- OpenID Connect single sign-on (authorization code flow via authlib) when ``LOTSE_AUTH__OIDC__ISSUER``
  is set; roles and departments are mapped from token claims (Keycloak style by default).
- Sessions live in a signed cookie (Starlette's SessionMiddleware); idle and absolute timeouts.
- CSRF: every mutating ``/api/`` request must carry ``X-CSRF-Token`` equal to the session's token; the
  login and logout forms carry it as a hidden field. WebSockets check the Origin header.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, urlparse

from fastapi import APIRouter, Depends, HTTPException, Request, WebSocket
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import HTTPConnection

from assistant import Principal
from assistant.accounts import ROLES, AccountError, AccountStore
from assistant.login_limit import LoginLimiter  # failed logins in the database: shared by all processes

from . import messages as msg
from .auth_config import AuthConfig, OIDCConfig
from .errors import RoleMissing

log = logging.getLogger(__name__)
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def client_address(request: Request, trusted_proxies: list[str]) -> str:
    """The address a request comes from. ``X-Forwarded-For`` counts only when the connecting peer is one
    of the configured trusted proxies; then the nearest address in it that is not a trusted proxy."""
    peer = request.client.host if request.client else "?"
    if not trusted_proxies or not _is_trusted(peer, trusted_proxies):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted_proxies):
            return hop
    return hops[0] if hops else peer


def _is_trusted(address: str, trusted_proxies: list[str]) -> bool:
    import ipaddress

    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for net in trusted_proxies:
        try:
            if ip in ipaddress.ip_network(net, strict=False):
                return True
        except ValueError:
            continue
    return False


def session_secret(cfg: AuthConfig, data_dir: Path) -> str:
    if cfg.session_secret is not None and cfg.session_secret.get_secret_value():
        return cfg.session_secret.get_secret_value()
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / "session_secret"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def claim(data: dict, path: str):
    cur = data
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def _as_list(value) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.replace(";", ",").split(",") if v.strip()]
    if isinstance(value, (list, tuple, set)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [str(value)]


def map_claims(cfg: OIDCConfig, claims: dict) -> tuple[str, list[str], list[str] | None]:
    """(display name, Lotse roles, departments or None for all) from the token claims."""
    roles = set()
    for value in _as_list(claim(claims, cfg.roles_claim)):
        mapped = cfg.role_map.get(value, value.lower())
        if mapped in ROLES:
            roles.add(mapped)
    deps = _as_list(claim(claims, cfg.departments_claim))
    name = str(claim(claims, cfg.name_claim) or claims.get("preferred_username") or claims.get("sub"))
    return name, sorted(roles), (None if "*" in deps else deps)


def contact_claims(cfg: OIDCConfig, claims: dict) -> dict[str, str]:
    """Room, direct line and e-mail of the person from the token claims (empty where not sent)."""
    out = {}
    for key, path in (("zimmer", cfg.room_claim), ("telefon", cfg.phone_claim), ("email", cfg.email_claim)):
        value = claim(claims, path)
        if isinstance(value, (str, int)) and str(value).strip():
            out[key] = str(value).strip()
    return out


class Auth:
    """Holds the account store and the session helpers; one per app."""

    def __init__(self, cfg: AuthConfig, accounts: AccountStore):
        self.cfg, self.accounts = cfg, accounts
        self.limiter = LoginLimiter(cfg.login_attempts, cfg.login_window_s, accounts.Session)
        self.oauth = None
        if cfg.oidc.issuer:
            from authlib.integrations.starlette_client import OAuth

            self.oauth = OAuth()
            self.oauth.register(
                "sso", client_id=cfg.oidc.client_id, client_secret=cfg.oidc.client_secret.get_secret_value(),
                server_metadata_url=cfg.oidc.issuer.rstrip("/") + "/.well-known/openid-configuration",
                client_kwargs={"scope": cfg.oidc.scopes, "timeout": 10.0})

    # -- sessions -------------------------------------------------------------------
    @staticmethod
    def csrf_token(session: dict) -> str:
        token = session.get("csrf")
        if not token:
            token = session["csrf"] = secrets.token_urlsafe(32)
        return token

    def start_session(self, request: Request, user_id: str) -> None:
        """A new server-side session; the cookie gets its token and a fresh CSRF token (no fixation of
        an anonymous session)."""
        old = request.session.get("sid")
        if old:
            self.accounts.end_session(old, "replaced")
        request.session.clear()
        request.session.update({"uid": user_id, "sid": self.accounts.open_session(user_id),
                                "csrf": secrets.token_urlsafe(32)})

    def end_session(self, request: Request) -> None:
        sid = request.session.get("sid")
        if sid:
            self.accounts.end_session(sid, "logout")
        request.session.clear()

    def principal_from_session(self, session: dict) -> Principal | None:
        sid = session.get("sid")
        if not sid:
            return None
        user = self.accounts.session_user(sid, max_age_s=self.cfg.session_hours * 3600,
                                          idle_s=self.cfg.idle_minutes * 60)
        if user is None or user.id != session.get("uid"):
            session.clear()
            return None
        return self.accounts.principal(user)

    # -- dependencies ---------------------------------------------------------------
    def current_principal(self, request: Request) -> Principal:
        p = self.principal_from_session(request.session)
        if p is None:
            raise HTTPException(status_code=401, detail=msg.SESSION_EXPIRED)
        return p

    def require(self, *roles: str, message: str | None = None, page: Callable[[str], str] | None = None,
                page_headers: dict[str, str] | None = None):
        """Dependency: the logged-in person, if they have one of ``roles`` (see :func:`require_roles`)."""
        return require_roles(self.current_principal, *roles, message=message, page=page, page_headers=page_headers)

    def websocket_principal(self, ws: WebSocket) -> Principal | None:
        origin = ws.headers.get("origin")
        if origin:
            host = ws.headers.get("host", "")
            if urlparse(origin).netloc != host:
                return None
        return self.principal_from_session(ws.session)


def require_roles(get_principal: Callable[..., Principal], *roles: str, message: str | None = None,
                  page: Callable[[str], str] | None = None, page_headers: dict[str, str] | None = None):
    """A FastAPI dependency yielding the principal of ``get_principal`` (itself a dependency) when they have
    at least one of ``roles``; otherwise 403 (:class:`web_ui.errors.RoleMissing`) with ``message`` (default:
    "Dafür fehlt Ihnen die Rolle ...") and, for a browser's GET of a page, the HTML ``page(message)``."""
    wanted = frozenset(roles)
    text = message or msg.FORBIDDEN_ROLE.format(roles=" oder ".join(ROLES[r] for r in roles))

    def dep(principal: Principal = Depends(get_principal)) -> Principal:
        if not wanted & set(principal.roles or ()):
            raise RoleMissing(text, page, page_headers)
        return principal

    return dep


def install(app, auth: Auth, data_dir: Path) -> None:
    """Add session + CSRF middleware and the login/logout/SSO routes to ``app``."""

    @app.middleware("http")
    async def csrf_guard(request: Request, call_next):
        if request.method not in SAFE_METHODS and request.url.path.startswith("/api/"):
            sent = request.headers.get("x-csrf-token", "")
            expected = request.session.get("csrf", "")
            if request.session.get("uid") and (not expected or not secrets.compare_digest(sent, expected)):
                return JSONResponse({"detail": msg.CSRF_FAILED}, status_code=403)
        return await call_next(request)

    # added last = outermost: the session is decoded before the CSRF check runs
    app.add_middleware(SessionMiddleware, secret_key=session_secret(auth.cfg, data_dir),
                       session_cookie="lotse_session", max_age=int(auth.cfg.session_hours * 3600),
                       same_site="lax", https_only=auth.cfg.cookie_secure)
    app.include_router(router)


def _safe_next(value: str | None) -> str:
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def login_page(request: Request, auth: Auth, error: str = "", status: int = 200, next_url: str = "/") -> HTMLResponse:
    from .templates import render

    page = render("login.html", csrf_token=auth.csrf_token(request.session), error=error, next_url=next_url,
                  oidc_href=f"/auth/oidc/login?next={quote(next_url)}" if auth.oauth else "")
    return HTMLResponse(page, status_code=status, headers={"Cache-Control": "no-store"})


def _auth(conn: HTTPConnection) -> Auth:
    """The app's :class:`Auth` (``create_app`` keeps it on ``app.state.auth``)."""
    return conn.app.state.auth


def _principal(request: Request, auth: Auth = Depends(_auth)) -> Principal:
    return auth.current_principal(request)


#: login, logout, /api/me and single sign-on (module-level; handlers read the app's Auth as a dependency)
router = APIRouter(tags=["Anmeldung"])


@router.get("/login", include_in_schema=False)
def login_form(request: Request, next: str | None = None, auth: Auth = Depends(_auth)):
    if auth.principal_from_session(request.session) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return login_page(request, auth, next_url=_safe_next(next))


@router.post("/login", include_in_schema=False)
async def login(request: Request, auth: Auth = Depends(_auth)):
    form = await request.form()
    username = str(form.get("username") or "").strip()
    password = str(form.get("password") or "")
    next_url = _safe_next(str(form.get("next") or "/"))
    expected = request.session.get("csrf", "")
    if not expected or not secrets.compare_digest(str(form.get("csrf_token") or ""), expected):
        return login_page(request, auth, msg.LOGIN_FORM_EXPIRED, 403, next_url)
    client = client_address(request, auth.cfg.trusted_proxies)
    keys = (f"user:{username.lower()}", f"addr:{client}")
    if auth.limiter.blocked(*keys):
        return login_page(request, auth, msg.LOGIN_BLOCKED.format(minutes=max(1, auth.cfg.login_window_s // 60)),
                          429, next_url)
    if not username or not password or len(password) > 1000:
        auth.limiter.fail(*keys)
        return login_page(request, auth, msg.LOGIN_FAILED, 401, next_url)
    user = await _in_thread(auth.accounts.verify, username, password)
    if user is None:
        auth.limiter.fail(*keys)
        return login_page(request, auth, msg.LOGIN_FAILED, 401, next_url)
    auth.limiter.reset(keys[0])
    auth.start_session(request, user.id)
    return RedirectResponse(next_url, status_code=303)


@router.post("/logout", include_in_schema=False)
async def logout(request: Request, auth: Auth = Depends(_auth)):
    form = await request.form()
    sent = str(form.get("csrf_token") or request.headers.get("x-csrf-token") or "")
    expected = request.session.get("csrf", "")
    if expected and secrets.compare_digest(sent, expected):
        auth.end_session(request)
    return RedirectResponse("/login", status_code=303)


@router.get("/api/me", tags=["Anmeldung"], summary="Angemeldete Person, Rollen, Fachbereiche, CSRF-Token")
def me(request: Request, auth: Auth = Depends(_auth), principal: Principal = Depends(_principal)):
    return {"user_id": principal.user_id, "display_name": principal.display_name,
            "roles": sorted(principal.roles),
            "departments": None if principal.departments is None else list(principal.departments),
            "csrf_token": auth.csrf_token(request.session), "sso": auth.oauth is not None}


@router.get("/auth/oidc/login", include_in_schema=False)
async def oidc_login(request: Request, next: str | None = None, auth: Auth = Depends(_auth)):
    if auth.oauth is None:
        raise HTTPException(status_code=404, detail=msg.SSO_NOT_CONFIGURED)
    request.session["oidc_next"] = _safe_next(next)
    redirect = auth.cfg.oidc.redirect_url or str(request.url_for("oidc_callback"))
    try:
        return await auth.oauth.sso.authorize_redirect(request, redirect)
    except Exception:  # noqa: BLE001 - provider unreachable or broken discovery
        log.exception("OIDC provider not reachable")
        return login_page(request, auth, msg.SSO_UNREACHABLE, 503)


@router.get("/auth/oidc/callback", name="oidc_callback", include_in_schema=False)
async def oidc_callback(request: Request, auth: Auth = Depends(_auth)):
    if auth.oauth is None:
        raise HTTPException(status_code=404, detail=msg.SSO_NOT_CONFIGURED)
    next_url = request.session.get("oidc_next", "/")
    try:
        token = await auth.oauth.sso.authorize_access_token(request)
        claims = dict(token.get("userinfo") or {})
        if claim(claims, auth.cfg.oidc.roles_claim) is None:
            claims.update(await auth.oauth.sso.userinfo(token=token))
    except Exception as exc:  # noqa: BLE001 - denied, state mismatch, provider down
        log.warning("OIDC login failed: %s", type(exc).__name__)
        return login_page(request, auth, msg.SSO_FAILED, 401)
    name, roles, deps = map_claims(auth.cfg.oidc, claims)
    if not roles:
        return login_page(request, auth, msg.SSO_NO_ROLE, 403)
    try:
        user = await _in_thread(auth.accounts.upsert_sso, str(claims["sub"]), name, roles, deps,
                                contact_claims(auth.cfg.oidc, claims))
    except AccountError as exc:
        return login_page(request, auth, exc.message, 409)
    if not user.active:
        return login_page(request, auth, msg.LOGIN_FAILED, 403)
    auth.start_session(request, user.id)
    return RedirectResponse(_safe_next(next_url), status_code=303)


async def _in_thread(fn, *args):
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args)

