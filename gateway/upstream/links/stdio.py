"""`StdioLink`: a backend as a child process per session, speaking MCP on its stdin/stdout.

The command comes from the config only (never from a request); a leading `python` runs the
gateway's own interpreter. The child's environment is the SDK's small safe set plus the
backend's `env` and `MCP_TOOL_PREFIX` (its namespace), nothing else of the gateway's.
"""

from __future__ import annotations

import sys
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from mcp.client.stdio import StdioServerParameters, stdio_client

from gateway.config import BackendConfig
from gateway.upstream.links.base import HopIdentity, Link, Streams

PYTHON_ALIASES = frozenset({"python", "python3"})
NAMESPACE_ENV = "MCP_TOOL_PREFIX"


class StdioLink(Link):
    """A subprocess per session, speaking MCP over its stdin/stdout."""

    kind = "stdio"

    def __init__(self, name: str, config: BackendConfig, *, base_dir: Path, namespace: str) -> None:
        super().__init__(name, config)
        assert config.command is not None
        program, *args = config.command
        if program in PYTHON_ALIASES:
            program = sys.executable
        env = {NAMESPACE_ENV: f"{namespace}_" if namespace else ""}
        env.update(config.env)
        cwd = base_dir / config.cwd if config.cwd else base_dir
        self.parameters = StdioServerParameters(command=program, args=list(args), env=env, cwd=str(cwd))

    def connect(self, hop: HopIdentity | None = None) -> AbstractAsyncContextManager[Streams]:
        # The child's stderr is the gateway process's own (not a replaced sys.stderr).
        errlog = sys.__stderr__ if sys.__stderr__ is not None else sys.stderr
        return stdio_client(self.parameters, errlog=errlog)

    def describe(self) -> str:
        command = " ".join(self.config.command or ())
        return f"stdio `{command}`"
