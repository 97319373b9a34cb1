"""A backend that reports the HTTP headers it received, to prove what crosses the gateway."""

from __future__ import annotations

from fastmcp import FastMCP
from fastmcp.server.dependencies import get_http_headers

mcp: FastMCP = FastMCP("recorder")


@mcp.tool
def headers() -> dict[str, str]:
    """The HTTP headers of the request that called this tool (all of them)."""
    return dict(get_http_headers(include_all=True))


if __name__ == "__main__":
    from backends._serve import main

    main("recorder", lambda: mcp)
