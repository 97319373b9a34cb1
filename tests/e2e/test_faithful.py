"""Faithful by default: through a gateway whose config names only the backends (no `mode`, no
`session`), a FastMCP 4 backend behaves for each client exactly as it does directly.

The backend (`tests/fakes/faithful.py`) samples, elicits (an enum with a default, a number with a
default), asks for roots, reports what its client declared, keeps a note per session, logs
after a call has returned, serves a subscribable resource and lists a tool only to clients that
can sample. It runs behind the gateway over stdio, streamable HTTP and SSE; each scenario runs
directly and through the gateway, for a 2025-11-25 client and for a 2026-07-28 client, and the
two must match (names aside).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from fastmcp import Client
from fastmcp.client.elicitation import ElicitResult
from fastmcp.client.messages import MessageHandler
from fastmcp.client.transports import StdioTransport
from mcp.client.subscriptions import listen

from tests.conftest import PYTHON, ROOT, free_port
from tests.e2e.support import gateway_command, running

pytestmark = pytest.mark.e2e

ERAS = {"2025-11-25": "legacy", "2026-07-28": "2026-07-28"}
LINKS = ("stdio", "http", "sse")


@pytest.fixture(scope="module")
def targets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, dict[str, Any]]]:
    """The backend over each link, directly and through one gateway with the default config."""
    work = tmp_path_factory.mktemp("faithful")
    http_port, sse_port, gw_port = free_port(), free_port(), free_port()
    serve = [PYTHON, "-m", "tests.fakes.faithful"]
    config = work / "gateway.yaml"
    config.write_text(
        "backends:\n"
        f"  fs:\n    command: [python, -m, tests.fakes.faithful]\n    cwd: {ROOT}\n"
        f"  fh:\n    url: http://127.0.0.1:{http_port}/mcp\n"
        f"  fe:\n    url: http://127.0.0.1:{sse_port}/sse\n"
    )
    with (
        running(
            [*serve, "--transport", "http", "--port", str(http_port)],
            log=work / "http.log",
            ready_url=f"http://127.0.0.1:{http_port}/mcp",
        ),
        running(
            [*serve, "--transport", "sse", "--port", str(sse_port)],
            log=work / "sse.log",
            ready_url=f"http://127.0.0.1:{sse_port}/",  # any answer will do (/sse never ends)
        ),
        running(
            gateway_command(config, "run", "--port", str(gw_port)),
            log=work / "gateway.log",
            ready_url=f"http://127.0.0.1:{gw_port}/readyz",
            expect_status=200,
        ),
    ):
        gateway = f"http://127.0.0.1:{gw_port}/mcp"
        yield {
            "stdio": {"direct": _stdio, "prefix": "fs"},
            "http": {"direct": f"http://127.0.0.1:{http_port}/mcp", "prefix": "fh"},
            "sse": {"direct": f"http://127.0.0.1:{sse_port}/sse", "prefix": "fe"},
            "gateway": {"url": gateway},
        }


def _stdio() -> StdioTransport:
    """A process of its own for each direct client (no session shared between two clients)."""
    return StdioTransport(PYTHON, ["-m", "tests.fakes.faithful"], cwd=str(ROOT), keep_alive=False)


class Notes(MessageHandler):
    """What a client hears outside its requests."""

    def __init__(self) -> None:
        super().__init__()
        self.logs: list[str] = []
        self.updates: list[str] = []
        self.updated = anyio.Event()

    async def on_logging_message(self, message: Any) -> None:
        self.logs.append(str(message.params.data))

    async def on_resource_updated(self, message: Any) -> None:
        self.updates.append(str(message.params.uri))
        self.updated.set()


def client(target: Any, era: str, *, name: str, notes: Notes, sampling: bool = True) -> Client[Any]:
    asked: list[Any] = []

    async def on_sampling(messages: Any, params: Any, context: Any) -> str:
        return f"sampled for {name}"

    async def on_elicitation(message: str, response_type: Any, params: Any, context: Any) -> ElicitResult:
        asked.append(params.requested_schema)
        return ElicitResult(action="accept", content={"color": "blue", "size": 5})

    options: dict[str, Any] = {
        "mode": era,
        "elicitation_handler": on_elicitation,
        "roots": [f"file:///clients/{name}"],
        "message_handler": notes,
    }
    if sampling:
        options["sampling_handler"] = on_sampling
    made: Client[Any] = Client(target() if callable(target) else target, **options)
    made.asked = asked  # type: ignore[attr-defined]
    return made


async def _outcome(call: Any) -> Any:
    """A call's structured answer, or its error text (compared the same way on both sides)."""
    try:
        result = await call
    except Exception as error:  # the client raises the tool's error: compare what it says
        return {"error": str(error).split(":")[-1].strip()}
    return result.data


async def scenario(target: Any, era: str, prefix: str, uri_ns: str) -> dict[str, Any]:
    """Everything the backend does differently per client, as one client sees it."""
    notes = Notes()
    named = (lambda tool: f"{prefix}_{tool}") if prefix else (lambda tool: tool)
    uri = f"counter://{uri_ns}value" if uri_ns else "counter://value"
    note = f"note://{uri_ns}mine" if uri_ns else "note://mine"
    seen: dict[str, Any] = {}
    async with client(target, era, name="ada", notes=notes) as ada:
        tools = {t.name.removeprefix(f"{prefix}_") for t in await ada.list_tools()}
        seen["lists needs_sampling"] = "needs_sampling" in tools
        seen["declared"] = await _outcome(ada.call_tool(named("declared"), {}))
        seen["sample"] = await _outcome(ada.call_tool(named("sample"), {"prompt": "hi"}))
        seen["settings"] = await _outcome(ada.call_tool(named("settings"), {}))
        seen["schema asked"] = ada.asked[-1] if ada.asked else None  # type: ignore[attr-defined]
        seen["roots"] = await _outcome(ada.call_tool(named("my_roots"), {}))
        await ada.call_tool(named("remember"), {"text": "ada's"})
        seen["own note"] = (await ada.read_resource(note))[0].text
        await ada.call_tool(named("log_later"), {"count": 3})
        if era == "legacy":
            await ada.session.subscribe_resource(uri)
            await ada.call_tool(named("bump"), {})
            with anyio.fail_after(5):
                await notes.updated.wait()
            with anyio.move_on_after(0.5):
                while len(notes.logs) < 3:  # noqa: ASYNC110 - logs arrive outside any request
                    await anyio.sleep(0.02)
            seen["updates"] = [u.replace(uri_ns, "") for u in notes.updates]
        else:
            # FastMCP 4.1 has no `subscriptions/listen`; the gateway serves it for its 2026
            # clients itself, so this one is not compared, only recorded (see the test).
            heard: list[str] = []
            try:
                async with listen(ada.session, resource_subscriptions=[uri]) as stream:
                    await ada.call_tool(named("bump"), {})
                    with anyio.fail_after(5):
                        event = await stream.__anext__()
                    heard.append(str(getattr(event, "uri", "")).replace(uri_ns, ""))
            except Exception as error:
                heard.append(f"listen refused: {type(error).__name__} {error}")
            seen["listen (2026)"] = heard
        seen["logs after the call"] = sorted(line for line in notes.logs if line.startswith("later"))
    async with client(target, era, name="bob", notes=Notes(), sampling=False) as bob:
        seen["another client's note"] = (await bob.read_resource(note))[0].text
        seen["bob's roots"] = await _outcome(bob.call_tool(named("my_roots"), {}))
        seen["bob declared"] = await _outcome(bob.call_tool(named("declared"), {}))
        seen["bob lists needs_sampling"] = "needs_sampling" in {
            t.name.removeprefix(f"{prefix}_") for t in await bob.list_tools()
        }
        # Refused either way: directly by the client, through the gateway before it is sent
        # (a client is never sent what it did not declare), so only the refusal is compared.
        refused = await _outcome(bob.call_tool(named("sample"), {"prompt": "hi"}))
        seen["bob's sample refused"] = isinstance(refused, dict) and "error" in refused
    return seen


@pytest.mark.parametrize("era", list(ERAS), ids=list(ERAS))
@pytest.mark.parametrize("link", LINKS)
def test_the_backend_behaves_for_each_client_as_it_does_directly(
    targets: dict[str, dict[str, Any]], link: str, era: str
) -> None:
    mode = ERAS[era]
    prefix = targets[link]["prefix"]
    # SSE is a handshake-era transport: a 2026 client meets the same backend over HTTP directly
    baseline = "http" if link == "sse" and mode != "legacy" else link
    direct = anyio.run(scenario, targets[baseline]["direct"], mode, "", "")
    through = anyio.run(scenario, targets["gateway"]["url"], mode, prefix, f"{prefix}/")
    for key, want in direct.items():
        if key == "listen (2026)":
            # Over stdio each backend session is a process of its own: the gateway's subscription
            # and the call that bumps the counter live in different processes (README, Sessions).
            if link != "stdio":
                assert through[key] == ["counter://value"], "the gateway's listen stream carries it"
            continue
        if key == "logs after the call" and mode != "legacy" and link in ("sse", "stdio"):
            # A handshake-era backend's log sent outside any request says nothing of which request
            # it belongs to over SSE and stdio; a 2026 client, on shared sessions, may get it in a
            # later call of its own (README, Sessions). Never more than were sent, never others'.
            assert set(through[key]) <= {"later 0", "later 1", "later 2"}
            continue
        if key == "own note" and mode != "legacy" and link == "sse":
            # SSE backends speak only the handshake era; a 2026 client has no session of its own
            # there, so state kept per session may not be found on its next call (README,
            # Sessions). It is its own or nothing, never another client's.
            assert through[key] in ("ada's", ""), through[key]
            continue
        assert through[key] == want, f"{link}, {era}: {key}: {through[key]!r} where directly {want!r}"
    if mode == "legacy":  # what only the handshake era can do, checked for what it is
        assert direct["sample"] == "sampled for ada" and direct["roots"] == ["file:///clients/ada"]
        assert direct["settings"] == {"action": "accept", "color": "blue", "size": 5}
        assert direct["schema asked"]["properties"]["color"]["default"] == "green"
        assert direct["bob's roots"] == ["file:///clients/bob"]
        assert direct["updates"] == ["counter://value"] and len(direct["logs after the call"]) == 3
        assert direct["own note"] == "ada's", "a handshake-era session keeps its note"
    assert direct["another client's note"] == ""
    assert direct["lists needs_sampling"] and not direct["bob lists needs_sampling"]
