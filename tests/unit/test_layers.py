"""Imports go one way: web_ui -> assistant -> indexer -> connectors (lotse/ is the entry layer on top)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ORDER = ["lotse", "web_ui", "assistant", "indexer", "connectors"]


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


def test_no_layer_imports_a_layer_above_it():
    violations = []
    for i, layer in enumerate(ORDER):
        above = set(ORDER[:i])
        for path in (ROOT / layer).rglob("*.py"):
            bad = imported_packages(path) & above
            if bad:
                violations.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert violations == []


def _sections(annotation) -> list[type]:
    """Settings models a field's type is made of (``IndexConfig``, the union of LLM configs);
    a dict or list of models (``behoerden``) is one JSON value, not a section."""
    import typing

    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (dict, list, tuple, set, frozenset):
        return []
    return [m for arg in typing.get_args(annotation) for m in _sections(arg)]


def _setting_names(model, prefix: str = "LOTSE_") -> list[tuple[str, str]]:
    """(section prefix, key) of every leaf setting, e.g. ("LOTSE_INDEX__CHROMA__", "PORT")."""
    out: list[tuple[str, str]] = []
    for name, field in model.model_fields.items():
        sections = _sections(field.annotation)
        if not sections:
            out.append((prefix, name.upper()))
        for section in sections:
            out.extend(n for n in _setting_names(section, f"{prefix}{name.upper()}__") if n not in out)
    return out


def test_every_setting_is_documented_in_the_readme():
    """Every setting, nested keys included: by its full name, or as ``..__KEY`` in a table row that
    names a sibling (``LOTSE_INDEX__CHROMA__HOST``, ``..__PORT``)."""
    from lotse.settings import Settings

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("|")]
    names = _setting_names(Settings)
    assert ("LOTSE_INDEX__CHROMA__", "PORT") in names and ("LOTSE_EFILE__", "XDOMEA_DIR") in names
    missing = [f"{prefix}{key}" for prefix, key in names
               if f"`{prefix}{key}`" not in readme
               and not any(f"`..__{key}`" in row and f"`{prefix}" in row for row in rows)]
    assert missing == []


def test_the_code_is_ruff_clean():
    """`ruff check` with the project's rules (pyproject: pycodestyle errors/warnings, pyflakes: unused
    imports and names, undefined names, line length 130) finds nothing."""
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", "."],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-1000:]
