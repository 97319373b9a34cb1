"""The benchmark backend: a FastMCP server with 20 trivial tools, an echo and a sleeping tool.

python -m bench.backend --transport http --port 8301 [--json-response]
"""

from __future__ import annotations

import anyio
from fastmcp import FastMCP

from backends._serve import main

TOOL_COUNT = 20


def create_server() -> FastMCP:
    """The server: `noop_0` … `noop_19`, `echo(text)`, `sleep_ms(ms)`."""
    server: FastMCP = FastMCP("bench")

    def make_noop(index: int) -> None:
        def noop(value: int = 0) -> int:
            return value + index

        server.tool(noop, name=f"noop_{index}", description=f"Trivial tool number {index}.")

    for index in range(TOOL_COUNT):
        make_noop(index)

    @server.tool
    async def echo(text: str) -> str:
        """Return the text."""
        return text

    @server.tool
    async def sleep_ms(ms: int = 50) -> int:
        """Sleep for `ms` milliseconds, then return it."""
        await anyio.sleep(ms / 1000)
        return ms

    return server


if __name__ == "__main__":
    main("bench", create_server)
