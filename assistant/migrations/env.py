"""Alembic environment of Lotse (see ``assistant.migrations``; configured in code, no alembic.ini).

Online: on ``config.attributes["connection"]`` if given (its transaction is used; the caller commits),
else on ``sqlalchemy.url`` or the ``LOTSE_DATABASE_URL`` environment variable. Offline (``--sql``):
renders the SQL for that URL's dialect.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine, pool

from assistant.migrations import target_metadata

config = context.config
metadata = target_metadata()


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("LOTSE_DATABASE_URL")
    if not url:
        raise RuntimeError("No database for the migrations: pass a URL to assistant.migrations.alembic_config() "
                           "or set LOTSE_DATABASE_URL.")
    return url


def _configure(**kw) -> None:
    context.configure(target_metadata=metadata, compare_type=True, **kw)


def run_migrations_offline() -> None:
    url = _url()
    _configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"},
               render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()


def _run_on(connection) -> None:
    # SQLite cannot ALTER most things: later revisions that change tables get batch mode (copy + rename)
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():  # a no-op when the caller's connection is already in a transaction
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            _run_on(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
