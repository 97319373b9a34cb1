"""An in-process backend that reports what it can see of the request that reached it: the HTTP
headers and the access token fastmcp would hand its tools."""

from __future__ import annotations

from fastmcp import FastMCP
from fastmcp.server.dependencies import get_access_token, get_http_headers

mcp: FastMCP = FastMCP("peek")


@mcp.tool
def seen() -> dict[str, object]:
    """The header names and the access token's client id this server sees."""
    token = get_access_token()
    return {
        "headers": sorted(get_http_headers(include_all=True)),
        "token": token.client_id if token is not None else None,
    }
