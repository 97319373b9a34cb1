"""A stdio backend whose tool answers only once several calls are inside it at the same time:
proof that one process serves concurrent requests (`python -m tests.fakes.rendezvous`)."""

from __future__ import annotations

import asyncio

from fastmcp import FastMCP

mcp: FastMCP = FastMCP("rendezvous")
_inside = 0
_arrived = asyncio.Condition()


@mcp.tool
async def meet(n: int) -> int:
    """Wait (at most 10 s) until `n` calls are inside at once; how many were inside."""
    global _inside
    async with _arrived:
        _inside += 1
        _arrived.notify_all()
        try:
            await asyncio.wait_for(_arrived.wait_for(lambda: _inside >= n), 10)
        except TimeoutError:
            return _inside
        return n


if __name__ == "__main__":
    mcp.run(show_banner=False)
