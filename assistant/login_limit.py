"""Rate limit of failed logins, kept in the SQL database so that every server process on the same
database (``LOTSE_DATABASE_URL``; several ``lotse serve`` behind a load balancer) counts the same attempts.

A sliding window per key (``user:<name>``, ``addr:<client address>``): a key is blocked while it has
``attempts`` or more failures within the last ``window_s`` seconds. Keys are stored as SHA-256 hashes,
and failures older than the window are deleted, so the table holds no user names or addresses in clear
and stays small. Times are wall-clock UTC (shared between hosts; keep their clocks in sync, e.g. NTP).
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, func, select

from .db import LoginFailure


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class LoginLimiter:
    """Sliding-window count of failed logins per key, shared through the database of ``Session``."""

    def __init__(self, attempts: int, window_s: int, Session):
        self.attempts, self.window = attempts, timedelta(seconds=window_s)
        self.Session = Session

    @staticmethod
    def _now() -> datetime:
        return datetime.now(timezone.utc)

    def blocked(self, *keys: str) -> bool:
        since = self._now() - self.window
        with self.Session() as s:
            for k in keys:
                n = s.scalar(select(func.count()).select_from(LoginFailure)
                             .where(LoginFailure.key == _hash(k), LoginFailure.at >= since)) or 0
                if n >= self.attempts:
                    return True
        return False

    def fail(self, *keys: str) -> None:
        now = self._now()
        with self.Session() as s:
            s.execute(delete(LoginFailure).where(LoginFailure.at < now - self.window))
            s.add_all(LoginFailure(key=_hash(k), at=now) for k in keys)
            s.commit()

    def reset(self, key: str) -> None:
        with self.Session() as s:
            s.execute(delete(LoginFailure).where(LoginFailure.key == _hash(key)))
            s.commit()
