"""Throwaway PostgreSQL databases of the tests (the server is started by scripts/test.sh)."""

from __future__ import annotations

import time

import sqlalchemy as sa


def drop_database(admin: sa.Engine, name: str, timeout_s: float = 15.0) -> None:
    """Drop a test database, ending the connections the test's engines or servers may still hold.

    ``WITH (FORCE)`` may only end backends of the same role: an autovacuum worker that happens to be
    busy in the database makes it fail with InsufficientPrivilege. That worker finishes within
    moments, so the drop is tried again until ``timeout_s``.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except sa.exc.DBAPIError as exc:
            if "pg_signal_backend" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.5)
