"""Application settings: environment variables with the LOTSE_ prefix, or a .env file.

Nested sections use ``__``: ``LOTSE_INDEX__CHROMA__MODE=server``. Unknown keys
fail at start-up, so a typo never silently falls back to a default.
"""

from __future__ import annotations

from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from indexer import IndexConfig


def _default_data_dir() -> Path:
    local = Path.cwd() / "data"
    if local.is_dir():
        return local
    return Path(user_data_dir("lotse", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LOTSE_", env_nested_delimiter="__", env_file=".env", env_file_encoding="utf-8",
        extra="forbid", frozen=True,
    )

    data_dir: Path = Field(default_factory=_default_data_dir,
                           description="Where Lotse stores everything (index, database). "
                           "Default: ./data if it exists, else the user's data directory.")
    log_level: str = Field("INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$", description="Log level")
    index: IndexConfig = Field(default_factory=IndexConfig, description="Knowledge base settings")


class SettingsError(Exception):
    """Invalid configuration; the message is bilingual and names the variable to fix."""


def load_settings(**overrides) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = "__".join(str(p) for p in err["loc"]).upper()
            lines.append(f"  LOTSE_{loc}: {err['msg']}")
        raise SettingsError(
            "Ungültige Konfiguration / invalid configuration:\n" + "\n".join(lines)
            + "\nBitte die Umgebungsvariablen oder die .env-Datei korrigieren "
              "(please fix the environment variables or .env)."
        ) from exc
