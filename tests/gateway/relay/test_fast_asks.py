"""What a backend asks a client mid-call (sampling, elicitation, roots) on the fast path: the
calls take it, the client is asked on the call's own stream and its answer reaches the backend,
and the wire carries what the full relay puts on it (but the question's id, which is the
gateway's own), also for a refusal and for a question withdrawn when the call times out."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from typing import Any

import httpx2
import pytest
from fastmcp.client.elicitation import ElicitResult
from fastmcp.client.sampling import SamplingMessage, SamplingParams

from gateway.app import Gateway
from gateway.front.connections import protocol_with_header_deadline
from tests.conftest import make_gateway
from tests.fakes import stateful
from tests.gateway.authed import OPS_KEY, OPS_ONLY, http_front
from tests.gateway.front.raw import HEADERS, INIT
from tests.serving import serving

KEY = OPS_KEY
CONFIG = (
    OPS_ONLY
    + """
backends:
  st: {module: tests.fakes.stateful, request_timeout: 1}
"""
)
OFF = CONFIG + "http: {fast_path: false}\n"
pytestmark = pytest.mark.usefixtures("untraced")


def fast_served(gateway: Gateway) -> float:
    return gateway.metrics.fast_path.labels("tools/call")._value.get()  # type: ignore[no-any-return]


async def _sample(messages: list[SamplingMessage], params: SamplingParams, context: Any) -> str:
    return f"sampled {messages[0].content.text}"  # type: ignore[union-attr]


async def _elicit(message: str, response_type: Any, params: Any, context: Any) -> ElicitResult:
    return ElicitResult(action="accept", content={"answer": f"yes to {message}"})


async def calls(config: str) -> tuple[list[Any], float]:
    """Each asking tool's answer through a client that declares all three, and how many calls
    the fast path served."""
    gateway = make_gateway(config)
    handlers = {"sampling_handler": _sample, "elicitation_handler": _elicit, "roots": ["file:///mine"]}
    async with http_front(gateway) as front, front.client(auth=KEY, mode="legacy", **handlers) as c:
        await c.call_tool_mcp("st_increment", {})  # a new session is learnt here
        before = fast_served(gateway)
        seen = [
            (await c.call_tool_mcp(name, arguments)).content[0].text  # type: ignore[union-attr]
            for name, arguments in (
                ("st_sample", {"prompt": "hi"}),
                ("st_ask", {"question": "ok?"}),
                ("st_roots", {}),
            )
        ]
        return seen, fast_served(gateway) - before


@pytest.mark.asyncio
async def test_a_client_that_can_be_asked_takes_the_fast_path_and_is_asked() -> None:
    fast, served = await calls(CONFIG)
    full, relayed = await calls(OFF)
    assert (served, relayed) == (3, 0)
    assert fast == full
    assert fast[:2] == ["sampled hi", "accept:yes to ok?"] and "file:///mine" in fast[2]


async def asked(fast: bool, link: str, reply: dict[str, Any] | None) -> tuple[list[Any], float]:
    """A `st_sample` call on a real socket (the backend in process or over HTTP), the client
    answering its question with `reply` (`None`: never); the call's stream as messages (question
    ids made alike), and how many calls the fast path served."""
    async with AsyncExitStack() as stack:
        config = CONFIG if fast else OFF
        if link == "http":
            backend = stateful.mcp.http_app(path="/mcp", host_origin_protection=False)
            backend_url = await stack.enter_async_context(serving(backend))
            config = config.replace("module: tests.fakes.stateful", f"url: {backend_url}/mcp")
        return await _asked(make_gateway(config), reply)


async def _asked(gateway: Gateway, reply: dict[str, Any] | None) -> tuple[list[Any], float]:
    app = gateway.http_app(transport="http", host="127.0.0.1", port=80)
    init = {**INIT, "params": {**INIT["params"], "capabilities": {"sampling": {}}}}
    async with serving(app, http=protocol_with_header_deadline(10)) as url:
        await gateway.ensure_catalogs()
        async with httpx2.AsyncClient(
            base_url=url, headers={**HEADERS, "authorization": f"Bearer {KEY}"}
        ) as client:
            opened = await client.post("/mcp", json=init)
            client.headers["mcp-session-id"] = opened.headers["mcp-session-id"]
            client.headers["mcp-protocol-version"] = "2025-11-25"
            await client.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"})
            await client.post("/mcp", json=_call(2, "st_increment", {}))
            before = fast_served(gateway)
            seen: list[Any] = []
            call = _call(3, "st_sample", {"prompt": "hi"})
            async with client.stream("POST", "/mcp", json=call) as response:
                assert response.headers["content-type"] == "text/event-stream"
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    message = json.loads(line[5:])
                    seen.append(message)
                    if message.get("method") == "sampling/createMessage" and reply is not None:
                        answer = await client.post(
                            "/mcp", json={"jsonrpc": "2.0", "id": message["id"], **reply}
                        )
                        seen.append(["answer acknowledged", answer.status_code, answer.text])
            return _ids(seen), fast_served(gateway) - before


def _ids(seen: list[Any]) -> list[Any]:
    """The stream with the question's id (a number from the SDK, `fast-N` from the fast path)
    written one way where it appears (the question, its withdrawal), the call's own id kept, and
    no trace context (a backend traced by an earlier test stamps its own on the question)."""
    asked = [m["id"] for m in seen if isinstance(m, dict) and m.get("method") == "sampling/createMessage"]
    alike: list[Any] = []
    for message in seen:
        if isinstance(message, dict) and asked and message.get("id") == asked[0] and "method" in message:
            message = {**message, "id": "Q"}
        params = message.get("params") if isinstance(message, dict) else None
        if isinstance(params, dict) and asked and params.get("requestId") == asked[0]:
            message = {**message, "params": {**params, "requestId": "Q"}}
        if isinstance(params, dict) and isinstance(params.get("_meta"), dict):
            meta = {k: v for k, v in params["_meta"].items() if k not in ("traceparent", "tracestate")}
            message = {**message, "params": {**message["params"], "_meta": meta}}
        alike.append(message)
    return alike


def _call(request_id: int, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


@pytest.mark.asyncio
@pytest.mark.parametrize("link", ["module", "http"])
@pytest.mark.parametrize(
    "reply",
    [
        {"result": {"role": "assistant", "content": {"type": "text", "text": "fine"}, "model": "m"}},
        {"error": {"code": -1, "message": "the user said no"}},
        None,
    ],
    ids=["answered", "refused", "never answered"],
)
async def test_the_wire_carries_what_the_full_relay_puts_on_it(
    link: str, reply: dict[str, Any] | None
) -> None:
    fast, served = await asked(True, link, reply)
    full, relayed = await asked(False, link, reply)
    assert (served, relayed) == (1, 0)
    assert fast == full
    question = fast[0]
    assert question["method"] == "sampling/createMessage" and question["id"] == "Q"
    if reply is None and link == "http":  # timed out: the question withdrawn before the error
        assert fast[1] == {
            "jsonrpc": "2.0",
            "method": "notifications/cancelled",
            "params": {"requestId": "Q", "reason": "caller cancelled"},
        }
    elif reply is not None:
        assert fast[1] == ["answer acknowledged", 202, ""]
    assert fast[-1]["id"] == 3
