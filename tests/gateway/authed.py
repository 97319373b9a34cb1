"""Clients with credentials, in process: the gateway's real HTTP front (authentication, views)
driven through FastMCP's in-process ASGI transport, with no socket and no server process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastmcp.utilities.asgi_transport import run_asgi_lifespan
from fastmcp.utilities.tests import ASGIServer

from gateway.app import Gateway

OPS_KEY = "ops-key-0123456789abcdef"
OPS_ONLY = f'auth:\n  api_keys:\n    ops: {{key: "{OPS_KEY}"}}\n'
"""An `auth` section with one API key, principal `ops`: put before a config's `backends`."""


@asynccontextmanager
async def http_front(gateway: Gateway) -> AsyncIterator[ASGIServer]:
    """The gateway's HTTP app with its lifespan running; `front.client(auth=KEY, mode=era)`."""
    app = gateway.http_app(transport="http", host="127.0.0.1", port=80)
    async with run_asgi_lifespan(app):
        yield ASGIServer(url="http://127.0.0.1/mcp", app=app, transport_type="http")
