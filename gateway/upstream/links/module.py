"""`ModuleLink`: a FastMCP server imported into the gateway's process.

`module: package.module` (attribute `mcp`) or `package.module:attribute`; the config's directory
is importable. The server's lifespan runs once; each session is a pair of in-memory streams,
isolated from the caller's request (`inmemory`).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from fastmcp import FastMCP

from gateway.config import BackendConfig
from gateway.errors import ConfigError
from gateway.upstream.links.base import HopIdentity, Link, Streams
from gateway.upstream.links.inmemory import serve_in_memory


class ModuleLink(Link):
    """A FastMCP server imported into the gateway process (the config's directory is importable)."""

    kind = "module"

    def __init__(self, name: str, config: BackendConfig, *, base_dir: Path) -> None:
        super().__init__(name, config)
        self._base_dir = base_dir
        self._server: FastMCP[Any] | None = None

    def load(self) -> FastMCP[Any]:
        """Import the module and find the server (`module` or `module:attribute`)."""
        if self._server is not None:
            return self._server
        assert self.config.module is not None
        module_name, _, attribute = self.config.module.partition(":")
        if str(self._base_dir) not in sys.path:
            sys.path.append(str(self._base_dir))
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise ConfigError(
                [f"backends.{self.name}.module: cannot import {module_name!r}: {error}"]
            ) from None
        value = getattr(module, attribute or "mcp", None)
        if callable(value) and not isinstance(value, FastMCP):
            value = value()
        if not isinstance(value, FastMCP):
            raise ConfigError(
                [
                    f"backends.{self.name}.module: {self.config.module!r} holds no FastMCP server "
                    f"(looked for attribute {attribute or 'mcp'!r})"
                ]
            )
        self._server = value
        return value

    async def start(self, stack: AsyncExitStack) -> None:
        server = self.load()
        await stack.enter_async_context(server._lifespan_manager())

    def connect(self, hop: HopIdentity | None = None) -> AbstractAsyncContextManager[Streams]:
        return self._connect()

    @asynccontextmanager
    async def _connect(self) -> AsyncIterator[Streams]:
        async with serve_in_memory(self.load()) as streams:
            yield streams

    def describe(self) -> str:
        return f"in-process {self.config.module}"
