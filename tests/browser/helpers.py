"""Helpers of the browser tests: screenshots kept as artefacts, axe-core accessibility check."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

HERE = Path(__file__).resolve().parent
AXE_JS = HERE / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"


def screenshot(page, name: str) -> Path:
    """Full-page screenshot kept as a test artefact under test-artifacts/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def check_accessibility(page, name: str) -> list[dict]:
    """Run axe-core (WCAG 2.0/2.1 A and AA rules) on the page; fail on serious or critical violations."""
    if not AXE_JS.exists():
        if os.environ.get("CI"):
            pytest.fail(f"axe-core fehlt ({AXE_JS}); scripts/test.sh muss 'npm ci' in tests/browser ausführen")
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("axe-core fehlt und npm ist nicht vorhanden")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True, timeout=300,
                       capture_output=True)
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
                                           resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                                       nodes: v.nodes.map(n => ({target: n.target, html: n.html.slice(0, 300),
                                                                 summary: n.failureSummary}))}));
    }""")
    bad = [v for v in result if v["impact"] in ("serious", "critical")]
    if result:
        out = SCREENSHOTS.parent / "axe"
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{name}.json").write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    if bad:
        lines = []
        for v in bad:
            lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
            for n in v["nodes"][:5]:
                lines.append(f"    {n['target']}: {n['summary']}\n      {n['html']}")
        print("\n".join(lines), file=sys.stderr)
        pytest.fail(f"axe: {len(bad)} schwere Barrierefreiheitsfehler auf {name}:\n" + "\n".join(lines))
    return result
