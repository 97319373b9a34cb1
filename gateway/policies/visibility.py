"""What each caller may use: the route index as its view lets it see.

Most callers see the shared index through their view (`Views.filter`, cached per index and
view). A backend with a session per client may list differently to each client (a tool offered
only to clients that can sample), so a caller with its own sessions gets an index built from
its own sessions' listings, cached until the index or one of those listings changes. Names the
lockfile holds back are refused saying why, but only to a caller that could see them.
"""

from __future__ import annotations

from typing import Any

from gateway.errors import RequestRejected
from gateway.policies.active import ActivePolicies
from gateway.principal import Principal
from gateway.routing.directory import Directory
from gateway.routing.index import RouteIndex
from gateway.upstream.caller import Caller
from gateway.upstream.catalog import Listing


class Visibility:
    """The index each caller may use."""

    def __init__(self, directory: Directory, policies: ActivePolicies) -> None:
        self._directory = directory
        self._policies = policies
        self._personal: dict[str, tuple[Any, RouteIndex]] = {}

    async def index_for(self, caller: Caller) -> RouteIndex:
        """The names `caller` can use: what its view allows of the shared index, or of its own
        index where a backend keeps a session per client."""
        views = self._policies.current.views
        return views.filter(await self._base(caller), caller.principal, self._directory.namespaces())

    async def _base(self, caller: Caller) -> RouteIndex:
        directory = self._directory
        personal = [b for b in directory.backends.values() if b.personal and b.state == "ready"]
        if not personal or not caller.bindable:
            return directory.index
        listings: dict[str, Listing | None] = {b.name: await b.listing_for(caller) for b in personal}
        stamp = (directory.generation, tuple(id(v) for v in listings.values()))
        cached = self._personal.get(caller.key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        index = directory.build_personal(listings)
        self._personal[caller.key] = (stamp, index)
        return index

    def forget(self, key: str | None = None) -> None:
        """Drop the cached index of one client session (None: of every one)."""
        if key is None:
            self._personal.clear()
        else:
            self._personal.pop(key, None)

    def held_refusal(self, principal: Principal, kind: str, name: str) -> RequestRejected | None:
        """Why a name the lockfile holds back is refused, if `principal` could see it (else None:
        it stays indistinguishable from a name that does not exist)."""
        lock = self._directory.lock
        if not lock.holds_anything:
            return None
        visible = self._policies.current.views.filter(lock.held, principal, self._directory.namespaces())
        return lock.refusal(visible, kind, name)
