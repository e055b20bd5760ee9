"""Builds the layers from settings: the one place where configuration becomes objects."""

from __future__ import annotations

import os

from sqlalchemy.engine import make_url

from .settings import Settings


def catalog_database_url(settings: Settings) -> str | None:
    """Where the index catalog lives: the SQL database when ``LOTSE_DATABASE_URL`` is PostgreSQL (shared by
    every host), else None (``index.sqlite3`` in the data directory, the embedded default)."""
    url = settings.database_url
    if url and make_url(url).get_backend_name() == "postgresql":
        return url
    return None


def build_knowledge_base(settings: Settings, engine=None):
    """The knowledge base; ``engine``: the process's engine of ``LOTSE_DATABASE_URL`` (used for the catalog
    when it lives in that database, so the process keeps one engine per database)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    from indexer import KnowledgeBase

    url = catalog_database_url(settings)
    return KnowledgeBase(settings.index, settings.data_dir, database_url=url,
                         engine=engine if url and engine is not None else None)


#: "build the e-file connector from the settings" (a connector given as ``efile`` may be None: e-file off)
_FROM_SETTINGS = object()


def build_efile(settings: Settings):
    """The e-file connector of the settings, None when the e-file is switched off."""
    from connectors.efile.registry import build_connector

    return build_connector(settings.efile_config())


def build_engine(settings: Settings):
    """The SQLAlchemy engine of the database (schema brought up to date); one per process and database."""
    from assistant.db import make_engine

    return make_engine(settings.db_url())


def build_assistant(settings: Settings, kb=None, *, ensure_corpus: bool = True, progress: bool = False,
                    efile=_FROM_SETTINGS, engine=None, warm_in_background: bool = False):
    """``warm_in_background``: the unit vectors (:mod:`indexer.unit_vectors`) are embedded in a background
    thread instead of before the first answer (the server is ready sooner on first start)."""
    from assistant import Assistant

    kb = kb or build_knowledge_base(settings, engine)
    if ensure_corpus:
        kb.ensure_demo_corpus(progress=progress, warm_units=not warm_in_background)
    if warm_in_background:
        kb.warm_unit_vectors_in_background()
    return Assistant(settings.assistant, settings.llm, kb, engine or settings.db_url(),
                     efile=build_efile(settings) if efile is _FROM_SETTINGS else efile)


def build_letter_service(settings: Settings, kb, provider=None, *, efile=_FROM_SETTINGS, engine=None):
    """Letters need the e-file connector (None when LOTSE_EFILE_URL is unset) and the knowledge base;
    with an LLM provider, plain-language proposals are offered (otherwise shown as unavailable)."""
    from assistant.letters.workflow import LetterService

    rewriter = getattr(provider, "rewrite_plain", None) if provider is not None and provider.is_llm else None
    efile = build_efile(settings) if efile is _FROM_SETTINGS else efile
    return LetterService(engine or settings.db_url(), efile, kb, settings.letters, rewriter=rewriter)


def build_accounts(settings: Settings, engine=None):
    from assistant.accounts import AccountStore
    from assistant.db import make_sessionmaker

    return AccountStore(Session=make_sessionmaker(engine or build_engine(settings)))


def build_services(settings: Settings, accounts=None, *, engine=None, progress: bool = False,
                   warm_in_background: bool = False):
    """Everything ``lotse serve`` serves, built once: accounts (``accounts`` or a store on the database),
    assistant (indexes the demo corpus on first start), letters, policy library, training and report
    (:class:`web_ui.services.Services`, kept on ``app.state.services``); one engine (``engine`` or
    :func:`build_engine`) and one e-file connector for all of them."""
    from assistant.library import PolicyLibrary
    from assistant.report import ReportService
    from assistant.training import TrainingService
    from web_ui.services import Services

    engine = engine or build_engine(settings)
    efile = build_efile(settings)  # one e-file connector for the assistant and the letters
    assistant = build_assistant(settings, progress=progress, efile=efile, engine=engine,
                                warm_in_background=warm_in_background)
    return Services(settings=settings, accounts=accounts or build_accounts(settings, engine), assistant=assistant,
                    letters=build_letter_service(settings, assistant.kb, assistant.provider, efile=efile,
                                                 engine=engine),
                    training=TrainingService(assistant.Session, assistant.kb),
                    report=ReportService(assistant.Session),
                    library=PolicyLibrary(assistant.kb, settings.data_dir / "policy", assistant.Session))
