"""Browser tests: the real system as processes (e-file double + ``lotse serve``), Debian's chromium
driven by Playwright, axe-core for accessibility checks.

Skipped only when chromium is missing and ``CI`` is not set; in CI they must run
(``scripts/test.sh`` installs chromium and axe-core).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import ROOT, copy_demo_index, lotse_cmd, run_lotse_in_process
from tests.integration.efile_fixtures import TECH_USER, DoubleProcess

HERE = Path(__file__).resolve().parent
CHROMIUM = os.environ.get("LOTSE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
PASSWORD = "Browser-Test-2026!"
N_CASES, SEED = 40, 11

#: user name -> (display name, roles, departments)
USERS = {
    "alice": ("Alice Sachbearbeitung", "sachbearbeitung", "S-III"),
    "bernd": ("Bernd Prüfung", "pruefung,sachbearbeitung", "*"),
    "tina": ("Tina Schulung", "schulung", "*"),
    "adam": ("Adam Administration", "administration,schulung", "*"),
}


def _missing_chromium() -> str | None:
    if not (Path(CHROMIUM).exists() and os.access(CHROMIUM, os.X_OK)):
        return f"chromium fehlt ({CHROMIUM})"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python-Paket playwright fehlt"
    return None


def pytest_collection_modifyitems(config, items):
    """Browser tests are slow (``lotse serve``, the e-file double and chromium as real processes).
    Without chromium: skip locally; in CI (``CI`` set) let the ``system`` fixture fail loudly."""
    for item in items:
        if str(item.path).startswith(str(HERE)):
            item.add_marker(pytest.mark.slow)
    reason = _missing_chromium()
    if reason is None or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason=f"Browser-Tests übersprungen: {reason} (in CI Pflicht)")
    for item in items:
        if str(item.path).startswith(str(HERE)):
            item.add_marker(skip)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class System:
    base_url: str
    double: DoubleProcess
    cases: list[dict]
    data_dir: Path
    log: Path
    proc: subprocess.Popen
    env: dict = field(default_factory=dict)

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log.read_text(encoding="utf-8", errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def case(self, procedure_code: str, exclude: set[str] | None = None) -> dict:
        """An active generated case of this procedure type (e.g. ``WG``) not used yet."""
        for c in self.cases:
            if c["procedure_type"] == procedure_code and c.get("state") != "Storniert" \
                    and c["objname"] not in (exclude or set()):
                return c
        raise AssertionError(f"no active {procedure_code} case among the generated ones")


def _clean_env(data_dir: Path, port: int, efile_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOTSE_")}
    env.update({
        "LOTSE_DATA_DIR": str(data_dir), "LOTSE_PORT": str(port), "LOTSE_HOST": "127.0.0.1",
        "LOTSE_EFILE_URL": efile_url, "LOTSE_EFILE_USER": TECH_USER[0], "LOTSE_EFILE_PASSWORD": TECH_USER[1],
        "LOTSE_EFILE_TIMEOUT_S": "30", "HF_HUB_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
    })
    if os.environ.get("LOTSE_LAW_CORPUS"):
        env["LOTSE_LAW_CORPUS"] = os.environ["LOTSE_LAW_CORPUS"]
    return env


@pytest.fixture(scope="session")
def system(tmp_path_factory, demo_index) -> Iterator[System]:
    """E-file double with generated cases, local accounts made with ``lotse user add``, ``lotse serve``
    on a data dir that already holds the demo index (first-start indexing is tested in test_assistant.py)."""
    reason = _missing_chromium()
    if reason:
        pytest.fail(f"Browser-Tests in CI nicht ausführbar: {reason}")
    from connectors.efile.double.generator import generate_cases

    tmp = tmp_path_factory.mktemp("browser-system")
    cases, _planted = generate_cases(N_CASES, SEED)
    cases_file = tmp / "cases.json"
    cases_file.write_text(json.dumps({"cases": cases}, ensure_ascii=False), encoding="utf-8")
    double = DoubleProcess(tmp / "eakte.sqlite3", ["--cases", str(cases_file)]).start()
    data_dir = copy_demo_index(demo_index, tmp / "data")
    port = _free_port()
    env = _clean_env(data_dir, port, double.base_url)
    # templates imported in the administration go to a copy, never into the source tree
    from assistant.letters import TEMPLATES_DIR

    shutil.copytree(TEMPLATES_DIR, tmp / "vorlagen")
    env["LOTSE_LETTERS__TEMPLATES_DIR"] = str(tmp / "vorlagen")
    # `lotse user add` runs main() in this process (its real process is tested in test_auth.py)
    lotse_env = {k: env.get(k) for k in {*env, *os.environ} if k.startswith("LOTSE_")}
    proc = None
    log = tmp / "lotse-serve.log"
    try:
        for name, (display, roles, deps) in USERS.items():
            r = run_lotse_in_process(["user", "add", name, "--name", display, "--roles", roles, "--departments", deps],
                                     env=lotse_env, stdin=PASSWORD + "\n", cwd=tmp)
            assert r.returncode == 0, f"lotse user add {name} fehlgeschlagen:\n{r.stdout}\n{r.stderr}"
        with open(log, "w", encoding="utf-8") as fh:
            proc = subprocess.Popen(lotse_cmd() + ["serve", "--port", str(port)], env=env, cwd=tmp,
                                    stdout=fh, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        sysobj = System(base, double, cases, data_dir, log, proc, env)
        deadline = time.monotonic() + 300
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"lotse serve beendet (Code {proc.returncode}):\n{sysobj.log_tail()}")
            try:
                if httpx.get(base + "/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("lotse serve wurde nicht rechtzeitig bereit:\n" + sysobj.log_tail())
            time.sleep(0.5)
        yield sysobj
    finally:
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        double.stop()


@pytest.fixture(scope="session")
def browser(system):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield b
    finally:
        b.close()
        pw.stop()


class PageErrors(list):
    """JavaScript errors and failed API calls seen by a page (asserted empty at the end of a test)."""


@pytest.fixture
def login(browser, system):
    """``login("alice")`` -> a page logged in through the form, 1280x900, German locale."""
    contexts = []
    pages = []

    def do_login(user: str, path: str = "/"):
        # bypass_csp: axe-core is injected with a script tag; the CSP itself is checked in
        # test_chat.py::test_pages_fit_200_percent_zoom_and_keep_the_csp (context without bypass)
        ctx = browser.new_context(viewport={"width": 1280, "height": 900}, locale="de-DE",
                                  base_url=system.base_url, accept_downloads=True, bypass_csp=True)
        ctx.set_default_timeout(30_000)
        contexts.append(ctx)
        page = ctx.new_page()
        page.js_errors = PageErrors()
        page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))
        page.goto("/login?next=" + quote(path, safe="/"))
        page.get_by_label("Benutzername").fill(user)
        page.get_by_label("Passwort").fill(PASSWORD)
        page.get_by_role("button", name="Anmelden").click()
        page.wait_for_url(re.compile(re.escape(system.base_url + path) + r"(\?.*)?$"))
        page.locator("#nutzer-name").wait_for()
        pages.append(page)
        return page

    yield do_login
    errors = [e for p in pages for e in p.js_errors]
    for ctx in contexts:
        ctx.close()
    assert not errors, "JavaScript-Fehler im Browser:\n" + "\n".join(errors)
