"""Shared test fixtures: building a gateway from YAML text, free loopback ports, processes."""

from __future__ import annotations

import os
import socket
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastmcp import Client
from fastmcp.client.messages import MessageHandler

from gateway.app import Gateway
from gateway.config import LoadedConfig, parse_config

ROOT = Path(__file__).resolve().parent.parent
TWO_BACKENDS = """
backends:
  echo:
    module: tests.fakes.echo
  rich:
    module: tests.fakes.rich
    namespace: r
"""
"""Two in-process fakes, one with a namespace of its own: the config most relay tests start from."""
PYTHON = sys.executable


def make_gateway(yaml_text: str, *, environ: dict[str, str] | None = None, base_dir: Path = ROOT) -> Gateway:
    """A gateway from inline YAML, with relative paths resolved against the repository."""
    config = parse_config(textwrap.dedent(yaml_text), environ=environ or dict(os.environ))
    return Gateway(LoadedConfig(config, base_dir / "gateway.yaml"))


@asynccontextmanager
async def connected(gateway: Gateway, **client_options: Any) -> AsyncIterator[Client[Any]]:
    """An in-memory client of the gateway (its lifespan runs while the client is open)."""
    async with Client(gateway.server, **client_options) as client:
        await gateway.ensure_catalogs()
        yield client


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=["legacy", "auto"], ids=["2025-11-25", "2026-07-28"])
def era(request: pytest.FixtureRequest) -> Iterator[str]:
    """Both protocol eras at the front: the handshake era and the stateless one."""
    yield request.param


_EXPORTER: Any = None


@pytest.fixture
def untraced(monkeypatch: pytest.MonkeyPatch) -> None:
    """No tracer provider installed, as in a default deployment (an earlier test may have set one:
    with one, FastMCP's server span starts each trace and the fast path steps aside)."""
    from opentelemetry import trace

    monkeypatch.setattr(trace, "_TRACER_PROVIDER", None)


def span_exporter() -> Any:
    """An in-memory OpenTelemetry exporter on the process's tracer provider (OpenTelemetry
    allows one global provider, so it is installed once and cleared for each caller)."""
    global _EXPORTER
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    if _EXPORTER is None:
        provider = trace.get_tracer_provider()
        if not isinstance(provider, TracerProvider):
            provider = TracerProvider()
            trace.set_tracer_provider(provider)
        _EXPORTER = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
    _EXPORTER.clear()
    return _EXPORTER


class ListChanged(MessageHandler):
    """A client message handler that counts `tools/list_changed` notifications."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0
        self._changed = anyio.Event()

    async def on_tool_list_changed(self, message: Any) -> None:
        self.count += 1
        self._changed.set()
        self._changed = anyio.Event()

    async def next_change(self, seen: int = 0, *, within: float = 15.0) -> int:
        """Wait (at most `within` seconds) for a list_changed after the `seen`-th one."""
        with anyio.fail_after(within):
            while self.count == seen:
                await self._changed.wait()
        return self.count


def dump(result: Any) -> dict[str, Any]:
    """A result as JSON, without the server's own identity stamp (it differs per hop)."""
    data: dict[str, Any] = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    data.get("_meta", {}).pop("io.modelcontextprotocol/serverInfo", None)
    if not data.get("_meta"):
        data.pop("_meta", None)
    return data
