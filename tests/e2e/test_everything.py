"""Proof with peers nobody here wrote: server-everything behind the gateway, driven by the TS SDK.

`@modelcontextprotocol/server-everything` (npm) is mounted under the prefix `ev` over stdio,
streamable HTTP and SSE, with nothing but its address in the config (no `mode`, no `session`:
the defaults). The official TypeScript SDK client makes the same calls directly and through the
gateway; the answers must be identical apart from the prefix.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import free_port
from tests.e2e.support import NODE, NODE_DIR, gateway_command, running, ts_client

pytestmark = pytest.mark.e2e

EVERYTHING = NODE_DIR / "node_modules" / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"
PREFIX = "ev_"
CLIENT_FEATURES: dict[str, Any] = {
    "sampling": {"text": "sampled answer"},
    "elicitation": {"action": "accept", "content": {"name": "Ada", "check": True}},
    "roots": [{"uri": "file:///projects/demo", "name": "demo"}],
}


def plan_steps(prefix: str, uri_ns: str) -> list[dict[str, Any]]:
    """The same calls, named as the target sees them."""
    t = lambda name: f"{prefix}{name}"  # noqa: E731
    u = lambda uri: uri.replace("demo://", f"demo://{uri_ns}")  # noqa: E731
    return [
        {"op": "listAll", "what": "tools"},
        {"op": "listAll", "what": "prompts"},
        {"op": "listAll", "what": "resources"},
        {"op": "listAll", "what": "resourceTemplates"},
        {"op": "callTool", "name": t("echo"), "arguments": {"message": "hello"}},
        {"op": "callTool", "name": t("get-sum"), "arguments": {"a": 2, "b": 40}},
        {"op": "callTool", "name": t("get-tiny-image")},
        {
            "op": "callTool",
            "name": t("get-annotated-message"),
            "arguments": {"messageType": "error", "includeImage": True},
        },
        {"op": "callTool", "name": t("get-resource-links"), "arguments": {"count": 3}},
        {
            "op": "callTool",
            "name": t("get-resource-reference"),
            "arguments": {"resourceType": "Text", "resourceId": 2},
        },
        {"op": "callTool", "name": t("get-structured-content"), "arguments": {"location": "New York"}},
        {
            "op": "callTool",
            "name": t("trigger-long-running-operation"),
            "arguments": {"duration": 0.3, "steps": 3},
            "progress": True,
        },
        {
            "op": "callTool",
            "name": t("trigger-sampling-request"),
            "arguments": {"prompt": "hi", "maxTokens": 20},
        },
        {"op": "callTool", "name": t("trigger-elicitation-request")},
        {"op": "callTool", "name": t("get-roots-list")},
        {"op": "callTool", "name": t("echo"), "arguments": {"wrong": 1}},
        {"op": "readResource", "uri": u("demo://resource/dynamic/text/1")},
        {"op": "readResource", "uri": u("demo://resource/dynamic/blob/2")},
        {"op": "readResource", "uri": u("demo://resource/static/document/features.md")},
        {"op": "getPrompt", "name": t("simple-prompt")},
        {"op": "getPrompt", "name": t("args-prompt"), "arguments": {"city": "Paris", "state": "TX"}},
        {
            "op": "getPrompt",
            "name": t("resource-prompt"),
            "arguments": {"resourceType": "Text", "resourceId": "3"},
        },
        {
            "op": "complete",
            "ref": {"type": "ref/prompt", "name": t("completable-prompt")},
            "argument": {"name": "department", "value": "E"},
        },
        {
            "op": "complete",
            "ref": {"type": "ref/resource", "uri": u("demo://resource/dynamic/text/{resourceId}")},
            "argument": {"name": "resourceId", "value": "1"},
        },
        {"op": "setLevel", "level": "debug"},
        {"op": "subscribe", "uri": u("demo://resource/dynamic/text/1")},
        {"op": "callTool", "name": t("toggle-subscriber-updates")},
        {"op": "callTool", "name": t("toggle-simulated-logging")},
        {"op": "wait", "ms": 300},
        {"op": "callTool", "name": t("toggle-subscriber-updates")},
        {"op": "callTool", "name": t("toggle-simulated-logging")},
        {"op": "unsubscribe", "uri": u("demo://resource/dynamic/text/1")},
    ]


_SESSION = re.compile(r"(SessionId|session) [0-9a-fA-F-]{8,}")
_TIME = re.compile(r"\d{1,2}:\d{2}:\d{2}\s?[AP]M")


def normalize(value: Any, uri_ns: str, prefix: str) -> Any:
    """Remove the prefix and the namespace from every name and URI; mask per-session ids."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "name" and isinstance(item, str) and prefix and item.startswith(prefix):
                item = item[len(prefix) :]
            out[key] = normalize(item, uri_ns, prefix)
        return out
    if isinstance(value, list):
        return [normalize(v, uri_ns, prefix) for v in value]
    if isinstance(value, str):
        value = value.replace(f"demo://{uri_ns}", "demo://") if uri_ns else value
        return _TIME.sub("<time>", _SESSION.sub(r"\1 <id>", value))
    return value


def _unblob(value: Any) -> Any:
    """Dynamic blobs carry their creation time: compare their decoded text instead."""
    if isinstance(value, dict):
        out = {k: _unblob(v) for k, v in value.items()}
        if isinstance(value.get("blob"), str):
            out["blob"] = base64.b64decode(value["blob"]).decode(errors="replace")
        return out
    if isinstance(value, list):
        return [_unblob(v) for v in value]
    return value


def comparable(run: dict[str, Any], uri_ns: str, prefix: str) -> dict[str, Any]:
    steps = normalize(_unblob(run["steps"]), uri_ns, prefix)
    notes = normalize(run["notifications"], uri_ns, prefix)
    logs = [n for n in notes if n["method"] == "notifications/message"]
    others = sorted(
        (json.dumps(n, sort_keys=True) for n in notes if n["method"] != "notifications/message"),
    )
    return {
        "steps": steps,
        "updates": [n for n in others if "resources/updated" in n],
        "logs": len(logs) >= 1,
        "log_levels_known": all(n["params"]["level"] in LEVELS for n in logs),
        "server_requests": sorted(r["method"] for r in normalize(run["serverRequests"], uri_ns, prefix)),
    }


LEVELS = {"debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"}


@pytest.fixture(scope="module")
def setups(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, Any]]]:
    """server-everything direct (stdio, HTTP) and behind the gateway (stdio, HTTP)."""
    work = tmp_path_factory.mktemp("everything")
    ev_port, ev_sse_port = free_port(), free_port()
    gw_stdio_port, gw_http_port, gw_sse_port = free_port(), free_port(), free_port()
    stdio_cfg = work / "stdio.yaml"
    stdio_cfg.write_text(
        f"backends:\n  ev:\n    command: [{NODE}, {EVERYTHING}, stdio]\n    connect_timeout: 20s\n"
    )
    http_cfg = work / "http.yaml"
    http_cfg.write_text(f"backends:\n  ev:\n    url: http://127.0.0.1:{ev_port}/mcp\n")
    sse_cfg = work / "sse.yaml"
    sse_cfg.write_text(f"backends:\n  ev:\n    url: http://127.0.0.1:{ev_sse_port}/sse\n")
    direct_stdio = {"command": str(NODE), "args": [str(EVERYTHING), "stdio"]}
    with (
        running(
            [str(NODE), str(EVERYTHING), "streamableHttp"],
            log=work / "ev.log",
            env={"PORT": str(ev_port)},
            ready_url=f"http://127.0.0.1:{ev_port}/mcp",
        ),
        running(
            [str(NODE), str(EVERYTHING), "sse"],
            log=work / "ev-sse.log",
            env={"PORT": str(ev_sse_port)},
            ready_url=f"http://127.0.0.1:{ev_sse_port}/",  # any answer will do (/sse never ends)
        ),
        running(
            gateway_command(stdio_cfg, "run", "--port", str(gw_stdio_port)),
            log=work / "gw-stdio.log",
            ready_url=f"http://127.0.0.1:{gw_stdio_port}/readyz",
            expect_status=200,
        ),
        running(
            gateway_command(http_cfg, "run", "--port", str(gw_http_port)),
            log=work / "gw-http.log",
            ready_url=f"http://127.0.0.1:{gw_http_port}/readyz",
            expect_status=200,
        ),
        running(
            gateway_command(sse_cfg, "run", "--port", str(gw_sse_port)),
            log=work / "gw-sse.log",
            ready_url=f"http://127.0.0.1:{gw_sse_port}/readyz",
            expect_status=200,
        ),
    ):
        yield {
            "stdio": {"direct": direct_stdio, "gateway": {"url": f"http://127.0.0.1:{gw_stdio_port}/mcp"}},
            "http": {
                "direct": {"url": f"http://127.0.0.1:{ev_port}/mcp"},
                "gateway": {"url": f"http://127.0.0.1:{gw_http_port}/mcp"},
            },
            "sse": {
                "direct": {"url": f"http://127.0.0.1:{ev_sse_port}/sse"},
                "gateway": {"url": f"http://127.0.0.1:{gw_sse_port}/mcp"},
            },
        }


def run_plan(target: dict[str, Any], prefix: str, uri_ns: str) -> dict[str, Any]:
    return ts_client({"target": target, "steps": plan_steps(prefix, uri_ns), **CLIENT_FEATURES})


@pytest.mark.parametrize("link", ["stdio", "http", "sse"])
def test_everything_answers_the_same_through_the_gateway(
    setups: dict[str, dict[str, Any]], link: str
) -> None:
    with ThreadPoolExecutor(2) as pool:
        direct_f = pool.submit(run_plan, setups[link]["direct"], "", "")
        through_f = pool.submit(run_plan, setups[link]["gateway"], PREFIX, "ev/")
        direct, through = direct_f.result(), through_f.result()
    expected = comparable(direct, "", "")
    got = comparable(through, "ev/", PREFIX)
    for index, (want, have) in enumerate(zip(expected["steps"], got["steps"], strict=True)):
        if isinstance(want, dict) and "progress" in want:
            # On the wire the gateway sends exactly the progress the backend sent, then the
            # answer. (What the SDK's callback sees depends on how the reads fall: progress read
            # together with its answer is dropped, directly as through the gateway.)
            assert have["result"] == want["result"], f"step {index}"
            assert have["wire"] == want["wire"] and want["wire"][-1].get("response"), f"step {index}"
            continue
        assert have == want, f"step {index}: {plan_steps('', '')[index]}"
    assert got["updates"] == expected["updates"] and got["updates"], (
        "resources/updated reaches the subscriber"
    )
    assert got["logs"] and expected["logs"] and got["log_levels_known"]
    assert got["server_requests"] == expected["server_requests"]


def test_two_clients_never_see_each_others_notifications(setups: dict[str, dict[str, Any]]) -> None:
    target = setups["http"]["gateway"]
    talker = [
        {"op": "setLevel", "level": "debug"},
        {"op": "subscribe", "uri": "demo://ev/resource/dynamic/text/1"},
        {"op": "callTool", "name": "ev_toggle-subscriber-updates"},
        {"op": "callTool", "name": "ev_toggle-simulated-logging"},
        {
            "op": "callTool",
            "name": "ev_trigger-long-running-operation",
            "arguments": {"duration": 0.4, "steps": 4},
            "progress": True,
        },
        {"op": "callTool", "name": "ev_toggle-subscriber-updates"},
        {"op": "callTool", "name": "ev_toggle-simulated-logging"},
    ]
    quiet = [
        {"op": "setLevel", "level": "debug"},
        {"op": "listAll", "what": "tools"},
        {"op": "wait", "ms": 600},
        {"op": "callTool", "name": "ev_echo", "arguments": {"message": "still here"}},
    ]
    with ThreadPoolExecutor(2) as pool:
        loud_f = pool.submit(ts_client, {"target": target, "steps": talker})
        quiet_f = pool.submit(ts_client, {"target": target, "steps": quiet})
        loud, silent = loud_f.result(), quiet_f.result()
    assert [m for m in loud["steps"][4]["wire"] if "progress" in m], "the caller gets its progress"
    assert any(n["method"] == "notifications/resources/updated" for n in loud["notifications"])
    assert any(n["method"] == "notifications/message" for n in loud["notifications"])
    leaked = [
        n
        for n in silent["notifications"]
        if n["method"] in ("notifications/message", "notifications/resources/updated")
    ]
    assert leaked == [], "the quiet client received the other client's notifications"


def test_session_resources_and_list_changed_stay_with_their_client(setups: dict[str, dict[str, Any]]) -> None:
    """gzip-file-as-resource registers a resource in the caller's backend session only."""
    target = setups["stdio"]["gateway"]
    data = "data:text/plain;base64," + base64.b64encode(b"hello session").decode()
    owner = ts_client(
        {
            "target": target,
            "steps": [
                {"op": "listAll", "what": "resources"},
                {
                    "op": "callTool",
                    "name": "ev_gzip-file-as-resource",
                    "arguments": {"name": "mine.gz", "data": data},
                },
                {"op": "wait", "ms": 200},
                {"op": "listAll", "what": "resources"},
                {"op": "readResource", "uri": "demo://ev/resource/session/mine.gz"},
            ],
        }
    )
    other = ts_client({"target": target, "steps": [{"op": "listAll", "what": "resources"}]})
    before = {r["uri"] for r in owner["steps"][0]["resources"]}
    after = {r["uri"] for r in owner["steps"][3]["resources"]}
    assert after - before == {"demo://ev/resource/session/mine.gz"}
    assert owner["steps"][4]["contents"][0]["mimeType"] == "application/gzip"
    assert "notifications/resources/list_changed" in [n["method"] for n in owner["notifications"]]
    assert "demo://ev/resource/session/mine.gz" not in {r["uri"] for r in other["steps"][0]["resources"]}


@pytest.mark.parametrize("era", ["legacy", "2026-07-28"])
def test_the_python_client_gets_full_service_in_both_eras(
    setups: dict[str, dict[str, Any]], era: str
) -> None:
    """fastmcp.Client in each era: tools, progress, sampling, elicitation, roots, prompts, resources."""
    import anyio
    from fastmcp import Client
    from fastmcp.client.elicitation import ElicitResult

    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async def on_sampling(messages: Any, params: Any, context: Any) -> str:
        return "python sampled"

    async def on_elicitation(message: str, response_type: Any, params: Any, context: Any) -> ElicitResult:
        return ElicitResult(action="accept", content={"name": "Grace", "check": True})

    async def scenario() -> dict[str, Any]:
        url = setups["http"]["gateway"]["url"]
        async with Client(
            url,
            mode=era,
            progress_handler=on_progress,
            sampling_handler=on_sampling,
            elicitation_handler=on_elicitation,
            roots=["file:///projects/py"],
        ) as client:
            names = {t.name for t in await client.list_tools()}
            echo = await client.call_tool("ev_echo", {"message": "py"})
            long = await client.call_tool("ev_trigger-long-running-operation", {"duration": 0.3, "steps": 3})
            sampled = await client.call_tool("ev_trigger-sampling-request", {"prompt": "hi", "maxTokens": 5})
            elicited = await client.call_tool("ev_trigger-elicitation-request", {})
            roots = await client.call_tool("ev_get-roots-list", {}, raise_on_error=False)
            prompt = await client.get_prompt("ev_args-prompt", {"city": "Oslo"})
            text = await client.read_resource("demo://ev/resource/dynamic/text/4")
            return {
                "names": names,
                "echo": echo.content[0].text,
                "long": long.content[0].text,
                "sampled": sampled.content[0].text,
                "elicited": " ".join(c.text for c in elicited.content),
                "roots": roots.content[0].text,
                "prompt": prompt.messages[0].content.text,
                "text": text[0].text,
            }

    seen = anyio.run(scenario)
    assert {"ev_echo", "ev_trigger-sampling-request"} <= seen["names"]
    assert seen["echo"] == "Echo: py"
    assert "Long running operation completed" in seen["long"] and progress == [1, 2, 3]
    assert "python sampled" in seen["sampled"]
    assert "Grace" in seen["elicited"]
    if era == "legacy":
        assert "ev_get-roots-list" in seen["names"] and "file:///projects/py" in seen["roots"]
    else:
        # server-everything speaks only the handshake era and keeps roots per session; a 2026
        # client has no session, so the gateway's shared session declares no roots (the next
        # client would get these ones): the roots tool is not offered, as to any such client.
        assert "ev_get-roots-list" not in seen["names"] and "Unknown tool" in seen["roots"]
    assert seen["prompt"] == "What's weather in Oslo?"
    assert seen["text"].startswith("Resource 4:")


@pytest.mark.parametrize("link", ["stdio", "http"])
def test_two_concurrent_clients_each_see_only_their_own_roots(
    setups: dict[str, dict[str, Any]], link: str
) -> None:
    """server-everything keeps a session's roots; through the default gateway each client's stay
    its own (a shared backend session handed the first client's roots to the next)."""
    target = setups[link]["gateway"]

    def plan(name: str) -> dict[str, Any]:
        return {
            "target": target,
            "roots": [{"uri": f"file:///clients/{name}", "name": name}],
            "steps": [
                {"op": "callTool", "name": "ev_echo", "arguments": {"message": name}},
                {"op": "wait", "ms": 200},
                {"op": "callTool", "name": "ev_get-roots-list"},
            ],
        }

    with ThreadPoolExecutor(3) as pool:
        runs = dict(zip("abc", pool.map(ts_client, [plan(n) for n in "abc"]), strict=True))
    for name, run in runs.items():
        text = json.dumps(run["steps"][2])
        assert f"file:///clients/{name}" in text, f"client {name} does not see its own roots: {text}"
        others = [o for o in "abc" if o != name]
        assert not any(f"file:///clients/{o}" in text for o in others), f"client {name} saw another's roots"
