"""Configuration of the e-file connector."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr


class EFileConfig(BaseModel):
    """Where and how to reach the e-file; ``kind="none"`` switches the e-file off.

    ``kind="eakte_rest"``: the REST interface (EAI) at ``url``. ``kind="xdomea"``: read-only import of
    XDOMEA 2.3, 2.4 and 3.x export packages (ZIP files) from ``xdomea_dir`` (see ``docs/xdomea.md``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["eakte_rest", "xdomea", "none"] = "none"
    url: str = "http://127.0.0.1:8765"  # root of the EAI service; the API lives under /api
    user: str = ""
    password: SecretStr = SecretStr("")
    timeout_s: float = Field(default=10.0, gt=0)
    retries: int = Field(default=2, ge=0, le=10)
    userlogin: str = "lotse"
    joboe: str | None = None
    jobposition: str | None = "OfficialInCharge"
    # kind "xdomea": directory with the XDOMEA ZIP packages ("" means unset, never the current directory)
    xdomea_dir: Annotated[Path | None, BeforeValidator(lambda v: v or None)] = None
