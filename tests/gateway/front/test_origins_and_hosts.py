"""The DNS-rebinding and cross-origin guard of the HTTP front, and where it listens by default
(RELIABILITY.md §5 item 27).

The gateway's real HTTP app in process for the headers; `gateway run` with its HTTP server
replaced by a recorder for the default bind address (nothing listens).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastmcp.utilities.asgi_transport import run_asgi_lifespan

import gateway.front.serve
from gateway.cli import EXIT_OK, main
from tests.conftest import make_gateway
from tests.gateway.front.raw import HEADERS, INIT

ECHO = "backends:\n  echo: {module: tests.fakes.echo}\n"


@asynccontextmanager
async def front(config: str = ECHO) -> AsyncIterator[httpx2.AsyncClient]:
    """The front as `gateway run` builds it on 127.0.0.1:8000."""
    app = make_gateway(config).http_app(transport="http", host="127.0.0.1", port=8000)
    async with (
        run_asgi_lifespan(app),
        httpx2.AsyncClient(
            transport=httpx2.ASGITransport(app=app), base_url="http://127.0.0.1:8000"
        ) as client,
    ):
        yield client


async def initialize(client: httpx2.AsyncClient, headers: list[tuple[str, str]]) -> httpx2.Response:
    """An `initialize` with `headers` added as given (repeats kept; a `host` replaces the URL's)."""
    request = client.build_request("POST", "/mcp", json=INIT, headers=HEADERS)
    replaced = {name for name, _ in headers if name == "host"}
    kept = [(k, v) for k, v in request.headers.multi_items() if k not in replaced]
    request.headers = httpx2.Headers([*kept, *headers])
    return await client.send(request)


@pytest.mark.asyncio
class TestOrigin:
    @pytest.mark.parametrize(
        "origins",
        [
            [("origin", "http://evil.example")],
            [("origin", "null")],
            [("origin", "http://127.0.0.1:8000"), ("origin", "http://evil.example")],
            [("origin", "http://127.0.0.1:8000"), ("origin", "http://127.0.0.1:8000")],
        ],
        ids=["foreign", "null", "two, one foreign", "two, both own"],
    )
    async def test_a_foreign_null_or_repeated_origin_is_403(self, origins: list[tuple[str, str]]) -> None:
        async with front() as client:
            response = await initialize(client, origins)
        assert response.status_code == 403

    async def test_no_origin_is_a_non_browser_client_and_is_served(self) -> None:
        async with front() as client:
            response = await initialize(client, [])
        assert response.status_code == 200 and "mcp-session-id" in response.headers

    async def test_the_servers_own_origin_is_served(self) -> None:
        """(FastMCP's guard also takes any other loopback origin, any port or scheme, as the
        server's own while it listens on loopback: `http://localhost:3000` is served too.)"""
        async with front() as client:
            response = await initialize(client, [("origin", "http://127.0.0.1:8000")])
        assert response.status_code == 200

    async def test_a_listed_origin_is_served(self) -> None:
        config = "http: {allowed_origins: ['https://app.example']}\n" + ECHO
        async with front(config) as client:
            listed = await initialize(client, [("origin", "https://app.example")])
            other = await initialize(client, [("origin", "https://evil.example")])
        assert listed.status_code == 200 and other.status_code == 403


@pytest.mark.asyncio
class TestHost:
    async def test_a_host_not_in_the_allowlist_is_refused(self) -> None:
        async with front() as client:
            response = await initialize(client, [("host", "gateway.internal")])
        assert response.status_code == 421

    async def test_a_host_in_http_allowed_hosts_is_served(self) -> None:
        async with front("http: {allowed_hosts: [gateway.internal]}\n" + ECHO) as client:
            listed = await initialize(client, [("host", "gateway.internal")])
            other = await initialize(client, [("host", "evil.example")])
        assert listed.status_code == 200 and other.status_code == 421


def test_gateway_run_binds_127_0_0_1_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No `--host`, no `GATEWAY_HOST`, no `.env`: the HTTP server is asked for 127.0.0.1:8000."""
    config = tmp_path / "gateway.yaml"
    config.write_text(ECHO + "gateway: {watch_config: false}\n")
    monkeypatch.chdir(tmp_path)
    for name in ("GATEWAY_HOST", "GATEWAY_PORT", "GATEWAY_TRANSPORT"):
        monkeypatch.delenv(name, raising=False)
    asked: dict[str, Any] = {}

    async def serve_http(app: Any, **options: Any) -> None:
        asked.update(options)

    monkeypatch.setattr(gateway.front.serve, "serve_http", serve_http)
    assert main(["run", "--config", str(config)]) == EXIT_OK
    assert (asked["host"], asked["port"]) == ("127.0.0.1", 8000)
