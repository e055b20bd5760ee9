"""Policy documents from folders: discovery, metadata conventions, content hashes.

Metadata (department/Sachgebiet, document type, title) comes, in this order, from
a sidecar ``<file>.meta.yaml``, from ``_meta.yaml`` files in the folder or its
parents (inside the indexed root), and from the folder convention
``<root>/<department>/...`` when the first folder looks like a department id.
Loaders may add more (Markdown front matter, HTML meta tags) for what is missing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .errors import SourceUnavailable

log = logging.getLogger(__name__)

SIDECAR_SUFFIX = ".meta.yaml"
FOLDER_META = "_meta.yaml"
_DEPARTMENT_DIR = re.compile(r"^[A-Z]{1,4}(-[A-Z0-9]{1,5})+$")  # S-I, S-III, S-Z, SOZ-WG


@dataclass(frozen=True)
class SourceFile:
    path: Path
    source: str  # path relative to the indexed root, posix
    size: int
    meta: dict[str, str] = field(default_factory=dict)
    sidecar_digest: str = ""


def _read_yaml(path: Path) -> dict[str, str]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        log.warning("metadata file unreadable: %s (%s)", path.name, type(exc).__name__)
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k).lower(): str(v) for k, v in data.items() if v is not None}


def scan_folder(root: Path, suffixes: tuple[str, ...]) -> list[SourceFile]:
    """All supported files below root (or root itself when it is a file), sorted."""
    root = Path(root)
    if not root.exists():
        raise SourceUnavailable(f"Der Pfad {root} existiert nicht.")
    if root.is_file():
        files, base = [root], root.parent
    else:
        base = root
        files = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in sorted(filenames):
                if name.startswith((".", "~$")) or name.endswith(SIDECAR_SUFFIX) or name == FOLDER_META:
                    continue
                if name.lower().endswith(suffixes):
                    files.append(Path(dirpath) / name)
    folder_cache: dict[Path, dict[str, str]] = {}

    def folder_meta(folder: Path) -> dict[str, str]:
        if folder in folder_cache:
            return folder_cache[folder]
        meta: dict[str, str] = {}
        if folder != base and base in folder.parents:
            meta.update(folder_meta(folder.parent))
        elif folder != base:
            pass
        f = folder / FOLDER_META
        if f.is_file():
            meta.update(_read_yaml(f))
        folder_cache[folder] = meta
        return meta

    out: list[SourceFile] = []
    for path in files:
        rel = path.relative_to(base).as_posix()
        meta: dict[str, str] = {}
        first = rel.split("/", 1)[0] if "/" in rel else ""
        if first and _DEPARTMENT_DIR.match(first):
            meta["department"] = first
        meta.update(folder_meta(path.parent))
        sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
        digest = ""
        if sidecar.is_file():
            meta.update(_read_yaml(sidecar))
            digest = hashlib.sha256(sidecar.read_bytes()).hexdigest()
        try:
            size = path.stat().st_size
        except OSError:
            continue
        out.append(SourceFile(path, rel, size, meta, digest))
    return out
