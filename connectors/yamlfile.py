"""Reading a YAML file the city edits (procedure catalog, office file): one mapping, German errors."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml


def read_mapping(path: Path, what: str, expected: str, error: type[Exception]) -> Mapping[str, Any]:
    """The top-level mapping of ``path``; otherwise ``error`` with a German message naming ``what`` (e.g.
    "Der Verfahrenskatalog"), the file, and the line of a syntax error; ``expected`` names the keys."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(f"{what} {path} kann nicht gelesen werden ({exc.strerror}).") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (Zeile {mark.line + 1})" if mark is not None else ""
        raise error(f"{what} {path} ist kein gültiges YAML{where}.") from exc
    if not isinstance(data, dict):
        raise error(f"{what} {path} enthält keine Zuordnung ({expected}).")
    return data
