"""`StdioLink`: a backend as a child process per session, speaking MCP on its stdin/stdout.

The command comes from the config only (never from a request); a leading `python` runs the
gateway's own interpreter. The child's environment is the SDK's small safe set plus the
backend's `env` and `MCP_TOOL_PREFIX` (its namespace), nothing else of the gateway's. A process
started ahead of the gateway (`gateway.upstream.links.headstart`) serves the first session.
"""

from __future__ import annotations

import sys
from contextlib import AbstractAsyncContextManager
from pathlib import Path

from mcp.client.stdio import StdioServerParameters, stdio_client

from gateway.config import BackendConfig
from gateway.upstream.links import headstart
from gateway.upstream.links.base import HopIdentity, Link, Streams


class StdioLink(Link):
    """A subprocess per session, speaking MCP over its stdin/stdout."""

    kind = "stdio"

    def __init__(self, name: str, config: BackendConfig, *, base_dir: Path, namespace: str) -> None:
        super().__init__(name, config)
        self.launch = headstart.launch_for(config, base_dir=base_dir, namespace=namespace)
        launch = self.launch
        self.parameters = StdioServerParameters(
            command=launch.program, args=list(launch.args), env=dict(launch.env), cwd=launch.cwd
        )

    def connect(self, hop: HopIdentity | None = None) -> AbstractAsyncContextManager[Streams]:
        started = headstart.take(self.launch)
        if started is not None:
            return headstart.adopt(started)
        # The child's stderr is the gateway process's own (not a replaced sys.stderr).
        errlog = sys.__stderr__ if sys.__stderr__ is not None else sys.stderr
        return stdio_client(self.parameters, errlog=errlog)

    def describe(self) -> str:
        command = " ".join(self.config.command or ())
        return f"stdio `{command}`"
