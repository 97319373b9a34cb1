"""What each caller may use: the route index as its view lets it see.

Most callers see the shared index through their view (`Views.filter`, cached per index and
view). A backend may list differently to each client (its own session's tools, or tools it
offers only to clients that can sample), so a caller whose listings differ from the gateway's
own gets an index built from its listings, cached until the index or one of those listings
changes. A backend outside the caller's view is never asked for anything: a principal that can
see nothing of a backend cannot make the gateway open a session to it. Names the lockfile holds
back are refused saying why, but only to a caller that could see them.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from mcp.shared.exceptions import MCPError

from gateway.errors import GatewayError, RequestRejected
from gateway.policies.active import ActivePolicies
from gateway.principal import Principal
from gateway.routing.directory import Directory
from gateway.routing.index import RouteIndex
from gateway.upstream.caller import Caller
from gateway.upstream.catalog import Listing

MAX_PERSONAL = 1024
"""Per-caller indexes kept (least recently built dropped first)."""


class Visibility:
    """The index each caller may use."""

    def __init__(self, directory: Directory, policies: ActivePolicies) -> None:
        self._directory = directory
        self._policies = policies
        self._personal: OrderedDict[tuple[Any, ...], tuple[list[Listing | None], RouteIndex]] = OrderedDict()

    async def index_for(self, caller: Caller) -> RouteIndex:
        """The names `caller` can use: what its view allows of the shared index, or of its own
        index where a backend keeps a session per client."""
        views = self._policies.current.views
        return views.filter(await self._base(caller), caller.principal, self._directory.namespaces())

    async def _base(self, caller: Caller) -> RouteIndex:
        directory = self._directory
        view = self._policies.current.views.view_of(caller.principal)
        own: dict[str, Listing | None] = {}
        for backend in directory.backends.values():
            if backend.listing is None or backend.hidden or backend.breaker.state == "open":
                continue  # its shared listing stands (an ejected backend is not contacted)
            if view is not None and not view.reaches(backend.namespace):
                continue  # never contact a backend the caller can see nothing of
            try:
                listing = await backend.listing_for(caller)
            except (GatewayError, MCPError):
                continue  # one backend down never breaks the lists: its shared listing stands in
            if listing is not backend.listing:
                own[backend.name] = listing
        if not own:
            return directory.index
        names = sorted(own)
        stamp = (directory.generation, *((name, id(own[name])) for name in names))
        cached = self._personal.get(stamp)
        # the entry holds the listings themselves, so an id in the key stays theirs
        if cached is not None and all(a is own[n] for a, n in zip(cached[0], names, strict=True)):
            return cached[1]
        index = directory.build_personal(own)
        self._personal[stamp] = ([own[n] for n in names], index)
        while len(self._personal) > MAX_PERSONAL:
            self._personal.popitem(last=False)
        return index

    def forget(self, key: str | None = None) -> None:
        """Drop cached per-caller indexes (all of them: they are keyed by the listings they hold,
        so one client's changed listing simply misses the cache)."""
        self._personal.clear()

    def held_refusal(self, principal: Principal, kind: str, name: str) -> RequestRejected | None:
        """Why a name the lockfile holds back is refused, if `principal` could see it (else None:
        it stays indistinguishable from a name that does not exist)."""
        lock = self._directory.lock
        if not lock.holds_anything:
            return None
        visible = self._policies.current.views.filter(lock.held, principal, self._directory.namespaces())
        return lock.refusal(visible, kind, name)
