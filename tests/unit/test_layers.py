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


def test_every_setting_is_documented_in_the_readme():
    from lotse.settings import Settings

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in Settings.model_fields:
        assert f"LOTSE_{name.upper()}" in readme, name
