"""The benchmark backend: a FastMCP server with 20 trivial tools, an echo and a sleeping tool.

    python -m bench.backend --transport http --port 8301 [--json-response]
    python -m bench.backend --transport stdio

Over HTTP it counts the requests it receives (`GET /_count`, `POST /_count/reset`), so the
suite can report how many backend requests one proxied call costs.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Any

import anyio
import uvicorn
from fastmcp import FastMCP

from backends._serve import main as serve_main
from backends._serve import parse_args

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


class Counting:
    """ASGI wrapper: counts requests by method, answers `/_count`."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.counts: Counter[str] = Counter()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/_count"):
            if scope["path"].endswith("/reset"):
                self.counts.clear()
            body = json.dumps(dict(self.counts)).encode()
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        if scope["type"] == "http":
            self.counts[scope["method"]] += 1
        await self.app(scope, receive, send)


def main(argv: list[str] | None = None) -> None:
    args = parse_args("bench", argv)
    if args.transport != "http":
        serve_main("bench", create_server, argv)
        return
    app = create_server().http_app(path="/mcp", json_response=args.json_response or None)
    uvicorn.run(Counting(app), host=args.host, port=args.port, log_level="warning", lifespan="on")


if __name__ == "__main__":
    main(sys.argv[1:])
