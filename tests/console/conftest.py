"""The console in a real browser: the gateway and its backends as real processes on 127.0.0.1,
and Debian's chromium driven by Playwright's Python client (`make chromium` installs it).

One gateway serves every test of a module: `analytics` (stdio), `asks` (an in-process backend that
elicits) and `flaky` (an HTTP backend this fixture starts, kills and restarts, probed every
300 ms), with two API keys (`ops`, an admin, and `analyst`, whose view holds analytics only) and
the console refreshing every 250 ms. The audit sink stays off, as in the embedded default: live
calls are recorded because the console is open. Screenshots go to `tests/console/artifacts/`.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect, sync_playwright

from tests.conftest import PYTHON, free_port
from tests.e2e.support import Proc, gateway_command, running, wait_for_http

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
OPS_KEY = "console-ops-key-0123456789"
ANALYST_KEY = "console-analyst-key-0123456789"
WAIT_MS = 20_000
"""How long an expectation may take (health verdicts, process restarts) before it fails."""

CONFIG = """
ui: {{refresh: 250ms, sample_interval: 1s, history: 2m}}
auth:
  api_keys:
    ops: {{key: "${{CONSOLE_OPS_KEY}}", scopes: [admin]}}
    analyst: {{key: "${{CONSOLE_ANALYST_KEY}}"}}
views:
  analysts: {{principals: [analyst], namespaces: [analytics], tools: ["analytics_*"]}}
backends:
  analytics:
    command: [python, -m, backends.analytics]
    session: pooled
  asks:
    module: tests.fakes.faithful
  flaky:
    url: http://127.0.0.1:{flaky_port}/mcp
    mode: legacy
    optional: true
    connect_timeout: 1s
    retry: {{connect_retries: 2}}
    health: {{interval: 300ms, timeout: 250ms, unhealthy_threshold: 1, healthy_threshold: 1}}
workflows:
  describe_twice:
    description: Describe a list, then describe its mean and median.
    inputs:
      label: {{type: string, default: sample}}
    steps:
      stats:
        call: analytics_analyze_dataset
        arguments: {{values: [10, 25, 30, 45, 50, 65, 70, 85, 90, 100]}}
      ranked:
        call: analytics_transform_data
        arguments: {{records: [{{v: 2}}, {{v: 1}}], operation: sort_by, key: v}}
      again:
        call: analytics_analyze_dataset
        arguments: {{values: ["{{{{ steps.stats.mean }}}}", "{{{{ steps.stats.median }}}}"]}}
"""

expect.set_options(timeout=WAIT_MS)


@dataclass
class Topology:
    """The running gateway, and the HTTP backend a test may kill."""

    base: str
    work: Path
    flaky_port: int
    flaky: Proc
    restarts: int = 0

    def kill_flaky(self) -> None:
        self.flaky.kill()

    def restart_flaky(self) -> None:
        self.restarts += 1
        self.flaky = start_flaky(self.flaky_port, self.work / f"flaky-{self.restarts}.log")


def start_flaky(port: int, log: Path) -> Proc:
    proc = Proc([PYTHON, "-m", "tests.fakes.echo", "--transport", "http", "--port", str(port)], log=log)
    wait_for_http(proc, f"http://127.0.0.1:{port}/mcp")
    return proc


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    work = tmp_path_factory.mktemp("console")
    flaky_port, port = free_port(), free_port()
    config = work / "gateway.yaml"
    config.write_text(CONFIG.format(flaky_port=flaky_port))
    flaky = start_flaky(flaky_port, work / "flaky-0.log")
    topology = Topology(f"http://127.0.0.1:{port}", work, flaky_port, flaky)
    try:
        with running(
            gateway_command(config, "run", "--port", str(port)),
            log=work / "gateway.log",
            ready_url=f"http://127.0.0.1:{port}/readyz",
            expect_status=200,
            env={"CONSOLE_OPS_KEY": OPS_KEY, "CONSOLE_ANALYST_KEY": ANALYST_KEY},
        ):
            yield topology
    finally:
        topology.flaky.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium, for one module's tests: Playwright's sync API keeps an event loop running in this
    thread while it is open, which async tests elsewhere cannot share."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("chromium is not installed: run `make chromium` (`make test` does it)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield launched
        launched.close()


@dataclass
class Watched:
    """A page, with every console error and uncaught exception it produced."""

    page: Page
    errors: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({message.location.get('url', '')})")


@pytest.fixture
def watched(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    seen = Watched(page)
    page.on("console", seen.on_console)
    page.on("pageerror", lambda error: seen.errors.append(f"pageerror: {error}"))
    try:
        yield seen
    finally:
        context.close()


def sign_in(page: Page, base: str, key: str, path: str = "/ui/backends") -> None:
    """Open the console at `path` and sign in with `key` through the page's own form."""
    page.goto(base + path)
    form = page.get_by_test_id("signin")
    expect(form).to_be_visible()
    page.get_by_test_id("signin-key").fill(key)
    form.get_by_role("button", name="Sign in").click()
    expect(page.locator("#nav")).to_be_visible()


def shot(page: Page, name: str) -> Path:
    """A full-page screenshot, kept as a test artifact."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
