"""A backend's catalog: everything it lists (tools, prompts, resources, templates), all pages.

The gateway lists each backend once and keeps the answer; lists are not fetched again per
client request, only when the backend says they changed (`list_changed`) or when it comes
back after a failure. Items are kept as the raw dictionaries the backend sent, so what a
client finally sees is what the backend said, field for field, except the names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import mcp_types
from mcp.shared.exceptions import MCPError
from mcp.shared.inbound import x_mcp_header_map

from gateway.errors import BackendProtocolError
from gateway.methods import LISTS
from gateway.upstream.session import BackendSession

MAX_PAGES = 1000
Item = Mapping[str, Any]


@dataclass(frozen=True)
class Listing:
    """What one backend offers, as it listed it."""

    tools: tuple[Item, ...] = ()
    prompts: tuple[Item, ...] = ()
    resources: tuple[Item, ...] = ()
    templates: tuple[Item, ...] = ()


async def fetch_listing(session: BackendSession, *, timeout: float) -> Listing:
    """List everything the backend offers (following every page)."""
    caps = session.server_capabilities
    offered = {
        "tools": caps is None or caps.tools is not None,
        "prompts": caps is None or caps.prompts is not None,
        "resources": caps is None or caps.resources is not None,
        "templates": caps is None or caps.resources is not None,
    }
    found: dict[str, tuple[Item, ...]] = {}
    for kind, listed in LISTS.items():
        found[kind] = (
            await _all_pages(session, listed.method, listed.key, timeout=timeout) if offered[kind] else ()
        )
    return Listing(**found)


async def fetch_kind(session: BackendSession, kind: str, *, timeout: float) -> tuple[Item, ...]:
    """List one kind again (after the backend said it changed)."""
    listed = LISTS[kind]
    return await _all_pages(session, listed.method, listed.key, timeout=timeout)


async def _all_pages(session: BackendSession, method: str, key: str, *, timeout: float) -> tuple[Item, ...]:
    items: list[Item] = []
    cursor: str | None = None
    for _ in range(MAX_PAGES):
        params = {"cursor": cursor} if cursor else None
        try:
            result = await session.request(method, params, timeout=timeout)
        except MCPError as error:
            if error.code == mcp_types.METHOD_NOT_FOUND:
                return ()
            raise
        page = result.get(key)
        if not isinstance(page, list) or not all(isinstance(i, dict) for i in page):
            raise BackendProtocolError(session.backend, f"{method} answered without a list of {key}")
        items.extend(page)
        cursor = result.get("nextCursor")
        if not cursor:
            return tuple(items)
    raise BackendProtocolError(session.backend, f"{method} did not end after {MAX_PAGES} pages")


def header_maps(listing: Listing) -> dict[str, dict[tuple[str, ...], str]]:
    """Which tool arguments travel as `Mcp-Param-*` headers on the 2026-07-28 wire."""
    maps: dict[str, dict[tuple[str, ...], str]] = {}
    for tool in listing.tools:
        schema, name = tool.get("inputSchema"), tool.get("name")
        if isinstance(schema, dict) and isinstance(name, str):
            header_map = x_mcp_header_map(schema)
            if header_map:
                maps[name] = header_map
    return maps
