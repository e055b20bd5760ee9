"""Build the configured e-file connector (lazy import per kind)."""

from __future__ import annotations

from .config import EFileConfig
from .protocol import EFileConnector


def build_connector(cfg: EFileConfig) -> EFileConnector | None:
    """Return a connector for ``cfg``, or ``None`` when the e-file is switched off."""
    if cfg.kind == "none":
        return None
    if cfg.kind == "eakte_rest":
        from .eakte_rest import EAkteRestClient

        return EAkteRestClient(
            base_url=cfg.url,
            user=cfg.user,
            password=cfg.password.get_secret_value(),
            timeout=cfg.timeout_s,
            retries=cfg.retries,
            userlogin=cfg.userlogin,
            joboe=cfg.joboe,
            jobposition=cfg.jobposition,
        )
    if cfg.kind == "xdomea":
        from .xdomea import XdomeaConnector

        return XdomeaConnector(cfg.xdomea_dir)
    raise ValueError(f"Unbekannte E-Akten-Anbindung: {cfg.kind}")
