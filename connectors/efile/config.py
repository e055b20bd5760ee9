"""Configuration of the e-file connector.

:class:`EFileSettings` is the ``efile`` section of the settings (``LOTSE_EFILE__URL``,
``LOTSE_EFILE__KIND``, ...); :meth:`EFileSettings.connector_config` turns it into the
:class:`EFileConfig` the connectors are built from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, SecretStr

#: "" means unset (never the current directory)
_OptionalDir = Annotated[Path | None, BeforeValidator(lambda v: v or None)]


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
    xdomea_dir: _OptionalDir = None


class EFileSettings(BaseModel):
    """The ``efile`` settings section (``LOTSE_EFILE__<KEY>``; the older flat ``LOTSE_EFILE_<KEY>``
    spellings are accepted too, see ``lotse.settings``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str | None = Field(None, description="Root URL of the e-file REST interface (EAI); unset: no e-file")
    user: str = Field("", description="Technical user of the e-file interface")
    password: SecretStr = Field(SecretStr(""), description="Password of the technical user")
    userlogin: str = Field("lotse", description="Acting user sent in the 'userlogin' header")
    joboe: str | None = Field(None, description="COO address of the user's OE ('joboe' header)")
    timeout_s: float = Field(10.0, gt=0, description="Seconds per e-file request")
    kind: Literal["eakte_rest", "xdomea"] = Field(
        "eakte_rest", description="E-file connector: eakte_rest (REST interface at LOTSE_EFILE__URL) or xdomea "
        "(read-only import of XDOMEA 2.3, 2.4 and 3.x export packages from LOTSE_EFILE__XDOMEA_DIR)")
    xdomea_dir: _OptionalDir = Field(
        None, description="Directory with XDOMEA export packages (*.zip), used when LOTSE_EFILE__KIND=xdomea")

    def connector_config(self) -> EFileConfig:
        if self.kind == "xdomea":
            # without a directory every e-file call answers with a German message naming the variable
            return EFileConfig(kind="xdomea", xdomea_dir=self.xdomea_dir)
        if not self.url:
            return EFileConfig(kind="none")
        return EFileConfig(kind="eakte_rest", url=self.url, user=self.user, password=self.password,
                           userlogin=self.userlogin, joboe=self.joboe, timeout_s=self.timeout_s)
