"""A small FastMCP backend for gateway tests: echo, progress, logging, a resource, a template, a prompt."""

from __future__ import annotations

from fastmcp import Context, FastMCP

mcp: FastMCP = FastMCP("echo", instructions="Echoes things back.")


@mcp.tool(annotations={"readOnlyHint": True})
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@mcp.tool
async def slow_count(n: int, ctx: Context) -> int:
    """Report progress n times, log once, return n."""
    for i in range(n):
        await ctx.report_progress(i + 1, n, f"step {i + 1}")
    await ctx.info(f"counted to {n}")
    return n


@mcp.resource("echo://greeting", mime_type="text/plain")
def greeting() -> str:
    """A fixed greeting."""
    return "hello"


@mcp.resource("echo://items/{item_id}")
def item(item_id: str) -> str:
    """One item by id."""
    return f"item {item_id}"


@mcp.prompt
def shout(word: str) -> str:
    """Ask for a word to be shouted."""
    return f"Shout {word}!"


if __name__ == "__main__":
    from backends._serve import main

    main("echo", lambda: mcp)
