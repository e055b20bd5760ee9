"""German prompt templates from files under prompts/ (never inline strings)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from .errors import ConfigurationError

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "prompts"
_FILES = {"system": "system.txt", "answer": "answer.txt", "condense": "condense.txt", "refusal": "refusal.txt",
          "plain_language": "plain_language.txt"}


@dataclass(frozen=True)
class Prompts:
    system: str
    answer: str
    condense: str
    refusal: str
    plain_language: str
    extractive: dict[str, str]
    shapes: dict[str, str]  # answer shape per question type (answer_shapes.yaml)


@lru_cache(maxsize=8)
def load_prompts(directory: Path | None = None) -> Prompts:
    d = Path(directory) if directory else DEFAULT_DIR
    texts: dict[str, str] = {}
    for key, name in _FILES.items():
        path = d / name
        try:
            texts[key] = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigurationError(f"Prompt-Datei fehlt: {path} (LOTSE_ASSISTANT__PROMPTS_DIR prüfen).") from exc
    yamls: dict[str, dict[str, str]] = {}
    for key, name in (("extractive", "extractive.yaml"), ("shapes", "answer_shapes.yaml")):
        try:
            yamls[key] = yaml.safe_load((d / name).read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigurationError(f"Prompt-Datei fehlt oder ist ungültig: {d / name}") from exc
    return Prompts(**yamls, **texts)
