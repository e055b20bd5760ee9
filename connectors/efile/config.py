"""Configuration of the e-file connector."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr


class EFileConfig(BaseModel):
    """Where and how to reach the e-file; ``kind="none"`` switches the e-file off."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["eakte_rest", "none"] = "none"
    url: str = "http://127.0.0.1:8765"  # root of the EAI service; the API lives under /api
    user: str = ""
    password: SecretStr = SecretStr("")
    timeout_s: float = Field(default=10.0, gt=0)
    retries: int = Field(default=2, ge=0, le=10)
    userlogin: str = "lotse"
    joboe: str | None = None
    jobposition: str | None = "OfficialInCharge"
