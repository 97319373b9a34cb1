"""The console's server side, in process: the live-calls ring and what it costs a call, the
sampled metrics, masking, problem locations, access (loopback, keys, admin), the HTTP surface
behind the front's guards, and the static bundle it ships."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx2
import pytest
from fastmcp.utilities.asgi_transport import run_asgi_lifespan

from gateway.config import parse_config
from gateway.console.access import is_loopback
from gateway.console.assets import load_assets
from gateway.console.configuration import located
from gateway.console.history import BOUNDS, MetricsHistory, quantile
from gateway.console.masking import MASK, masked
from gateway.observability.metrics import BackendState, LiveState, Metrics
from gateway.policies.audit import AuditLog
from gateway.policies.recent import WATCH_SECONDS, RecentCalls
from tests.conftest import make_gateway

OPS = "ops-key-0123456789abcdef"
ANALYST = "analyst-key-0123456789abcdef"
AUTHED = f"""
auth:
  api_keys:
    ops: {{key: {OPS}, scopes: [admin]}}
    analyst: {{key: {ANALYST}}}
views:
  analysts: {{principals: [analyst], namespaces: [echo]}}
backends:
  echo: {{module: tests.fakes.echo}}
  rich: {{module: tests.fakes.rich, namespace: r}}
"""
OPEN = "backends:\n  echo: {module: tests.fakes.echo}\n"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class TestRecentCalls:
    def test_the_ring_keeps_the_newest_records_numbered_in_order(self) -> None:
        recent = RecentCalls(3)
        for n in range(5):
            recent.add({"n": n})
        assert [(seq, r["n"]) for seq, r in recent.after(0)] == [(3, 2), (4, 3), (5, 4)]
        assert [seq for seq, _ in recent.after(4)] == [5]
        assert [seq for seq, _ in recent.after(0, limit=1)] == [5]
        assert recent.after(0, limit=0) == [] and recent.last == 5

    def test_with_the_sink_off_nothing_is_built_unless_the_console_watches(self) -> None:
        clock = Clock()
        recent = RecentCalls(10, clock=clock)
        audit = AuditLog("off", recent=recent)
        assert not audit.enabled  # the call path skips building the record entirely
        audit.write(tool="t")
        assert recent.last == 0
        recent.watch()
        assert audit.enabled
        audit.write(tool="seen")
        clock.now += WATCH_SECONDS + 1
        audit.write(tool="one more, then off")
        assert not audit.enabled
        assert [r["tool"] for _, r in recent.after(0)] == ["seen", "one more, then off"]

    def test_with_a_sink_every_record_is_kept_too(self, tmp_path: Path) -> None:
        recent = RecentCalls(10)
        audit = AuditLog(str(tmp_path / "audit.jsonl"), recent=recent)
        audit.write(tool="t", request_id="r1")
        audit.close()
        line = json.loads((tmp_path / "audit.jsonl").read_text())
        (_, kept), *_ = recent.after(0)
        assert line == dict(kept) and kept["request_id"] == "r1"

    def test_reload_keeps_the_ring_when_the_sink_changes(self, tmp_path: Path) -> None:
        gateway = make_gateway(OPEN)
        gateway.policies.recent.watch()
        gateway.audit.write(tool="before")
        gateway.apply_policies(parse_config(f"audit: {{sink: {tmp_path / 'a.jsonl'}}}\n" + OPEN, environ={}))
        gateway.audit.write(tool="after")
        gateway.audit.close()
        assert [r["tool"] for _, r in gateway.policies.recent.after(0)] == ["before", "after"]


def live() -> LiveState:
    return LiveState([BackendState("b", True, "closed", 0, 1, 0, 0)], 0, 0)


class TestHistory:
    def test_quantiles_interpolate_within_a_bucket_like_prometheus(self) -> None:
        buckets = [0.0] * len(BOUNDS)
        # 10 calls at or under 10 ms (bound 0.01), 10 more under 25 ms (bound 0.025)
        for number, bound in enumerate(BOUNDS):
            buckets[number] = 10.0 if bound >= 0.01 else 0.0
            if bound >= 0.025:
                buckets[number] = 20.0
        assert quantile(0.5, tuple(buckets)) == pytest.approx(0.01)
        assert quantile(0.75, tuple(buckets)) == pytest.approx(0.0175)
        assert quantile(0.5, (0.0,) * len(BOUNDS)) is None

    def test_rates_and_percentiles_come_from_the_difference_of_two_samples(self) -> None:
        clock = Clock()
        metrics = Metrics(live)
        history = MetricsHistory(metrics, interval=5, keep=60, clock=clock)
        metrics.record("b", "tools/call", "b_t", "ok", 0.004)
        history.sample()
        clock.now += 10
        for _ in range(8):
            metrics.record("b", "tools/call", "b_t", "ok", 0.02)
        metrics.record("b", "tools/call", "b_t", "error", 0.02)
        metrics.record("b", "tools/call", "b_t", "tool_error", 0.02)
        history.sample()
        figures = history.recent(60)["b"]
        assert figures.calls == 10 and figures.calls_per_s == pytest.approx(1.0)
        assert figures.error_rate == pytest.approx(0.2)
        assert figures.p50_ms is not None and 10 < figures.p50_ms <= 25
        series = history.series(["b", "quiet"])
        assert series["t"] == [1010.0]
        assert series["backends"]["b"]["calls_per_s"] == [1.0]  # type: ignore[index]
        assert series["backends"]["quiet"]["calls_per_s"] == [0.0]  # type: ignore[index]

    def test_samples_older_than_the_history_are_dropped(self) -> None:
        history = MetricsHistory(Metrics(live), interval=1, keep=3, clock=Clock())
        for _ in range(10):
            history.sample()
        assert len(history.series(["b"])["t"]) == 3  # type: ignore[arg-type]


SECRETS = """
auth:
  api_keys:
    ops: {key: super-secret-key-0001}
    digest: {key_sha256: "%s"}
  jwt: {issuer: https://issuer.example, audience: gw, public_key: "shared-secret-jwt-key", algorithm: HS256}
rate_limits: {store: "redis://:redis-password@127.0.0.1:6379/0"}
backends:
  db:
    command: [python, -m, backends.lookup]
    env: {LOOKUP_DATABASE_URL: "postgresql://u:db-password@127.0.0.1/x"}
  api:
    url: http://127.0.0.1:9/mcp
    headers: {X-Api-Key: header-secret-value}
    bearer_token: bearer-secret-value
""" % ("ab" * 32)


def test_the_effective_configuration_masks_every_secret() -> None:
    config = parse_config(SECRETS, environ={})
    shown = json.dumps(masked(config))
    for secret in ("super-secret-key", "ab" * 32, "shared-secret-jwt", "redis-password", "db-password"):
        assert secret not in shown, secret
    assert "header-secret-value" not in shown and "bearer-secret-value" not in shown
    data = masked(config)
    assert data["backends"]["db"]["env"] == {"LOOKUP_DATABASE_URL": MASK}
    assert data["backends"]["api"]["headers"] == {"X-Api-Key": MASK}
    assert data["backends"]["db"]["command"] == ["python", "-m", "backends.lookup"]


@pytest.mark.parametrize(
    ("problem", "where"),
    [
        ("backends.x.comand (line 3): unknown field", {"path": "backends.x.comand", "line": 3}),
        ("line 2, column 5: mapping values are not allowed here", {"path": None, "line": 2}),
        ("backends.x: give exactly one of `command`", {"path": "backends.x", "line": None}),
    ],
)
def test_a_config_problem_is_located_by_its_yaml_path_and_line(
    problem: str, where: dict[str, object]
) -> None:
    found = located(problem)
    assert {k: found[k] for k in where} == where and found["message"]


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("::ffff:127.0.0.1", True), ("10.0.0.1", False), ("x", False)],
)
def test_loopback_is_this_machine_in_either_address_family(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@asynccontextmanager
async def console(
    config: str, *, client: tuple[str, int] = ("127.0.0.1", 5000)
) -> AsyncIterator[httpx2.AsyncClient]:
    """The HTTP front as `gateway run` builds it on 127.0.0.1:8000, for a client at `client`."""
    gateway = make_gateway(config)
    app = gateway.http_app(transport="http", host="127.0.0.1", port=8000)
    transport = httpx2.ASGITransport(app=app, client=client)
    async with (
        run_asgi_lifespan(app),
        httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http,
    ):
        await gateway.ensure_catalogs()
        yield http


@pytest.mark.asyncio
class TestHttp:
    async def test_every_console_response_carries_a_strict_policy(self) -> None:
        async with console(OPEN) as http:
            for path in ("/ui", "/ui/calls", "/ui/static/js/main.js", "/ui/api/me", "/ui/api/nothing"):
                answer = await http.get(path)
                policy = answer.headers["content-security-policy"]
                assert "default-src 'self'" in policy and "script-src 'self'" in policy, path
                assert "unsafe-inline" not in policy and answer.headers["x-frame-options"] == "DENY"
            page = await http.get("/ui/backends")
            assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
            assert (await http.get("/ui/nosuch")).status_code == 404
            assert (await http.get("/ui/static/../app.py")).status_code == 404

    async def test_without_auth_it_answers_loopback_clients_only(self) -> None:
        async with console(OPEN) as http:
            me = (await http.get("/ui/api/me")).json()
            assert me["admin"] and not me["auth"]
        async with console(OPEN, client=("192.0.2.7", 5000)) as http:
            for path in ("/ui", "/ui/static/js/main.js", "/ui/api/door", "/ui/api/me"):
                assert (await http.get(path)).status_code == 403, path

    async def test_with_auth_a_key_is_needed_and_only_an_admin_sees_beyond_its_view(self) -> None:
        async with console(AUTHED, client=("192.0.2.7", 5000)) as http:
            assert (await http.get("/ui")).status_code == 200  # the page itself holds no data
            assert (await http.get("/ui/api/door")).json() == {"auth": True}
            anonymous = await http.get("/ui/api/backends")
            assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"] == "Bearer"
            wrong = await http.get("/ui/api/backends", headers={"authorization": "Bearer nope-nope-nope"})
            assert wrong.status_code == 401
            analyst = {"authorization": f"Bearer {ANALYST}"}
            rows = (await http.get("/ui/api/backends", headers=analyst)).json()["backends"]
            assert [r["name"] for r in rows] == ["echo"]
            assert (await http.get("/ui/api/config", headers=analyst)).status_code == 403
            assert (await http.get("/ui/api/catalog?principal=ops", headers=analyst)).status_code == 403
            ops = {"authorization": f"Bearer {OPS}"}
            rows = (await http.get("/ui/api/backends", headers=ops)).json()["backends"]
            assert [r["name"] for r in rows] == ["echo", "rich"]
            seen = (await http.get("/ui/api/catalog?principal=analyst", headers=ops)).json()
            assert seen["view"] == "analysts" and {t["backend"] for t in seen["tools"]} == {"echo"}
            assert all(t["name"] == f"echo_{t['original']}" for t in seen["tools"])
            assert OPS not in (await http.get("/ui/api/config", headers=ops)).text

    async def test_the_host_and_origin_guard_covers_the_console(self) -> None:
        async with console(OPEN) as http:
            foreign = await http.post(
                "/ui/api/config/reload", json={}, headers={"origin": "http://evil.example"}
            )
            assert foreign.status_code == 403
            assert (await http.get("/ui/api/me", headers={"host": "evil.example"})).status_code == 421

    async def test_actions_take_json_only_within_the_size_limit(self) -> None:
        async with console(OPEN) as http:
            form = await http.post(
                "/ui/api/config/check", content=b"text=x", headers={"content-type": "text/plain"}
            )
            assert form.status_code == 415
            huge = await http.post("/ui/api/config/check", json={"text": "x" * (2 * 1024 * 1024)})
            assert huge.status_code == 413
            checked = (
                await http.post("/ui/api/config/check", json={"text": "backends:\n  x: {comand: [a]}\n"})
            ).json()
            assert not checked["ok"] and checked["problems"][0]["path"] == "backends.x.comand"
            assert checked["problems"][0]["line"] == 2
            # no `gateway run` watches a file here: nothing to reload
            assert (await http.post("/ui/api/config/reload", json={})).status_code == 409

    async def test_turned_off_there_is_no_console(self) -> None:
        async with console("ui: {enabled: false}\n" + OPEN) as http:
            assert (await http.get("/ui")).status_code == 404
            assert (await http.get("/ui/api/me")).status_code == 404


STATIC = Path(__file__).resolve().parents[2] / "gateway" / "console" / "static"


class TestBundle:
    def test_the_page_loads_only_shipped_files_and_no_inline_script_or_style(self) -> None:
        assets = load_assets()
        page = assets["index.html"].body.decode()
        for reference in re.findall(r'(?:src|href)="/ui/static/([^"]+)"', page):
            assert reference in assets, reference
        assert not re.search(r"<script(?![^>]*\bsrc=)", page) and "style=" not in page
        assert "<style" not in page

    def test_every_module_import_is_shipped_and_no_script_writes_html(self) -> None:
        assets = load_assets()
        for name, asset in assets.items():
            if not name.startswith("js/"):
                continue
            text = asset.body.decode()
            assert "innerHTML" not in text and "insertAdjacentHTML" not in text and "eval(" not in text, name
            for target in re.findall(r'from "(\.[^"]+)"', text):
                resolved = (Path(name).parent / target).as_posix()
                while "/../" in resolved or resolved.startswith("../"):
                    resolved = re.sub(r"[^/]+/\.\./", "", resolved, count=1)
                resolved = resolved.removeprefix("./").replace("/./", "/")
                assert resolved in assets, f"{name} imports {target}"

    def test_the_charting_library_ships_with_its_license_and_version(self) -> None:
        vendor = STATIC / "vendor" / "uplot"
        assert "MIT License" in (vendor / "LICENSE.txt").read_text()
        assert "uPlot 1.6.32" in (vendor / "VERSION.txt").read_text()
        assert {"vendor/uplot/uPlot.iife.min.js", "vendor/uplot/uPlot.min.css"} <= load_assets().keys()
