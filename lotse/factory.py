"""Builds the layers from settings: the one place where configuration becomes objects."""

from __future__ import annotations

import os

from .settings import Settings


def build_knowledge_base(settings: Settings):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    from indexer import KnowledgeBase

    return KnowledgeBase(settings.index, settings.data_dir)


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
                    efile=_FROM_SETTINGS, engine=None):
    from assistant import Assistant

    kb = kb or build_knowledge_base(settings)
    if ensure_corpus:
        kb.ensure_demo_corpus(progress=progress)
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


def build_services(settings: Settings, accounts=None, *, engine=None, progress: bool = False):
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
    assistant = build_assistant(settings, progress=progress, efile=efile, engine=engine)
    return Services(settings=settings, accounts=accounts or build_accounts(settings, engine), assistant=assistant,
                    letters=build_letter_service(settings, assistant.kb, assistant.provider, efile=efile,
                                                 engine=engine),
                    training=TrainingService(assistant.Session, assistant.kb),
                    report=ReportService(assistant.Session),
                    library=PolicyLibrary(assistant.kb, settings.data_dir / "policy", assistant.Session))
