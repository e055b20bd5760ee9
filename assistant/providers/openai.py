"""Any OpenAI-compatible server (vLLM, llama.cpp server, Ollama, the city's gateway) via langchain-openai."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from indexer import Hit

from ..errors import ProviderError
from ..question_types import question_type
from .base import DEFAULT_TIMEOUT_S, format_context

log = logging.getLogger(__name__)


def _escape(template: str) -> str:
    """Prompt files use {context}/{question}; other braces are literal."""
    return template.replace("{", "{{").replace("}", "}}").replace("{{context}}", "{context}") \
        .replace("{{question}}", "{question}").replace("{{history}}", "{history}").replace("{{text}}", "{text}") \
        .replace("{{shape}}", "{shape}")


def build_chains(llm, prompts):
    answer = ChatPromptTemplate.from_messages(
        [("system", _escape(prompts.system)), ("human", _escape(prompts.answer))]) | llm | StrOutputParser()
    condense = ChatPromptTemplate.from_messages([("human", _escape(prompts.condense))]) | llm | StrOutputParser()
    plain = ChatPromptTemplate.from_messages([("human", _escape(prompts.plain_language))]) | llm | StrOutputParser()
    return answer, condense, plain


class LangChainProvider:
    """Shared streaming/condensing over a LangChain chat model; errors become ProviderError."""

    is_llm = True
    name = "llm"
    timeout_s = DEFAULT_TIMEOUT_S  # the assistant sets the configured one

    def __init__(self, llm, prompts, describe: str):
        self._answer, self._condense, self._plain = build_chains(llm, prompts)
        self._shapes = prompts.shapes
        self._describe = describe

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str]:
        try:
            shape = self._shapes.get(question_type(question), self._shapes["other"])
            for token in self._answer.stream({"context": format_context(hits), "question": question,
                                              "shape": shape}):
                if token:
                    yield token
        except ProviderError:
            raise
        except Exception as exc:  # every client error (connect, timeout, HTTP status) is a fallback reason
            raise ProviderError(_reason(exc, self._describe)) from exc

    def condense(self, question: str, history: list[tuple[str, str]]) -> str | None:
        text = "\n".join(f"{'Frage' if role == 'user' else 'Antwort'}: {content[:500]}" for role, content in history)
        try:
            out = self._condense.invoke({"history": text, "question": question}).strip()
        except Exception as exc:  # noqa: BLE001 - condensing is best effort; rules take over
            log.warning("condense failed: %s", type(exc).__name__)
            return None
        out = out.splitlines()[0].strip() if out else ""
        return out if 5 <= len(out) <= 400 else None


    def rewrite_plain(self, text: str) -> str:
        """Plain-language proposal for a letter text (raises ProviderError; the caller says 'unavailable')."""
        try:
            out = self._plain.invoke({"text": text}).strip()
        except Exception as exc:  # noqa: BLE001
            raise ProviderError(_reason(exc, self._describe)) from exc
        if not out:
            raise ProviderError("Das Sprachmodell hat keinen Text geliefert")
        return out


def _reason(exc: Exception, where: str) -> str:
    name = type(exc).__name__
    if "Timeout" in name:
        return f"Zeitüberschreitung bei {where}"
    if "Connection" in name or "Connect" in name:
        return f"{where} nicht erreichbar"
    return f"Fehler bei {where} ({name})"


class OpenAIProvider(LangChainProvider):
    name = "openai"

    def __init__(self, cfg, prompts, **_):
        from langchain_openai import ChatOpenAI

        llm = ChatOpenAI(base_url=cfg.base_url, model=cfg.model, api_key=cfg.api_key.get_secret_value(),
                         timeout=cfg.timeout_s, max_retries=0, max_tokens=cfg.max_tokens,
                         temperature=cfg.temperature, streaming=True,
                         # langchain-openai sends max_tokens as max_completion_tokens, which llama.cpp's
                         # server (and other OpenAI-compatible servers) ignore: send the classic field too
                         extra_body={"max_tokens": cfg.max_tokens})
        super().__init__(llm, prompts, f"dem Sprachmodell-Server {cfg.base_url}")
