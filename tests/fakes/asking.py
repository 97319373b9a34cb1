"""A 2026-07-28 backend that asks for input the modern way: it returns `input_required`."""

from __future__ import annotations

import mcp_types
from fastmcp import Context, FastMCP

mcp: FastMCP = FastMCP("asking")


@mcp.tool
async def confirm(question: str, ctx: Context) -> str | mcp_types.InputRequiredResult:
    """Ask the user to confirm (returns input_required, then the answer on the retry)."""
    answer = (ctx.input_responses or {}).get("ok")
    if answer is None:
        return mcp_types.InputRequiredResult(
            input_requests={
                "ok": mcp_types.ElicitRequest(
                    params=mcp_types.ElicitRequestFormParams(
                        message=question,
                        requested_schema={"type": "object", "properties": {"value": {"type": "boolean"}}},
                    )
                )
            }
        )
    return f"{answer.action}:{answer.content}"


if __name__ == "__main__":
    from backends._serve import main

    main("asking", lambda: mcp)
