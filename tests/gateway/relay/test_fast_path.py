"""The fast path (`gateway.relay.fast`): which requests take it, and that they get exactly what
the full relay would give them, byte for byte (in process, the gateway's real HTTP app)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
from fastmcp.client.sampling import SamplingMessage, SamplingParams
from fastmcp.utilities.asgi_transport import run_asgi_lifespan

from gateway.app import Gateway
from tests.conftest import make_gateway
from tests.gateway.authed import http_front
from tests.gateway.front.raw import HEADERS, INIT

KEY = "ops-key-0123456789abcdef"
ANALYST = "analyst-key-0123456789ab"
CONFIG = f"""
auth:
  api_keys:
    ops: {{key: "{KEY}"}}
    analyst: {{key: "{ANALYST}"}}
views:
  analysts: {{principals: [analyst], namespaces: [echo], deny_tools: [echo_slow_count]}}
backends:
  echo: {{module: tests.fakes.echo}}
  old: {{module: tests.fakes.echo, namespace: old, mode: legacy}}
workflows:
  twice:
    description: Echo twice.
    inputs: {{text: {{type: string}}}}
    steps:
      one: {{call: echo_echo, arguments: {{text: "{{{{ inputs.text }}}}"}}}}
"""
MODERN = "2026-07-28"


pytestmark = pytest.mark.usefixtures("untraced")


def fast_served(gateway: Gateway) -> float:
    return gateway.metrics.fast_path.labels("tools/call")._value.get()  # type: ignore[no-any-return]


async def _sample(messages: list[SamplingMessage], params: SamplingParams, context: Any) -> str:
    return "sampled"


@pytest.mark.asyncio
class TestWhichPath:
    """Each request, and whether the fast path served it (the others go to the SDK's server)."""

    async def calls(self, config: str, era: str, *names: str, **client: Any) -> list[bool]:
        gateway = make_gateway(config)
        taken: list[bool] = []
        async with http_front(gateway) as front, front.client(auth=KEY, mode=era, **client) as c:
            await c.call_tool_mcp("echo_echo", {"text": "first"})  # a new session is learnt here
            for name in names:
                before = fast_served(gateway)
                await c.call_tool_mcp(name, {"text": "x"})
                taken.append(fast_served(gateway) > before)
        return taken

    @pytest.mark.parametrize("era", ["legacy", MODERN])
    async def test_a_backend_tool_takes_it_in_both_eras(self, era: str) -> None:
        assert await self.calls(CONFIG, era, "echo_echo", "echo_echo") == [True, True]

    @pytest.mark.parametrize("era", ["legacy", MODERN])
    async def test_workflows_unknown_and_search_names_do_not(self, era: str) -> None:
        assert await self.calls(CONFIG, era, "twice", "echo_nothing", "search_tools") == [False] * 3

    async def test_a_2026_call_to_a_handshake_era_backend_does_not(self) -> None:
        """Era translation (parking the call while the backend asks the client) is the relay's."""
        assert await self.calls(CONFIG, MODERN, "old_echo") == [False]

    async def test_with_tracing_on_calls_take_the_full_relay(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """FastMCP's server span starts each trace: with a tracer provider, the SDK's server serves."""
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider

        monkeypatch.setattr(trace, "_TRACER_PROVIDER", TracerProvider())
        assert await self.calls(CONFIG, MODERN, "echo_echo") == [False]

    async def test_a_client_that_can_be_asked_things_does_too(self) -> None:
        """A backend may ask it to sample mid-call: the fast path carries that (`test_fast_asks`)."""
        assert await self.calls(CONFIG, "legacy", "echo_echo", sampling_handler=_sample) == [True]

    async def test_only_the_sdks_server_sets_fastmcps_request_context(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """It is set just in front of the server that reads it: a call the fast path answers skips it."""
        from fastmcp.server.http import RequestContextMiddleware

        entered: list[str] = []
        original = RequestContextMiddleware.__call__

        async def counting(self: Any, scope: Any, receive: Any, send: Any) -> None:
            entered.append(scope["type"])
            await original(self, scope, receive, send)

        monkeypatch.setattr(RequestContextMiddleware, "__call__", counting)
        seen: dict[str, int] = {}
        for name, fast in (("echo_echo", True), ("twice", False)):
            entered.clear()
            assert await self.calls(CONFIG, MODERN, name) == [fast]
            seen[name] = entered.count("http")
        assert seen["twice"] == seen["echo_echo"] + 1  # the same session, one more call: the relay's
        off = CONFIG + "http: {fast_path: false}\n"
        assert await self.calls(off, MODERN, "echo_echo") == [False]

    async def test_a_hidden_tool_does_not_and_answers_as_unknown(self) -> None:
        gateway = make_gateway(CONFIG)
        async with http_front(gateway) as front, front.client(auth=ANALYST, mode=MODERN) as c:
            before = fast_served(gateway)
            hidden = await c.call_tool_mcp("echo_slow_count", {"n": 1})
            missing = await c.call_tool_mcp("echo_nothing", {"n": 1})
            assert fast_served(gateway) == before
        assert hidden.content[0].text.replace("slow_count", "nothing") == missing.content[0].text  # type: ignore[union-attr]

    async def test_without_credentials_the_authentication_check_answers(self) -> None:
        gateway = make_gateway(CONFIG)
        async with raw_front(gateway) as client:
            response = await client.post(
                "/mcp", json=modern_call(1, "echo_echo"), headers=modern_headers("echo_echo")
            )
        assert response.status_code == 401 and fast_served(gateway) == 0


# -- same answers ------------------------------------------------------------------------------


@asynccontextmanager
async def raw_front(gateway: Gateway) -> AsyncIterator[httpx2.AsyncClient]:
    app = gateway.http_app(transport="http", host="127.0.0.1", port=80)
    transport = httpx2.ASGITransport(app=app)
    async with (
        run_asgi_lifespan(app),
        httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c,
    ):
        await gateway.ensure_catalogs()
        yield c


async def handshake_session(
    client: httpx2.AsyncClient, auth: dict[str, str], first: dict[str, Any] | None = None
) -> dict[str, str]:
    """A new handshake-era session's headers (its client initialized), `first` sent on it (the
    request through which the relay comes to know the session)."""
    opened = await client.post("/mcp", json=INIT, headers={**HEADERS, **auth})
    session = {**HEADERS, **auth, "mcp-session-id": opened.headers["mcp-session-id"]}
    session["mcp-protocol-version"] = "2025-11-25"
    await client.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"}, headers=session)
    if first is not None:
        await client.post("/mcp", json=first, headers=session)
    return session


def modern_headers(name: str, key: str | None = None) -> dict[str, str]:
    headers = {**HEADERS, "mcp-protocol-version": MODERN, "mcp-method": "tools/call", "mcp-name": name}
    return {**headers, "authorization": f"Bearer {key}"} if key else headers


def modern_call(request_id: int, name: str, arguments: Any = None, **meta: Any) -> dict[str, Any]:
    envelope = {
        "io.modelcontextprotocol/protocolVersion": MODERN,
        "io.modelcontextprotocol/clientInfo": {"name": "raw", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
        **meta,
    }
    params = {"name": name, "arguments": arguments or {}, "_meta": envelope}
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


CALLS: list[tuple[str, Any, dict[str, Any]]] = [
    ("echo_echo", {"text": "hi"}, {}),
    ("echo_slow_count", {"n": 2}, {"progressToken": "p-1", "io.modelcontextprotocol/logLevel": "debug"}),
    ("echo_echo", {"text": 5}, {}),  # the backend refuses the argument: a tool error
    ("echo_echo", {}, {}),
    ("echo_echo", [1, 2], {}),  # the SDK's server refuses these (a 400 in the 2026-07-28 era)
    ("echo_echo", "text", {}),
]
"""A plain call, one with progress and logs, two the backend finds wrong and two the gateway's
own server refuses before any backend sees them."""


async def answers(fast: bool, era: str) -> tuple[list[tuple[int, dict[str, str], bytes]], int]:
    """Each call's status, headers (but the request id) and body, with the fast path on or off,
    and how many requests the backend was sent."""
    config = CONFIG + ("" if fast else "http: {fast_path: false}\n")
    gateway = make_gateway(config)
    seen = []
    async with raw_front(gateway) as client:
        auth = {"authorization": f"Bearer {KEY}"}
        if era == "legacy":
            session = await handshake_session(
                client, auth, legacy_call(1, "echo_echo", {"text": "learn"}, {})
            )
        for number, (name, arguments, meta) in enumerate(CALLS, start=2):
            if era == "legacy":
                body, headers = legacy_call(number, name, arguments, meta), session
            else:
                body, headers = modern_call(number, name, arguments, **meta), modern_headers(name, KEY)
            response = await client.post("/mcp", json=body, headers=headers)
            kept = {k: v for k, v in response.headers.items() if k not in ("x-request-id", "mcp-session-id")}
            seen.append((response.status_code, kept, response.content))
    assert (fast_served(gateway) > 0) == fast, "the path under test served the calls"
    return seen, gateway.directory.backends["echo"].stats["requests"]


def legacy_call(request_id: int, name: str, arguments: Any, meta: dict[str, Any]) -> dict[str, Any]:
    params: dict[str, Any] = {"name": name, "arguments": arguments}
    if meta:
        params["_meta"] = {k: v for k, v in meta.items() if k == "progressToken"}
    return {"jsonrpc": "2.0", "id": request_id, "method": "tools/call", "params": params}


@pytest.mark.asyncio
@pytest.mark.parametrize("era", ["legacy", MODERN])
async def test_the_fast_path_answers_exactly_as_the_full_relay(era: str) -> None:
    (full, full_sent), (fast, fast_sent) = await answers(False, era), await answers(True, era)
    for (name, _, _), slow_answer, fast_answer in zip(CALLS, full, fast, strict=True):
        assert fast_answer == slow_answer, name
    assert fast_sent == full_sent, "what the SDK's server refuses reaches no backend"
    kinds = [headers["content-type"] for _, headers, _ in fast]
    assert kinds == ["application/json", "text/event-stream", *["application/json"] * 4], (
        "JSON unless progress came first"
    )
    assert [status for status, _, _ in fast[4:]] == [200 if era == "legacy" else 400] * 2


@pytest.mark.asyncio
async def test_a_client_that_hangs_up_cancels_its_call_at_the_backend() -> None:
    """A real socket and the front's own connection protocol: the connection closing (a
    2026-07-28 client giving up) cancels the fast path's call at the backend."""
    from fastmcp import Client
    from mcp.shared.exceptions import MCPError

    from gateway.front.connections import protocol_with_header_deadline
    from tests.fakes import stateful
    from tests.serving import serving

    gateway = make_gateway("backends:\n  st: {module: tests.fakes.stateful}\n")
    app = gateway.http_app(transport="http", host="127.0.0.1", port=80)
    async with serving(app, http=protocol_with_header_deadline(10)) as url:
        async with Client(f"{url}/mcp", mode=MODERN) as client:
            await client.list_tools()
            before = fast_served(gateway)
            with pytest.raises((MCPError, TimeoutError)):
                await client.call_tool("st_wait_for_cancel", {"seconds": 30, "tag": "hung-up"}, timeout=0.5)
            assert fast_served(gateway) == before + 1
        with anyio.fail_after(5):
            while "hung-up" not in stateful.cancelled():  # noqa: ASYNC110 - the backend's own record
                await anyio.sleep(0.02)


@pytest.mark.asyncio
async def test_a_handshake_era_cancellation_cancels_its_call_at_the_backend(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A handshake-era client's `notifications/cancelled` for a call the fast path serves
    cancels it at the backend (its session stays: the next call is served); the abandoned
    request's answer ends without a result, as the SDK's server ends it (an empty stream: an
    empty JSON body is an error the client's SDK logs)."""
    from fastmcp import Client

    from gateway.front.connections import protocol_with_header_deadline
    from tests.fakes import stateful
    from tests.serving import serving

    gateway = make_gateway("backends:\n  st: {module: tests.fakes.stateful}\n")
    app = gateway.http_app(transport="http", host="127.0.0.1", port=80)
    async with (
        serving(app, http=protocol_with_header_deadline(10)) as url,
        Client(f"{url}/mcp", mode="legacy") as client,
    ):
        await client.list_tools()
        assert (await client.call_tool("st_increment", {})).data == 1  # the session is known
        before = fast_served(gateway)
        with pytest.raises(Exception):  # noqa: B017 - the SDK's timeout, whichever it raises
            await client.call_tool("st_wait_for_cancel", {"seconds": 30, "tag": "given-up"}, timeout=0.5)
        assert fast_served(gateway) == before + 1
        with anyio.fail_after(5):
            while "given-up" not in stateful.cancelled():  # noqa: ASYNC110 - the backend's own record
                await anyio.sleep(0.02)
        assert (await client.call_tool("st_increment", {})).data == 2, "the same backend session"
    assert not [r for r in caplog.records if "JSON response" in r.getMessage()]


# -- lists ----------------------------------------------------------------------------------

LISTS = ["tools/list", "prompts/list", "resources/list", "resources/templates/list"]


def list_counted(gateway: Gateway) -> float:
    return sum(gateway.metrics.fast_path.labels(m)._value.get() for m in LISTS)  # type: ignore[misc]


async def list_answers(fast: bool, era: str, refused: bool) -> list[tuple[int, dict[str, str], bytes]]:
    """Each list (every kind, twice in each of three sessions, ops, ops, then the analyst):
    status, headers, body. (A handshake-era session has its own view of per-client backends.)
    `refused`: each second request carries a `_meta` the SDK's server refuses."""
    gateway = make_gateway(CONFIG + ("" if fast else "http: {fast_path: false}\n"))
    seen = []
    async with raw_front(gateway) as client:
        number = 1
        for key in (KEY, KEY, ANALYST):
            auth = {"authorization": f"Bearer {key}"}
            if era == "legacy":
                headers = await handshake_session(client, auth)
            for second, method in enumerate(LISTS + LISTS):
                body: dict[str, Any] = {"jsonrpc": "2.0", "id": number, "method": method, "params": {}}
                if era != "legacy":
                    headers = {**HEADERS, **auth, "mcp-protocol-version": MODERN, "mcp-method": method}
                    body["params"] = {"_meta": modern_call(0, "x")["params"]["_meta"]}
                if refused and second >= len(LISTS):  # the same list, by a request the SDK refuses
                    body["params"]["_meta"] = {**body["params"].get("_meta", {}), "progressToken": [1]}
                number += 1
                response = await client.post("/mcp", json=body, headers=headers)
                kept = {
                    k: v for k, v in response.headers.items() if k not in ("x-request-id", "mcp-session-id")
                }
                seen.append((response.status_code, kept, response.content))
    assert refused or (list_counted(gateway) > 0) == fast, "the path under test answered lists"
    return seen


@pytest.mark.asyncio
@pytest.mark.parametrize("era", ["legacy", MODERN])
@pytest.mark.parametrize("refused", [False, True], ids=["valid", "refused"])
async def test_lists_are_answered_exactly_as_the_full_relay_answers_them(era: str, refused: bool) -> None:
    full, fast = await list_answers(False, era, refused), await list_answers(True, era, refused)
    assert len(full) == 6 * len(LISTS)
    for number, (slow_answer, fast_answer) in enumerate(zip(full, fast, strict=True), start=1):
        assert fast_answer == slow_answer, number
    analyst_tools = json_of(full[4 * len(LISTS)][2])["result"]["tools"]
    assert {t["name"] for t in analyst_tools} == {"echo_echo", "twice"}, "each principal its own view"


def json_of(body: bytes) -> dict[str, Any]:
    import json

    text = body.decode()
    if text.startswith("event:"):
        text = next(line[6:] for line in text.splitlines() if line.startswith("data: "))
    return json.loads(text)  # type: ignore[no-any-return]


@pytest.mark.asyncio
async def test_a_list_answered_again_changes_when_the_backend_changes() -> None:
    """The kept answer belongs to one index: a backend announcing a new tool gets a new one."""
    from tests.fakes import stateful

    gateway = make_gateway("backends:\n  st: {module: tests.fakes.stateful, session: pooled}\n")
    gateway.notifier.window = 0
    name = "fastlist_added"
    async with (
        http_front(gateway) as front,
        front.client(mode=MODERN) as client,
        front.client(mode="legacy") as actor,
    ):
        for _ in range(3):
            assert f"st_{name}" not in {t.name for t in await client.list_tools()}
        assert list_counted(gateway) >= 1, "answered again from what the relay gave"
        try:
            await actor.call_tool("st_grow", {"name": name})
            with anyio.fail_after(5):
                while f"st_{name}" not in {t.name for t in await client.list_tools()}:  # noqa: ASYNC110
                    await anyio.sleep(0.02)  # the gateway lists the backend again in its own time
        finally:
            stateful.mcp.local_provider.remove_tool(name)


@pytest.mark.asyncio
async def test_a_handshake_era_sdk_client_keeps_its_connection_from_call_to_call() -> None:
    """Answered with JSON (by the fast path, or the front for the SDK's server), the Python SDK's
    client reads each answer whole and keeps its connection; answered with a stream, it stopped
    at the answer and opened a new one per call."""
    from fastmcp import Client

    from gateway.front.connections import protocol_with_header_deadline
    from tests.serving import serving

    opened: list[object] = []
    base: Any = protocol_with_header_deadline(10)

    class Counted(base):  # type: ignore[misc]
        def connection_made(self, transport: Any) -> None:
            opened.append(transport)
            super().connection_made(transport)

    gateway = make_gateway("backends:\n  echo: {module: tests.fakes.echo}\n")
    app = gateway.http_app(transport="http", host="127.0.0.1", port=80)
    async with serving(app, http=Counted) as url, Client(f"{url}/mcp", mode="legacy") as client:
        await client.call_tool_mcp("echo_echo", {"text": "the session is learnt"})  # the SDK's server
        before, served = len(opened), fast_served(gateway)
        for _ in range(3):
            await client.ping()  # the SDK's server answers, the front frames
            await client.call_tool_mcp("echo_echo", {"text": "again"})  # the fast path
        assert fast_served(gateway) == served + 3
        assert len(opened) == before, "no new connection for a request, on either path"
