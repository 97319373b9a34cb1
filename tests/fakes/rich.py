"""A FastMCP backend whose answers use every kind of content, for relay-fidelity tests."""

from __future__ import annotations

import base64
from typing import Any

from fastmcp import Context, FastMCP
from fastmcp.exceptions import ToolError
from fastmcp.tools.base import ToolResult
from mcp_types import (
    AudioContent,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)
from pydantic import BaseModel

mcp: FastMCP = FastMCP("rich", dereference_schemas=False)  # keep $defs in schemas

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
WAV = base64.b64encode(b"RIFF....WAVEfake").decode()


class Point(BaseModel):
    x: int
    y: int


class Shape(BaseModel):
    name: str
    points: list[Point]


@mcp.tool
def shape(name: str) -> Shape:
    """A shape with a nested model (its output schema uses $defs)."""
    return Shape(name=name, points=[Point(x=0, y=0), Point(x=1, y=2)])


@mcp.tool
def media() -> ToolResult:
    """Every kind of content block."""
    return ToolResult(
        content=[
            TextContent(type="text", text="here"),
            ImageContent(type="image", data=PNG, mime_type="image/png"),
            AudioContent(type="audio", data=WAV, mime_type="audio/wav"),
            ResourceLink(type="resource_link", uri="rich://docs/readme", name="readme"),
            EmbeddedResource(
                type="resource",
                resource=TextResourceContents(
                    uri="rich://docs/inline", text="inline text", mime_type="text/plain"
                ),
            ),
        ],
        meta={"trace": "abc"},
    )


@mcp.tool
def fail(reason: str) -> str:
    """Always fails with the reason."""
    raise ToolError(f"failed because {reason}")


@mcp.tool(name="a_tool_with_a_remarkably_long_name_that_will_not_fit_once_prefixed_by_the_gateway")
def long_name() -> str:
    """Has a long name."""
    return "long"


@mcp.resource("rich://docs/readme", mime_type="text/markdown")
def readme() -> str:
    """The readme."""
    return "# Readme"


@mcp.resource("rich://bin/blob", mime_type="application/octet-stream")
def blob() -> bytes:
    """Some bytes."""
    return b"\x00\x01\x02"


@mcp.tool
def echo_meta(ctx: Context) -> dict[str, Any]:
    """The `_meta` this call arrived with (what crossed the gateway)."""
    meta = ctx.request_context.meta if ctx.request_context is not None else None
    return dict(meta or {})


@mcp.prompt
def review(topic: str) -> str:
    """A prompt whose `topic` argument has completions."""
    return f"Review {topic}"


@mcp.resource("rich://topics/{topic}")
def topic(topic: str) -> str:
    """A topic page."""
    return f"about {topic}"


TOPICS = ["gateways", "gardens", "graphs", "routing"]


@mcp.completion
def complete(ref: Any, argument: Any, context: Any) -> list[str]:
    """Topics starting with what was typed, for the prompt and the template alike."""
    return [t for t in TOPICS if t.startswith(argument.value)]


if __name__ == "__main__":
    from backends._serve import main

    main("rich", lambda: mcp)
