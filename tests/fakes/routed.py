"""A FastMCP backend whose tool routes on an argument mirrored as an `Mcp-Param-Region` header
(2026-07-28 wire), and that has its own instructions."""

from __future__ import annotations

from typing import Annotated

from fastmcp import FastMCP
from pydantic import Field

mcp: FastMCP = FastMCP("routed", instructions="Routes by region; secret-backend-marker.")


@mcp.tool
def route(region: Annotated[str, Field(json_schema_extra={"x-mcp-header": "Region"})]) -> str:
    """Say which region served the call."""
    return f"served in {region}"


if __name__ == "__main__":
    mcp.run()
