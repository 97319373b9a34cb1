"""Lists served from a cache of their wire form.

The SDK validates and re-serializes every spec result against the client's protocol version;
for a `tools/list` of a few hundred tools that is most of the time the list takes. The names a
client may see change only when the index does (a backend's catalog, a health verdict, a
reload) and differ only per view, so the wire form is cached per index object (views hand out
one filtered index per view and base index), method, protocol version and cursor, and, for
`tools/list`, whether the client is in search mode (`gateway.relay.toolsearch`; its threshold is per
view, not per index). A rebuilt index is a new object: entries for the old one are never
served again and age out.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

from gateway.methods import LIST_METHODS
from gateway.principal import Principal, principal_of
from gateway.routing.index import RouteIndex

MAX_ENTRIES = 512
Ctx = ServerRequestContext[Any, Any]


class ListCache:
    """SDK server middleware (innermost): answers repeated lists from the cached wire form."""

    def __init__(
        self,
        *,
        index: Callable[[Ctx], Awaitable[RouteIndex]],
        searching: Callable[[Principal, RouteIndex], bool],
        generation: Callable[[], int],
        max_entries: int = MAX_ENTRIES,
    ) -> None:
        self._index = index
        self._searching = searching
        self._generation = generation
        self._max = max_entries
        self._entries: OrderedDict[tuple[Any, ...], tuple[RouteIndex, dict[str, Any]]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method not in LIST_METHODS or ctx.request_id is None or not self._cacheable(ctx):
            return await call_next(ctx)
        index = await self._index(ctx)
        params = ctx.params or {}
        searching = ctx.method == "tools/list" and self._searching(principal_of(ctx), index)
        key = (id(index), ctx.method, ctx.protocol_version, params.get("cursor"), searching)
        entry = self._entries.get(key)
        if entry is not None and entry[0] is index:
            self._entries.move_to_end(key)
            return dict(entry[1])
        generation = self._generation()
        result = await call_next(ctx)
        if isinstance(result, dict) and self._generation() == generation:
            self._entries[key] = (index, dict(result))
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return result

    def _cacheable(self, ctx: ServerRequestContext[Any, Any]) -> bool:
        """Only what depends on the index alone: requests past the handshake."""
        connection = getattr(ctx.session, "_connection", None)
        return bool(getattr(connection, "initialize_accepted", False))
