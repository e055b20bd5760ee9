"""Application settings: environment variables with the LOTSE_ prefix, or a .env file.

Nested sections use ``__``: ``LOTSE_INDEX__CHROMA__MODE=server``. Unknown keys
fail at start-up, so a typo never silently falls back to a default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from platformdirs import user_data_dir
from pydantic import BeforeValidator, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from assistant import AssistantConfig, ExtractiveConfig, LLMConfig, Principal
from assistant.letters.config import LetterConfig
from connectors.efile.config import EFileConfig
from indexer import IndexConfig
from web_ui.auth_config import AuthConfig


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
    assistant: AssistantConfig = Field(default_factory=AssistantConfig, description="Answer pipeline settings")
    llm: LLMConfig = Field(default_factory=ExtractiveConfig, description="LLM provider: kind=extractive "
                           "(default, no model), openai (OpenAI-compatible server) or llamacpp (local GGUF)")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default: SQLite file lotse.db in "
                                     "the data directory. PostgreSQL: postgresql+psycopg://user:pw@host/db")
    default_user: str = Field("lokal", description="User id of the single-user mode and the CLI")
    default_user_name: str = Field("Lokale Sachbearbeitung", description="Display name of the default user")
    efile_url: str | None = Field(None, description="Root URL of the e-file REST interface (EAI); unset: no e-file")
    efile_user: str = Field("", description="Technical user of the e-file interface")
    efile_password: SecretStr = Field(SecretStr(""), description="Password of the technical user")
    efile_userlogin: str = Field("lotse", description="Acting user sent in the 'userlogin' header")
    efile_joboe: str | None = Field(None, description="COO address of the user's OE ('joboe' header)")
    efile_timeout_s: float = Field(10.0, gt=0, description="Seconds per e-file request")
    efile_kind: Literal["eakte_rest", "xdomea"] = Field(
        "eakte_rest", description="E-file connector: eakte_rest (REST interface at LOTSE_EFILE_URL) or xdomea "
        "(read-only import of XDOMEA 2.3, 2.4 and 3.x export packages from LOTSE_EFILE_XDOMEA_DIR)")
    # an empty LOTSE_EFILE_XDOMEA_DIR means unset (not the current directory)
    efile_xdomea_dir: Annotated[Path | None, BeforeValidator(lambda v: v or None)] = Field(
        None, description="Directory with XDOMEA export packages (*.zip), used when LOTSE_EFILE_KIND=xdomea")
    letters: LetterConfig = Field(default_factory=LetterConfig, description="Letter templates and letterheads")
    auth: AuthConfig = Field(default_factory=AuthConfig, description="Login, sessions and single sign-on (OIDC)")
    host: str = Field("127.0.0.1", description="Address `lotse serve` listens on")
    port: int = Field(8765, ge=1, le=65535, description="Port `lotse serve` listens on")

    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{self.data_dir / 'lotse.db'}"

    def efile_config(self) -> EFileConfig:
        if self.efile_kind == "xdomea":
            # without LOTSE_EFILE_XDOMEA_DIR every e-file call answers with a German message naming it
            return EFileConfig(kind="xdomea", xdomea_dir=self.efile_xdomea_dir)
        if not self.efile_url:
            return EFileConfig(kind="none")
        return EFileConfig(kind="eakte_rest", url=self.efile_url, user=self.efile_user,
                           password=self.efile_password, userlogin=self.efile_userlogin, joboe=self.efile_joboe,
                           timeout_s=self.efile_timeout_s)

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
            lines.append(f"  LOTSE_{loc}: {err['msg']}")
        raise SettingsError(
            "Ungültige Konfiguration / invalid configuration:\n" + "\n".join(lines)
            + "\nBitte die Umgebungsvariablen oder die .env-Datei korrigieren "
              "(please fix the environment variables or .env)."
        ) from exc
