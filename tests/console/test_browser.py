"""The operator console, in a real browser against a real gateway (see conftest.py): every page
loads cleanly, the playground calls through `/mcp`, live calls show the call, a killed backend
turns unhealthy and recovers, an elicitation is answered in the page, and access is enforced."""

from __future__ import annotations

import json
import re

import httpx2
import pytest
from playwright.sync_api import Page, expect

from tests.console.conftest import ANALYST_KEY, OPS_KEY, Topology, Watched, shot, sign_in

pytestmark = pytest.mark.e2e

VALUES = "[10, 25, 30, 45, 50, 65, 70, 85, 90, 100]"
PAGES = {
    "backends": '[data-testid="backends"] tbody tr[data-backend="analytics"]',
    "catalog": '[data-testid="budget"]',
    "playground": 'button[data-name="analytics_analyze_dataset"]',
    "calls": '[data-testid="recording"]:has-text("Recording")',
    "charts": '[data-chart="calls_per_s"] canvas',
    "workflows": '[data-testid="graph-describe_twice"] svg [data-step="again"]',
    "config": '[data-testid="effective"] [data-section="backends"]',
}


def open_page(page: Page, name: str) -> None:
    """Go to a console page through its navigation link, and wait until it shows its data."""
    page.locator(f'#nav a[data-page="{name}"]').click()
    expect(page).to_have_url(re.compile(f"/ui/{name}$"))
    expect(page.locator(PAGES[name]).first).to_be_visible()


def run_tool(page: Page, name: str, arguments: dict[str, str]) -> None:
    """Pick a tool in the playground, fill its form and run it."""
    page.locator(f'.items button[data-name="{name}"]').click()
    expect(page.get_by_test_id("selected")).to_have_text(name)
    for argument, value in arguments.items():
        page.locator(f'[data-arg="{argument}"]').fill(value)
    page.get_by_test_id("run").click()


class TestPages:
    def test_every_page_loads_with_no_console_error_and_a_strict_csp(
        self, topology: Topology, watched: Watched
    ) -> None:
        page = watched.page
        policies: dict[str, str | None] = {}
        page.on(
            "response",
            lambda r: (
                policies.__setitem__(r.url, r.headers.get("content-security-policy"))
                if "/ui" in r.url
                else None
            ),
        )
        sign_in(page, topology.base, OPS_KEY)
        for name in PAGES:
            open_page(page, name)
            shot(page, f"page-{name}")
        assert watched.errors == []
        assert policies and all(
            csp is not None and "script-src 'self'" in csp and "'unsafe-inline'" not in csp
            for csp in policies.values()
        ), policies


class TestPlayground:
    def test_analyze_dataset_runs_and_the_call_shows_on_live_calls_with_its_request_id(
        self, topology: Topology, watched: Watched
    ) -> None:
        page = watched.page
        sign_in(page, topology.base, OPS_KEY, "/ui/playground")
        run_tool(page, "analytics_analyze_dataset", {"values": VALUES})
        expect(page.get_by_test_id("state")).to_have_text("done")
        expect(page.get_by_test_id("field-mean")).to_have_text("57")
        expect(page.get_by_test_id("field-median")).to_have_text("57.5")
        expect(page.get_by_test_id("elapsed")).to_have_text(re.compile(r"^\d+\.\d\d s$"))
        structured = json.loads(page.get_by_test_id("structured").inner_text())
        assert structured["mean"] == 57 and structured["median"] == 57.5
        request_id = (page.get_by_test_id("request-id").inner_text()).removeprefix("request ")
        assert request_id.startswith("ui-")
        shot(page, "playground-analyze-dataset")

        open_page(page, "calls")
        row = page.locator(f'[data-testid="calls"] tr[data-request-id="{request_id}"]')
        expect(row).to_contain_text("analytics_analyze_dataset")
        expect(row).to_contain_text("ok")
        expect(row).to_contain_text("ops")
        row.click()
        expect(page.get_by_test_id("call-details")).to_contain_text(request_id)
        expect(page.get_by_test_id("call-details")).to_contain_text("args_sha256")
        page.get_by_test_id("calls-filter").fill("no-such-call")
        expect(row).to_be_hidden()
        shot(page, "calls-after-the-playground")
        assert watched.errors == []

    def test_progress_shows_while_a_tool_runs(self, topology: Topology, watched: Watched) -> None:
        page = watched.page
        sign_in(page, topology.base, OPS_KEY, "/ui/playground?tool=flaky_slow_count")
        expect(page.get_by_test_id("selected")).to_have_text("flaky_slow_count")  # chosen from the URL
        page.locator('[data-arg="n"]').fill("3")
        page.get_by_test_id("run").click()
        expect(page.get_by_test_id("state")).to_have_text("done")
        expect(page.get_by_test_id("progress-message")).to_have_text("3 / 3 · step 3")
        expect(page.get_by_test_id("progress")).to_have_attribute("value", "3")
        expect(page.get_by_test_id("text-block")).to_have_text("3")
        assert watched.errors == []

    def test_an_elicitation_from_a_backend_is_answered_in_the_page(
        self, topology: Topology, watched: Watched
    ) -> None:
        page = watched.page
        sign_in(page, topology.base, OPS_KEY, "/ui/playground")
        run_tool(page, "asks_settings", {})
        dialog = page.get_by_test_id("elicitation")
        expect(dialog).to_be_visible()
        expect(page.get_by_test_id("elicitation-message")).to_have_text("Your settings?")
        shot(page, "playground-elicitation")
        dialog.locator('[data-arg="color"]').select_option(label="blue")
        dialog.locator('[data-arg="size"]').fill("5")
        dialog.get_by_role("button", name="Accept").click()
        expect(page.get_by_test_id("state")).to_have_text("done")
        structured = page.get_by_test_id("structured")
        expect(structured).to_contain_text('"action": "accept"')
        expect(structured).to_contain_text('"color": "blue"')
        expect(structured).to_contain_text('"size": 5')
        assert watched.errors == []

    def test_a_workflow_dry_run_shows_the_resolved_plan(self, topology: Topology, watched: Watched) -> None:
        page = watched.page
        sign_in(page, topology.base, OPS_KEY, "/ui/workflows")
        page.get_by_test_id("dry-run-describe_twice").click()
        plan = page.get_by_test_id("plan")
        expect(plan.locator('tr[data-step="stats"]')).to_contain_text("analytics_analyze_dataset")
        expect(plan.locator('tr[data-step="again"]')).to_contain_text("steps.stats.mean")
        expect(plan.locator('tr[data-step="stats"]')).to_contain_text("yes")
        shot(page, "workflows-dry-run")
        assert watched.errors == []


class TestBackends:
    def test_a_killed_backend_turns_unhealthy_and_recovers(
        self, topology: Topology, watched: Watched
    ) -> None:
        page = watched.page
        sign_in(page, topology.base, OPS_KEY)
        health = page.locator('tr[data-backend="flaky"] [data-field="health"]')
        expect(health).to_have_text(re.compile(r"^healthy"))
        topology.kill_flaky()
        expect(health).to_have_text(re.compile(r"^unhealthy"))
        shot(page, "backends-flaky-down")
        topology.restart_flaky()
        expect(health).to_have_text(re.compile(r"^healthy"))
        expect(page.locator('tr[data-backend="flaky"] [data-field="state"]')).to_have_text("ready")
        shot(page, "backends")


class TestConfig:
    def test_an_admin_checks_the_file_and_a_candidate_and_reloads(
        self, topology: Topology, watched: Watched
    ) -> None:
        page = watched.page
        sign_in(page, topology.base, OPS_KEY, "/ui/config")
        effective = page.get_by_test_id("effective")
        expect(effective.locator('[data-section="auth"]')).to_contain_text("••••••")
        assert OPS_KEY not in effective.inner_text() and ANALYST_KEY not in effective.inner_text()
        page.get_by_test_id("check-file").click()
        expect(page.get_by_test_id("check-result")).to_contain_text("valid")
        page.get_by_test_id("candidate").fill("backends:\n  x:\n    comand: [python]\n")
        page.get_by_test_id("check-text").click()
        problem = page.locator('[data-testid="check-result"] li[data-line="3"]')
        expect(problem).to_contain_text("backends.x.comand")
        expect(problem).to_contain_text("did you mean 'command'")
        expect(page.locator("ol.lines li.bad")).to_contain_text("comand: [python]")
        shot(page, "config-candidate-problem")
        page.get_by_test_id("reload").click()
        expect(page.get_by_test_id("reload-result")).to_contain_text("reloaded")
        assert watched.errors == []


class TestAccess:
    def test_no_key_gets_the_sign_in_prompt_and_a_wrong_key_is_refused(
        self, topology: Topology, watched: Watched
    ) -> None:
        page = watched.page
        page.goto(topology.base + "/ui/config")
        expect(page.get_by_test_id("signin")).to_be_visible()
        expect(page.locator("#nav")).to_be_hidden()
        expect(page.locator("#page table")).to_have_count(0)
        shot(page, "sign-in")
        page.get_by_test_id("signin-key").fill("not-a-key-of-this-gateway")
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_test_id("signin")).to_contain_text("was not accepted")
        assert httpx2.get(topology.base + "/ui/api/backends").status_code == 401

    def test_an_analyst_sees_only_analytics_and_cannot_reach_config_or_reload(
        self, topology: Topology, watched: Watched
    ) -> None:
        page = watched.page
        sign_in(page, topology.base, ANALYST_KEY)
        expect(page.get_by_test_id("who")).to_have_text("analyst")
        rows = page.locator('[data-testid="backends"] tbody tr')
        expect(rows).to_have_count(1)
        expect(rows.first).to_have_attribute("data-backend", "analytics")
        expect(page.locator('#nav a[data-page="config"]')).to_be_hidden()

        open_page(page, "catalog")
        names = page.locator('[data-testid="catalog-tool"] tbody tr').evaluate_all(
            "rows => rows.map(r => r.dataset.name)"
        )
        assert names and all(n.startswith("analytics_") for n in names), names
        open_page(page, "playground")
        listed = page.locator(".items button").evaluate_all("items => items.map(i => i.dataset.name)")
        assert listed and all(n.startswith("analytics_") for n in listed), listed

        page.goto(topology.base + "/ui/config")
        expect(page.get_by_test_id("forbidden")).to_be_visible()
        shot(page, "analyst-config-forbidden")
        bearer = {"authorization": f"Bearer {ANALYST_KEY}"}
        assert httpx2.get(topology.base + "/ui/api/config", headers=bearer).status_code == 403
        for action in ("check", "reload"):
            answer = httpx2.post(topology.base + f"/ui/api/config/{action}", headers=bearer, json={})
            assert answer.status_code == 403, action
        other = httpx2.get(topology.base + "/ui/api/catalog?principal=ops", headers=bearer)
        assert other.status_code == 403
