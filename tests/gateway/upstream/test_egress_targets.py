"""Where backends may be, and redirects (RELIABILITY.md §5 item 29): every address on the
checklist, in any notation, refused unless `egress.allow` lists it, and a backend's 302 to the
metadata service never followed.

The gateway's default allowlist is loopback (`127.0.0.0/8`, `::1`, `localhost`), so loopback
targets are refused here under an allowlist that does not hold it, and the other targets are
refused under the default. The redirect tests put a stand-in HTTP transport under the backend's
own client: nothing is listening and nothing leaves the process.
"""

from __future__ import annotations

import ast
import socket
from typing import Any

import anyio
import anyio._core._sockets
import httpx2
import pytest

from gateway.config import parse_config
from gateway.errors import ConfigError
from gateway.upstream.http import hardened_client
from tests.conftest import ROOT, connected, free_port, make_gateway

TARGETS = {
    "169.254.169.254": "169.254.169.254/32",
    "127.0.0.1": "127.0.0.1/32",
    "10.0.0.1": "10.0.0.0/8",
    "[::ffff:127.0.0.1]": "127.0.0.1/32",
    "2130706433": "127.0.0.1/32",
    "0177.0.0.1": "127.0.0.1/32",
    "[fd00::1]": "fd00::/8",
    "metadata.google.internal": "metadata.google.internal",
}
"""Each target of the checklist, and the `egress.allow` entry that admits it."""
METADATA_URL = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"


def backend_at(host: str, allow: list[str]) -> str:
    return f"egress: {{allow: {allow!r}}}\nbackends:\n  x:\n    url: http://{host}:8080/mcp\n"


@pytest.mark.parametrize("host", list(TARGETS))
def test_each_target_is_refused_at_load_unless_allowed(host: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(backend_at(host, ["192.0.2.0/24"]), environ={})
    assert "backends.x.url" in refused.value.problems[0] and "egress.allow" in refused.value.problems[0]


@pytest.mark.parametrize(("host", "entry"), list(TARGETS.items()))
def test_each_target_is_accepted_once_listed(host: str, entry: str) -> None:
    config = parse_config(backend_at(host, [entry]), environ={})
    assert config.backends["x"].url == f"http://{host}:8080/mcp"


@pytest.mark.parametrize("host", [h for h, entry in TARGETS.items() if entry != "127.0.0.1/32"])
def test_the_default_allowlist_refuses_every_non_loopback_target(host: str) -> None:
    with pytest.raises(ConfigError):
        parse_config(f"backends:\n  x:\n    url: http://{host}:8080/mcp\n", environ={})


class Redirecting(httpx2.AsyncBaseTransport):
    """Answers every request with a 302 to the metadata service, recording what was asked."""

    def __init__(self) -> None:
        self.urls: list[httpx2.URL] = []

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.urls.append(request.url)
        return httpx2.Response(302, headers={"location": METADATA_URL})


@pytest.mark.asyncio
async def test_the_upstream_client_never_follows_a_redirect() -> None:
    transport = Redirecting()
    async with hardened_client(timeout=httpx2.Timeout(5), transport=transport, egress=None) as client:
        response = await client.get("http://127.0.0.1:9/mcp")
    assert response.status_code == 302 and [str(u) for u in transport.urls] == ["http://127.0.0.1:9/mcp"]


@pytest.mark.asyncio
async def test_a_backend_redirecting_to_the_metadata_service_is_not_followed() -> None:
    """The backend fails; the gateway asked the backend, and nothing else."""
    gateway = make_gateway(
        "backends:\n  b: {url: 'http://127.0.0.1:9/mcp'}\n  e: {module: tests.fakes.echo}\n"
    )
    transport = Redirecting()
    gateway.backends["b"].link.transport._inner = transport  # type: ignore[attr-defined]
    async with connected(gateway) as client:
        names = {t.name for t in await client.list_tools()}
        state, error = gateway.backends["b"].state, gateway.backends["b"].last_error
    assert "e_echo" in names and not any(n.startswith("b_") for n in names)
    assert state == "failed" and error is not None and "not followed" in error
    assert transport.urls and {(u.host, u.port) for u in transport.urls} == {("127.0.0.1", 9)}


def test_every_upstream_http_client_comes_from_the_one_factory() -> None:
    """No module but `gateway.upstream.http` builds an `httpx2.AsyncClient` (whose default would
    be its own), so `follow_redirects=False` holds for every backend, API and document."""
    builders = []
    for path in sorted((ROOT / "gateway").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            imported = isinstance(node, ast.ImportFrom) and (node.module or "").startswith("httpx")
            if imported and {a.name for a in node.names} & {"AsyncClient", "Client"}:  # type: ignore[union-attr]
                builders.append(f"{path.relative_to(ROOT)} imports it")
            func = node.func if isinstance(node, ast.Call) else None
            if (
                isinstance(func, ast.Attribute)
                and func.attr in ("AsyncClient", "Client")
                and isinstance(func.value, ast.Name)
                and func.value.id.startswith("httpx")
            ):
                builders.append(str(path.relative_to(ROOT)))
    assert builders == ["gateway/upstream/http.py"], builders


@pytest.mark.asyncio
async def test_a_rebinding_name_never_leads_past_the_allowlist(monkeypatch: pytest.MonkeyPatch) -> None:
    """A name that answers 127.0.0.1 (allowed) when the backend is checked and 127.0.0.2 (not
    allowed) after: each connection resolves it once, checks that answer, and connects to that
    very address, so the second answer is refused and never connected to."""
    port = free_port()  # nothing listens there, on either address
    answers: list[str] = []
    dialled: list[str] = []

    async def rebinding(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host != "backend.rebind.test":
            return await real(host, port, *args, **kwargs)
        answers.append("127.0.0.1" if not answers else "127.0.0.2")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[-1], port))]

    async def dial(remote_host: Any, *args: Any, **kwargs: Any) -> Any:
        dialled.append(str(remote_host))
        return await real_connect(remote_host, *args, **kwargs)

    real, real_connect = anyio._core._sockets.getaddrinfo, anyio.connect_tcp
    monkeypatch.setattr(anyio, "getaddrinfo", rebinding)  # what the egress check asks
    monkeypatch.setattr(anyio._core._sockets, "getaddrinfo", rebinding)  # what connecting asks
    monkeypatch.setattr(anyio, "connect_tcp", dial)
    gateway = make_gateway(
        "egress: {allow: ['127.0.0.1/32']}\n"
        f"backends:\n  b: {{url: 'http://backend.rebind.test:{port}/mcp', connect_timeout: 2s,"
        " optional: true}\n"
        "  e: {module: tests.fakes.echo}\n"
    )
    async with connected(gateway) as client:
        await client.list_tools()
    assert answers[:2] == ["127.0.0.1", "127.0.0.2"], answers
    assert "backend.rebind.test" not in dialled, "connections go to the checked address, not the name"
    assert "127.0.0.2" not in dialled, dialled
