"""Application settings: environment variables with the LOTSE_ prefix, or a .env file.

Nested sections use ``__``: ``LOTSE_INDEX__CHROMA__MODE=server``. Unknown keys
fail at start-up, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from platformdirs import user_data_dir
from pydantic import Field, PrivateAttr, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from assistant import AssistantConfig, ExtractiveConfig, LLMConfig, Principal
from assistant.letters.config import LetterConfig
from connectors.efile.config import EFileConfig, EFileSettings
from indexer import IndexConfig
from web_ui.auth_config import AuthConfig


log = logging.getLogger("lotse.settings")

#: keys of the e-file section; before it was nested they were flat settings (LOTSE_EFILE_URL, ...),
#: and those spellings are still accepted
EFILE_KEYS = tuple(EFileSettings.model_fields)


def _default_data_dir() -> Path:
    local = Path.cwd() / "data"
    if local.is_dir():
        return local
    return Path(user_data_dir("lotse", appauthor=False))


class _LegacyEFileEnv(PydanticBaseSettingsSource):
    """The old flat e-file spellings in the environment (``LOTSE_EFILE_URL``) as ``efile_url``.

    The nested section only reads ``LOTSE_EFILE__URL``; the flat names of a ``.env`` file arrive as
    ``lotse_efile_url`` from the dotenv source. ``Settings._legacy_efile`` moves both into ``efile``.
    """

    def __init__(self, settings_cls: type[BaseSettings], env: PydanticBaseSettingsSource):
        super().__init__(settings_cls)
        self._env = env

    def get_field_value(self, field, field_name):  # required by the base class; __call__ does the work
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        env_vars = getattr(self._env, "env_vars", {})
        prefix = str(self.config.get("env_prefix", "")).lower()
        return {f"efile_{key}": env_vars[f"{prefix}efile_{key}"] for key in EFILE_KEYS
                if f"{prefix}efile_{key}" in env_vars}


def _plain(value: Any) -> str:
    return value.get_secret_value() if isinstance(value, SecretStr) else str(value)


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
    assistant: AssistantConfig = Field(default_factory=AssistantConfig, description="Answer pipeline settings")
    llm: LLMConfig = Field(default_factory=ExtractiveConfig, description="LLM provider: kind=extractive "
                           "(default, no model), openai (OpenAI-compatible server) or llamacpp (local GGUF)")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite file lotse.db in "
                                     "the data directory. PostgreSQL: postgresql+psycopg://user:pw@host/db")
    default_user: str = Field("lokal", description="User id of the single-user mode and the CLI")
    default_user_name: str = Field("Lokale Sachbearbeitung", description="Display name of the default user")
    efile: EFileSettings = Field(default_factory=EFileSettings,
                                 description="E-file connection (REST interface or XDOMEA import)")
    letters: LetterConfig = Field(default_factory=LetterConfig, description="Letter templates and letterheads")
    auth: AuthConfig = Field(default_factory=AuthConfig, description="Login, sessions and single sign-on (OIDC)")
    host: str = Field("127.0.0.1", description="Address `lotse serve` listens on")
    port: int = Field(8765, ge=1, le=65535, description="Port `lotse serve` listens on")

    _legacy_efile_names: tuple[str, ...] = PrivateAttr(())

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings,
                                   file_secret_settings):
        return (init_settings, env_settings, _LegacyEFileEnv(settings_cls, env_settings), dotenv_settings,
                file_secret_settings)

    @model_validator(mode="wrap")
    @classmethod
    def _legacy_efile(cls, data: Any, handler):
        """Move the flat e-file spellings (``LOTSE_EFILE_URL``) into the ``efile`` section.

        Environment and init arguments (``efile_url``) come before the ``.env`` file
        (``lotse_efile_url``). A key set in both spellings with different values is an error.
        """
        if not isinstance(data, dict):
            return handler(data)
        data = dict(data)
        legacy: dict[str, Any] = {}
        for key in EFILE_KEYS:
            for name in (f"efile_{key}", f"lotse_efile_{key}"):
                if name in data:
                    legacy.setdefault(key, data.pop(name))
        if legacy:
            nested = data.get("efile")
            if isinstance(nested, EFileSettings):
                nested = nested.model_dump(exclude_unset=True)
            nested = dict(nested) if isinstance(nested, dict) else {}
            clashes = [k for k, v in legacy.items() if k in nested and _plain(nested[k]) != _plain(v)]
            if clashes:
                both = ", ".join(f"LOTSE_EFILE_{k.upper()} / LOTSE_EFILE__{k.upper()}" for k in clashes)
                raise ValueError(
                    f"E-Akte doppelt und verschieden eingestellt ({both}); bitte nur LOTSE_EFILE__… setzen "
                    f"(e-file set twice with different values; please set only LOTSE_EFILE__…)")
            data["efile"] = {**legacy, **nested}
        settings = handler(data)
        if legacy:
            settings.__pydantic_private__["_legacy_efile_names"] = tuple(
                f"LOTSE_EFILE_{k.upper()}" for k in legacy)
        return settings

    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self.data_dir / 'lotse.db'}"

    def efile_config(self) -> EFileConfig:
        if self._legacy_efile_names:
            log.info("Veraltete Schreibweise %s; gültig ist LOTSE_EFILE__<NAME> (z. B. LOTSE_EFILE__URL).",
                     ", ".join(self._legacy_efile_names))
        return self.efile.connector_config()

    def default_principal(self) -> Principal:
        return Principal(self.default_user, self.default_user_name,
                         frozenset({"sachbearbeitung", "pruefung", "schulung", "administration"}), None)


class SettingsError(Exception):
    """Invalid configuration; the message is bilingual and names the variable to fix."""


def load_settings(**overrides) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = "__".join(str(p) for p in err["loc"]).upper()
            if not loc:  # a check of the whole configuration (e.g. one key set in two spellings)
                lines.append(f"  {(err.get('ctx') or {}).get('error', err['msg'])}")
                continue
            if err["loc"][0] == "efile" and len(err["loc"]) > 1:
                loc += f" (oder/or LOTSE_EFILE_{str(err['loc'][1]).upper()})"
            lines.append(f"  LOTSE_{loc}: {err['msg']}")
        raise SettingsError(
            "Ungültige Konfiguration / invalid configuration:\n" + "\n".join(lines)
            + "\nBitte die Umgebungsvariablen oder die .env-Datei korrigieren "
              "(please fix the environment variables or .env)."
        ) from exc
