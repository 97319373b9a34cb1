"""A FastMCP backend answering a call with the JSON-RPC error its caller names (a tool's own
exception would be an error result instead): `refuse(code)` fails with `code`, `refuse(0)` is fine.

    python -m tests.fakes.refusing     (stdio)
"""

from __future__ import annotations

from typing import Any

from fastmcp import FastMCP
from fastmcp.server.middleware import Middleware, MiddlewareContext
from mcp.shared.exceptions import MCPError


class _Refuse(Middleware):
    async def on_call_tool(self, context: MiddlewareContext[Any], call_next: Any) -> Any:
        code = (context.message.arguments or {}).get("code")
        if isinstance(code, int) and code != 0:
            raise MCPError(code=code, message=f"refused with {code}")
        return await call_next(context)


mcp: FastMCP = FastMCP("refusing", middleware=[_Refuse()])


@mcp.tool
def refuse(code: int) -> str:
    """Fails with the JSON-RPC error `code` (0: answers)."""
    return "fine"


if __name__ == "__main__":
    mcp.run(show_banner=False)
