"""A FastMCP backend whose tools answer as large as asked, for result-size tests."""

from __future__ import annotations

import base64
from typing import Any

from fastmcp import FastMCP
from fastmcp.tools.base import ToolResult
from mcp_types import ImageContent, TextContent

mcp: FastMCP = FastMCP("bulky")


def rows(n: int) -> list[dict[str, Any]]:
    return [{"id": i, "label": f"row {i}"} for i in range(n)]


@mcp.tool(output_schema=None)
def report(size: int) -> ToolResult:
    """A long text report of `size` characters, with structured rows and no output schema."""
    text = ("lorem ipsum dolor sit amet " * (size // 27 + 1))[:size]
    return ToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content={"rows": rows(3)},
        meta={"source": "bulky"},
    )


@mcp.tool
def table(n: int) -> dict[str, Any]:
    """A table of `n` rows (its output schema is an object; text and structured both hold it)."""
    return {"rows": rows(n)}


@mcp.tool(
    output_schema={"type": "object", "properties": {"count": {"type": "integer"}}, "required": ["count"]}
)
def counted(size: int) -> ToolResult:
    """A long text with a small structured summary that fits any limit."""
    return ToolResult(content=[TextContent(type="text", text="x" * size)], structured_content={"count": size})


@mcp.tool(output_schema=None)
def picture(size: int) -> ToolResult:
    """A caption and an image of `size` bytes."""
    data = base64.b64encode(b"\x89PNG" + bytes(size)).decode()
    return ToolResult(
        content=[
            TextContent(type="text", text="a picture"),
            ImageContent(type="image", data=data, mime_type="image/png"),
        ]
    )


@mcp.tool
def tiny() -> str:
    """A small answer."""
    return "small"
