"""Filing letters into the e-file exactly once, and the background retry of waiting letters.

A request first reserves the letter with ONE conditional UPDATE (``approved``/``to_be_filed`` or a
stale claim -> ``filing``; the same on SQLite and PostgreSQL, across processes); only the request
that changed the row calls the e-file, simultaneous requests wait for its outcome. The key
``<letter id>-v<version>`` makes a repeated call return the earlier receipt. Whatever goes wrong after
the claim puts the letter back (``to_be_filed`` with backoff, or ``approved`` with the refusal).
Part of :class:`~assistant.letters.workflow.LetterService` (a mixin) plus :class:`FilingRetrier`."""

from __future__ import annotations

import inspect
import logging
import re
import threading
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, or_, select, update

from connectors.errors import ConnectorError, SourceUnavailable

from ..db import utcnow
from ..identity import Principal
from .errors import (
    FeatureUnavailable,
    FilingError,
    LetterError,
    LetterStateError,
)
from .models import STATE_LABELS, Letter

if TYPE_CHECKING:
    from .workflow import LetterService

log = logging.getLogger(__name__)

SYSTEM = Principal("lotse-system", "Lotse (automatische Ablage)")
FILEABLE = ("approved", "to_be_filed")
#: user ids that can go into the e-file's ``userlogin`` header as they are
_EFILE_LOGIN_RE = re.compile(r"^[A-Za-z0-9._@-]{1,100}$")


class LetterFiling:
    """Filing, claims and retries (part of ``LetterService``)."""

    def file(self, principal: Principal, letter_id: str) -> dict[str, Any]:
        """File the approved letter into the case's Vorgang, exactly once, however many requests arrive
        at the same time. E-file down: ``to_be_filed`` (retried later)."""
        if self.efile is None:
            raise FeatureUnavailable("Die E-Akte ist nicht angebunden: Ablage nicht möglich.")
        with self.Session() as s:
            letter = self._letter(s, letter_id, principal)
            if letter.state == "filed":
                self._audit(s, principal, "letter_file", letter.id, "already_filed")
                s.commit()
                return self._view(s, letter)
            if letter.state not in (*FILEABLE, "filing"):
                raise LetterStateError(f"Nur freigegebene Schreiben können abgelegt werden (Zustand: "
                                       f"{STATE_LABELS.get(letter.state, letter.state)}).")
            if not letter.procedure_coo:
                raise FilingError("Zu dieser Akte ist kein Vorgang bekannt, in den abgelegt werden kann.")
        token = self._claim(principal, letter_id)
        if token is None:  # somebody else is filing it right now: wait for that outcome
            return self._await_filing(principal, letter_id)
        return self._file_claimed(principal, letter_id, token, raise_refusal=True)

    def _claim(self, principal: Principal, letter_id: str, *, due_only: bool = False) -> int | None:
        """Reserve the letter for filing with ONE conditional UPDATE (``approved``/``to_be_filed`` or a
        stale claim -> ``filing``). Returns the claim's token (the attempt number) or None when another
        request holds it (or, with ``due_only``, its next attempt is not due yet)."""
        now = utcnow()
        claimable = or_(Letter.state.in_(FILEABLE),
                        and_(Letter.state == "filing",
                             Letter.filing_claimed_at < now - timedelta(seconds=self.claim_ttl_s)))
        if due_only:
            claimable = and_(claimable, or_(Letter.state != "to_be_filed", Letter.filing_next_attempt_at.is_(None),
                                            Letter.filing_next_attempt_at <= now))
        with self.Session() as s:
            res = s.execute(update(Letter).where(Letter.id == letter_id, claimable)
                            .values(state="filing", filing_claimed_at=now, filing_claimed_by=principal.user_id,
                                    filing_attempts=Letter.filing_attempts + 1, updated_at=now)
                            .execution_options(synchronize_session=False))
            if res.rowcount != 1:
                s.rollback()
                return None
            letter = s.get(Letter, letter_id)
            if not letter.idempotency_key:
                letter.idempotency_key = f"{letter.id}-v{letter.version}"
            token = letter.filing_attempts
            s.commit()
        return token

    def _release(self, principal: Principal, letter_id: str, token: int, state: str, error: str | None,
                 outcome: str, next_attempt: datetime | None = None) -> dict[str, Any]:
        """End our claim without a filing: back to ``state`` with the message, nothing lost."""
        with self.Session() as s:
            res = s.execute(update(Letter).where(Letter.id == letter_id, Letter.state == "filing",
                                                 Letter.filing_attempts == token)
                            .values(state=state, filing_error=error, filing_next_attempt_at=next_attempt,
                                    filing_claimed_at=None, filing_claimed_by=None, updated_at=utcnow())
                            .execution_options(synchronize_session=False))
            self._audit(s, principal, "letter_file", letter_id, outcome if res.rowcount else outcome + "_late")
            s.commit()
            return self._view(s, s.get(Letter, letter_id))

    def _backoff(self, attempts: int) -> datetime:
        delay = min(self.retry_max_s, self.retry_base_s * 2 ** max(0, attempts - 1))
        return utcnow() + timedelta(seconds=delay)

    def _efile_login(self, user_id: str) -> dict[str, str]:
        """``userlogin=<the letter's author>`` for the filing call, when the connector takes it and the id
        is a plain login; otherwise the connector's configured login is used."""
        try:
            accepts = "userlogin" in inspect.signature(self.efile.file_outgoing).parameters
        except (TypeError, ValueError):
            accepts = False
        if accepts and _EFILE_LOGIN_RE.match(user_id or ""):
            return {"userlogin": user_id}
        return {}

    def _file_claimed(self, principal: Principal, letter_id: str, token: int, raise_refusal: bool) -> dict[str, Any]:
        """Talk to the e-file for a letter whose claim we hold (``token``)."""
        with self.Session() as s:
            letter = s.get(Letter, letter_id)
            key, proc, title, az, version = (letter.idempotency_key, letter.procedure_coo, letter.title,
                                             letter.aktenzeichen, letter.version)
            author, attempts = letter.author_id, letter.filing_attempts
            view = self._view(s, letter)
            name = self.file_name(view)
        if not proc:
            self._release(principal, letter_id, token, "approved", "Zu dieser Akte ist kein Vorgang bekannt, in "
                          "den abgelegt werden kann.", "refused")
            raise FilingError("Zu dieser Akte ist kein Vorgang bekannt, in den abgelegt werden kann.")
        title = filed_title(title, view.get("fields") or {})
        subject = f"{title} – Az. {az} – Version {version} (erstellt mit Lotse)"
        try:
            content = self.render_docx(letter_id)
            receipt = self.efile.file_outgoing(proc, title, subject, name, content, key, **self._efile_login(author))
        except SourceUnavailable as exc:
            log.warning("letter %s: e-file unavailable, waiting for retry", letter_id)
            return self._release(principal, letter_id, token, "to_be_filed", exc.message, "deferred",
                                 self._backoff(attempts))
        except ConnectorError as exc:
            view = self._release(principal, letter_id, token, "approved", exc.message, "refused")
            if raise_refusal:
                raise FilingError(f"Die E-Akte hat die Ablage abgelehnt: {exc.message}") from exc
            return view
        except LetterError as exc:  # e.g. the template broke since the approval: a person must look
            self._release(principal, letter_id, token, "approved", exc.message, "refused")
            raise
        except BaseException:
            # anything else after the claim: the letter waits again, nothing is lost
            self._release(principal, letter_id, token, "to_be_filed", "Die Ablage wurde unterbrochen; sie wird "
                          "automatisch erneut versucht.", "interrupted", self._backoff(attempts))
            raise
        with self.Session() as s:
            now = utcnow()
            # the e-file holds the document: record the receipt even if our claim was taken over meanwhile
            # (the other request then finds the key and gets the same receipt)
            s.execute(update(Letter).where(Letter.id == letter_id, Letter.state != "filed")
                      .values(state="filed", filing_error=None, filing_objid=receipt.objid,
                              filing_objname=receipt.objname, filed_at=now, updated_at=now,
                              filing_next_attempt_at=None, filing_claimed_at=None, filing_claimed_by=None)
                      .execution_options(synchronize_session=False))
            self._audit(s, principal, "letter_file", letter_id, "already_filed" if receipt.already_filed else "filed")
            s.commit()
            log.info("letter %s filed as %s", letter_id, receipt.objid)
            return self._view(s, s.get(Letter, letter_id))

    def _await_filing(self, principal: Principal, letter_id: str) -> dict[str, Any]:
        """A simultaneous request: wait (up to ``filing_wait_s``) for the request that holds the claim,
        then answer with its outcome: the same receipt, the same "waiting" state or the same refusal."""
        deadline = time.monotonic() + self.filing_wait_s
        while True:
            with self.Session() as s:
                letter = self._letter(s, letter_id, principal)
                state, error, by = letter.state, letter.filing_error, letter.filing_claimed_by
                view = self._view(s, letter) if state != "filing" else None
            if state != "filing" or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        if state == "filing":
            self._audit_now(principal, "letter_file", letter_id, "in_progress")
            raise LetterStateError(
                "Das Schreiben wird bereits in der E-Akte abgelegt"
                + (f" (Ablage gestartet von {by})" if by else "")
                + ". Es wird nur einmal abgelegt. Bitte laden Sie es in einigen Sekunden neu, um die Quittung "
                "zu sehen.")
        self._audit_now(principal, "letter_file", letter_id, "joined_" + state)
        if state == "approved" and error:
            raise FilingError(f"Die E-Akte hat die Ablage abgelehnt: {error}")
        assert view is not None
        return view

    def retry_pending(self, principal: Principal | None = None, *, due_only: bool = False) -> list[dict[str, Any]]:
        """Try again to file every letter waiting in ``to_be_filed`` (and letters whose filing claim is
        stale); returns one line per letter. ``due_only``: only those whose next attempt is due (the
        background job); without it ("jetzt erneut versuchen") every waiting letter is tried now."""
        principal = principal or SYSTEM
        now = utcnow()
        waiting = Letter.state == "to_be_filed"
        if due_only:
            waiting = and_(waiting, or_(Letter.filing_next_attempt_at.is_(None), Letter.filing_next_attempt_at <= now))
        stale = and_(Letter.state == "filing", Letter.filing_claimed_at < now - timedelta(seconds=self.claim_ttl_s))
        with self.Session() as s:
            ids = list(s.scalars(self._visible(select(Letter.id).where(or_(waiting, stale)), principal)
                                 .order_by(Letter.updated_at)).all())
        if ids and self.efile is None:
            raise FeatureUnavailable("Die E-Akte ist nicht angebunden: Ablage nicht möglich.")
        results = []
        for letter_id in ids:
            token = self._claim(principal, letter_id, due_only=due_only)
            if token is None:  # another request or process got it first
                with self.Session() as s:
                    view = self._view(s, s.get(Letter, letter_id))
            else:
                try:
                    view = self._file_claimed(principal, letter_id, token, raise_refusal=False)
                except LetterError as exc:
                    log.warning("letter %s: filing retry failed: %s", letter_id, type(exc).__name__)
                    with self.Session() as s:
                        view = self._view(s, s.get(Letter, letter_id))
            results.append({"id": letter_id, "state": view["state"], "objid": view["filing"]["objid"],
                            "error": view["filing"]["error"], "next_attempt_at": view["filing"]["next_attempt_at"]})
        return results

    # -- background retry --------------------------------------------------------------
    def start_filing_retry(self, interval_s: float | None = None) -> FilingRetrier | None:
        """Start the background retry of waiting letters (once per service; none without e-file)."""
        if self.efile is None:
            return None
        with self._retrier_lock:
            if self._retrier is None or not self._retrier.alive:
                self._retrier = FilingRetrier(self, interval_s or self.retry_interval_s)
                self._retrier.start()
            return self._retrier

    def stop_filing_retry(self) -> None:
        with self._retrier_lock:
            retrier, self._retrier = self._retrier, None
        if retrier is not None:
            retrier.stop()


class FilingRetrier:
    """Background thread (started by ``lotse serve``): every ``interval_s`` it files the letters whose
    next attempt is due. Safe with several processes on one database: each letter is claimed first."""

    def __init__(self, service: LetterService, interval_s: float = 5.0):
        self.service, self.interval_s = service, interval_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="lotse-filing-retry", daemon=True)
        self._thread.start()
        log.info("background filing retry started (every %.0f s)", self.interval_s)

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def run_once(self) -> list[dict[str, Any]]:
        results = self.service.retry_pending(SYSTEM, due_only=True)
        self.runs += 1
        for r in results:
            log.info("filing retry: letter %s -> %s", r["id"], r["state"])
        return results

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.run_once()
            except Exception as exc:  # noqa: BLE001 - the job must survive a database or e-file hiccup
                log.warning("filing retry failed: %s", type(exc).__name__)


def filed_title(title: str, fields: dict[str, Any]) -> str:
    """The document title in the e-file: an Ablehnungsbescheid whose reasons are a Versagung (§ 66 SGB I)
    is a Versagungsbescheid, as its Tenor and Betreff say."""
    versagung = any(isinstance(item, dict) and item.get("entscheidung") == "versagung"
                    for value in fields.values() if isinstance(value, list) for item in value)
    return title.replace("Ablehnungsbescheid", "Versagungsbescheid") if versagung else title
