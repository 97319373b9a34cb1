"""`OpenApiLink`: a REST API backend as the gateway sees it, a link to an in-process MCP server.

The server is built once, from the document, at startup (a document URL that does not answer
then is fetched again by the next session); every session is a pair of in-memory streams, as
for a `module` backend, isolated from the caller's request (`gateway/upstream/links/inmemory.py`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio
import anyio.abc
import httpx2
from fastmcp import FastMCP

from gateway.config import BackendConfig
from gateway.config.openapi import OpenApiConfig
from gateway.egress import Egress, EgressError
from gateway.errors import ConfigError
from gateway.upstream.links.base import HopIdentity, Link, Streams
from gateway.upstream.links.inmemory import serve_in_memory
from gateway.upstream.links.openapi.document import fetch_document, read_document_file, resolve_base_url
from gateway.upstream.links.openapi.server import api_client, build_server, invalid_document, origin_of

logger = logging.getLogger("gateway.openapi")


class OpenApiLink(Link):
    """A REST API behind an in-process MCP server built from its OpenAPI document."""

    kind = "openapi"

    def __init__(self, name: str, config: BackendConfig, *, base_dir: Path, egress: Egress) -> None:
        super().__init__(name, config)
        assert config.openapi is not None
        self.api: OpenApiConfig = config.openapi
        self.base_url: str | None = None
        """Where the API is, once the document has been read."""
        self._base_dir = base_dir
        self._egress = egress
        self._server: FastMCP[Any] | None = None
        self._group: anyio.abc.TaskGroup | None = None
        self._lock = anyio.Lock()

    def __repr__(self) -> str:
        return f"<OpenApiLink {self.name} {self.describe()}>"

    async def start(self, stack: AsyncExitStack) -> None:
        # What is built later (the server's lifespan, the API client) is held by a task of this
        # group, in the task that entered `stack`, and ends when `stack` closes.
        self._group = await stack.enter_async_context(anyio.create_task_group())
        stack.callback(self._group.cancel_scope.cancel)
        with contextlib.suppress(httpx2.TransportError, httpx2.HTTPStatusError, EgressError):
            await self.server()  # a document URL that does not answer is logged; sessions retry

    async def server(self) -> FastMCP[Any]:
        """The in-process server, built from the document on first use."""
        if self._server is not None:
            return self._server
        async with self._lock:
            if self._server is None:
                try:
                    self._server = await self._build()
                except (httpx2.TransportError, httpx2.HTTPStatusError, EgressError) as error:
                    logger.warning(
                        "backend %s: openapi.spec %s: %s",
                        self.name,
                        self.api.spec,
                        error if not isinstance(error, httpx2.TransportError) else type(error).__name__,
                    )
                    raise
            return self._server

    async def _build(self) -> FastMCP[Any]:
        where = f"backends.{self.name}.openapi"
        api = self.api
        if api.spec_url is None:
            document = await read_document_file(api.spec, base_dir=self._base_dir, where=f"{where}.spec")
        else:
            parts = urlsplit(api.spec_url)
            assert parts.hostname is not None
            await self._egress.check_host(parts.hostname, origin_of(api.spec_url)[2])
            same_origin = api.base_url is not None and origin_of(api.base_url) == origin_of(api.spec_url)
            document = await fetch_document(
                api.spec_url,
                headers=api.secret_headers() if same_origin else {},
                timeout=api.timeout,
                where=f"{where}.spec",
                egress=self._egress,
            )
        base_url = resolve_base_url(api, document, where=f"{where}.base_url")
        try:
            self._egress.check_literal(origin_of(base_url)[1])
        except EgressError as error:
            raise ConfigError([f"{where}.base_url: {error}"]) from None
        client = api_client(api, base_url, pool_size=self.config.pool_size, egress=self._egress)
        try:
            server = build_server(self.name, document, client, api)
        except ValueError as error:
            await client.aclose()
            raise ConfigError(
                [f"{where}.spec: not a valid OpenAPI document: {invalid_document(error)}"]
            ) from None
        assert self._group is not None, "link not started"
        await self._group.start(self._hold, server, client)
        self.base_url = base_url
        return server

    @staticmethod
    async def _hold(
        server: FastMCP[Any],
        client: httpx2.AsyncClient,
        *,
        task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        async with client, server._lifespan_manager():
            task_status.started()
            await anyio.sleep_forever()

    async def check(self) -> None:
        if self.base_url is not None:
            _, host, port = origin_of(self.base_url)
            await self._egress.check_host(host, port)

    def connect(self, hop: HopIdentity | None = None) -> AbstractAsyncContextManager[Streams]:
        return self._connect()

    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[Streams]:
        server = await self.server()
        async with serve_in_memory(server) as streams:
            yield streams

    def describe(self) -> str:
        return f"openapi {self.base_url or self.api.base_url or self.api.spec}"
