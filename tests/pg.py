"""Throwaway PostgreSQL databases of the tests (the server is started by scripts/test.sh)."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url


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


def require_server(url: str | None) -> str:
    """The test server's URL; without one the test is skipped, and in CI it fails."""
    if not url:
        msg = "LOTSE_TEST_POSTGRES_URL is not set (scripts/test.sh starts a PostgreSQL server and sets it)"
        if os.environ.get("CI"):
            pytest.fail(msg + " - required in CI")
        pytest.skip(msg)
    return url


@contextmanager
def throwaway_database(server_url: str, prefix: str) -> Iterator[str]:
    """A fresh, empty database on the test server (CREATE DATABASE), dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        drop_database(admin, name)  # ends connections the test may still hold
        admin.dispose()
