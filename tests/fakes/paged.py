"""A backend that lists in pages of two: the gateway must follow every cursor."""

from __future__ import annotations

from collections.abc import Callable

from fastmcp import FastMCP

mcp: FastMCP = FastMCP("paged", list_page_size=2)


def _tool(i: int) -> Callable[[], int]:
    def tool() -> int:
        return i

    return tool


def _item(i: int) -> Callable[[], str]:
    def item() -> str:
        return f"item {i}"

    return item


for index in range(5):
    mcp.tool(_tool(index), name=f"tool_{index}", description=f"Tool {index}.")
    mcp.resource(f"paged://item/{index}", name=f"item_{index}")(_item(index))
