"""Handshake-era sessions at the HTTP front (RELIABILITY.md §5 item 28): what their ids look like,
who may use one, what a request without one or with an unknown protocol version gets, and two
principals with 50 concurrent clients each never seeing each other's sessions or state.

The gateway's real HTTP front in process (authentication included), no socket.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
from fastmcp.utilities.asgi_transport import run_asgi_lifespan
from mcp.server import sse

from tests.conftest import make_gateway
from tests.gateway.authed import http_front
from tests.gateway.front.raw import HEADERS, INIT

ALICE = "alice-key-0123456789abcdef"
BOB = "bob-key-0123456789abcdefgh"
KEYS = f"""
auth:
  api_keys:
    alice: {{key: "{ALICE}"}}
    bob: {{key: "{BOB}"}}
"""
CONFIG = KEYS + "backends:\n  echo: {module: tests.fakes.echo}\n"
LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
LEGACY = "2025-11-25"


@asynccontextmanager
async def front(config: str = CONFIG) -> AsyncIterator[httpx2.AsyncClient]:
    app = make_gateway(config).http_app(transport="http", host="127.0.0.1", port=80)
    async with (
        run_asgi_lifespan(app),
        httpx2.AsyncClient(transport=httpx2.ASGITransport(app=app), base_url="http://127.0.0.1") as client,
    ):
        yield client


def headers(key: str, **extra: str) -> dict[str, str]:
    return {**HEADERS, "authorization": f"Bearer {key}", **extra}


async def open_session(client: httpx2.AsyncClient, key: str = ALICE) -> str:
    response = await client.post("/mcp", json=INIT, headers=headers(key))
    assert response.status_code == 200, response.text
    return response.headers["mcp-session-id"]


async def in_session(
    client: httpx2.AsyncClient, key: str, session: str, version: str = LEGACY
) -> httpx2.Response:
    extra = {"mcp-session-id": session, "mcp-protocol-version": version}
    return await client.post("/mcp", json=LIST, headers=headers(key, **extra))


@pytest.mark.asyncio
class TestSessionIds:
    async def test_ids_are_visible_ascii_and_never_repeat(self) -> None:
        async with front() as client:
            ids = [await open_session(client) for _ in range(50)]
        assert len(set(ids)) == 50
        assert all(len(i) >= 32 and all(0x21 <= ord(c) <= 0x7E for c in i) for i in ids)

    async def test_ids_carry_128_random_bits(self) -> None:
        """No bit is fixed: a version-4 UUID's version nibble (4) and variant bits (10) vary too."""
        async with front() as client:
            ids = [await open_session(client) for _ in range(64)]
        assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
        assert len({i[12] for i in ids}) > 1, "the version nibble is random"
        assert len({int(i[16], 16) >> 2 for i in ids}) > 1, "the variant bits are random"
        assert not all(_is_uuid4(i) for i in ids)

    async def test_sse_sessions_are_named_the_same_way(self) -> None:
        """The SSE transport draws its session ids from the same 128 random bits."""
        make_gateway("backends: {}\n").http_app(transport="sse", host="127.0.0.1", port=80)
        ids = [sse.uuid4().hex for _ in range(64)]
        assert len({i[12] for i in ids}) > 1 and not all(_is_uuid4(i) for i in ids)


def _is_uuid4(text: str) -> bool:
    try:
        return uuid.UUID(text).version == 4 and len(text) == 32
    except ValueError:
        return False


@pytest.mark.asyncio
class TestWhoMayUseASession:
    async def test_another_principal_replaying_an_id_gets_404_and_the_owner_goes_on(self) -> None:
        async with front() as client:
            session = await open_session(client, ALICE)
            stolen = await in_session(client, BOB, session)
            owned = await in_session(client, ALICE, session)
        assert stolen.status_code == 404 and stolen.json() == {"error": "session not found"}
        assert owned.status_code == 200

    async def test_an_unknown_session_is_404(self) -> None:
        async with front() as client:
            await open_session(client)
            response = await in_session(client, ALICE, uuid.uuid4().hex)
        assert response.status_code == 404 and "Session not found" in response.text

    async def test_a_request_without_a_session_that_needs_one_is_400(self) -> None:
        async with front() as client:
            response = await client.post(
                "/mcp", json=LIST, headers=headers(ALICE, **{"mcp-protocol-version": LEGACY})
            )
        assert response.status_code == 400 and "Missing session ID" in response.text


@pytest.mark.asyncio
class TestProtocolVersion:
    @pytest.mark.parametrize("version", ["1999-01-01", "2099-01-01", "not-a-version"])
    async def test_an_unsupported_version_in_a_session_is_400(self, version: str) -> None:
        async with front() as client:
            session = await open_session(client)
            response = await in_session(client, ALICE, session, version)
        assert response.status_code == 400

    @pytest.mark.parametrize("version", ["1999-01-01", "2099-01-01"])
    async def test_an_unsupported_version_without_a_session_is_400_naming_it(self, version: str) -> None:
        meta = {
            "io.modelcontextprotocol/protocolVersion": version,
            "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"},
            "io.modelcontextprotocol/clientCapabilities": {},
        }
        body = {**LIST, "params": {"_meta": meta}}
        extra = {"mcp-protocol-version": version, "mcp-method": "tools/list"}
        async with front() as client:
            response = await client.post("/mcp", json=body, headers=headers(ALICE, **extra))
        assert response.status_code == 400
        assert response.json()["error"]["message"] == "Unsupported protocol version"
        assert response.json()["error"]["data"]["requested"] == version


PER_CLIENT = (
    KEYS
    + """
backends:
  st:
    module: tests.fakes.stateful
    mode: legacy
    session: per_client
    max_client_sessions_per_principal: 50
"""
)
CLIENTS = 50


@pytest.mark.asyncio
async def test_two_principals_with_50_clients_each_stay_apart() -> None:
    """All 100 sessions open at once; each keeps its own backend state (a counter per session),
    and no session answers the other principal."""
    gateway = make_gateway(PER_CLIENT)
    counted: dict[tuple[str, int], tuple[int, int]] = {}
    owners: dict[str, str] = {}
    opened = 0
    all_open = anyio.Event()
    async with http_front(gateway) as server:

        async def one(key: str, index: int) -> None:
            nonlocal opened
            async with server.client(auth=key, mode="legacy") as client:
                first = (await client.call_tool("st_increment", {})).data
                session = client.transport.get_session_id()  # type: ignore[attr-defined]
                assert session is not None
                owners[session] = key
                opened += 1
                if opened == 2 * CLIENTS:
                    all_open.set()
                await all_open.wait()
                second = (await client.call_tool("st_increment", {})).data
                counted[(key, index)] = (first, second)
                await replayed_by_the_other(server, session, BOB if key == ALICE else ALICE)

        with anyio.fail_after(60):
            async with anyio.create_task_group() as group:
                for key in (ALICE, BOB):
                    for index in range(CLIENTS):
                        group.start_soon(one, key, index)
    assert len(owners) == 2 * CLIENTS, "every client had a session of its own"
    assert set(counted.values()) == {(1, 2)}, "each client counted only its own calls"
    assert len(counted) == 2 * CLIENTS


async def replayed_by_the_other(server: Any, session: str, other: str) -> None:
    async with server.http_client() as raw:
        response = await in_session(raw, other, session)
    assert response.status_code == 404, (session, response.text)


@pytest.mark.asyncio
async def test_a_session_id_given_twice_is_400_and_reaches_no_session() -> None:
    """Bob naming his own session first and Alice's second: the owner check and the server must
    not read different ones; neither is used."""
    async with front() as client:
        alices = await open_session(client, ALICE)
        bobs = await open_session(client, BOB)
        pairs = [*headers(BOB, **{"mcp-protocol-version": LEGACY}).items()]
        for ids in ((bobs, alices), (alices, bobs)):
            twice = [*pairs, *(("mcp-session-id", session) for session in ids)]
            response = await client.post("/mcp", json=LIST, headers=twice)
            assert response.status_code == 400
            assert response.json() == {"error": "the mcp-session-id header is given more than once"}
        assert (await in_session(client, ALICE, alices)).status_code == 200
