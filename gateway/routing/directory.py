"""`Directory`: every name a client can use, and the backend behind it.

The directory holds the fleet's backends and the route index built from their catalogs, through
the lockfile guard (swapped on reload). It is rebuilt whenever a catalog, a health verdict or the
configuration changes; each rebuild is a new index object (caches key on it) and bumps
`generation`. Whoever depends on what the index holds (the capabilities the front advertises,
its instructions) registers with `on_rebuilt`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from gateway.routing.index import BackendView, Route, RouteIndex
from gateway.routing.lockguard import LockGuard
from gateway.routing.naming import split_front_uri
from gateway.upstream.backend import Backend
from gateway.upstream.catalog import Listing
from gateway.upstream.fleet import Fleet

logger = logging.getLogger("gateway")


class Directory:
    """The backends and their route index."""

    def __init__(self, fleet: Fleet, lock: LockGuard) -> None:
        self.fleet = fleet
        self.lock = lock
        """The lockfile guard of the current configuration (swapped on reload)."""
        self.index = RouteIndex()
        self.generation = 0
        """Bumped whenever the index is rebuilt (caches of per-client views key on it)."""
        self._listeners: list[Callable[[], None]] = []

    @property
    def backends(self) -> dict[str, Backend]:
        """The backends, by name."""
        return self.fleet.backends

    def namespaces(self) -> dict[str, str]:
        """Backend name → its namespace."""
        return {name: b.namespace for name, b in self.fleet.backends.items()}

    def on_rebuilt(self, callback: Callable[[], None]) -> None:
        """Call `callback` after every rebuild."""
        self._listeners.append(callback)

    def rebuild(self) -> bool:
        """Recompute every client-visible name from the catalogs; True when the index changed."""
        before = self.index
        views = [
            _view(b, b.listing) for b in self.backends.values() if b.listing is not None and not b.hidden
        ]
        self.index = self.lock.build(views, namespaces=self.namespaces())
        self.generation += 1
        for collision in self.index.collisions:
            logger.warning("name collision: %s", collision)
        for listener in self._listeners:
            listener()
        return self.index != before

    def build_personal(self, listings: Mapping[str, Listing | None]) -> RouteIndex:
        """An index for one client: its own listings where given, the shared ones elsewhere."""
        views = []
        for backend in self.backends.values():
            listing = listings.get(backend.name, backend.listing)
            if listing is not None and not backend.hidden:
                views.append(_view(backend, listing))
        return self.lock.build(views, shared=False, namespaces=self.namespaces())

    def resolve_uri(self, uri: str, index: RouteIndex | None = None) -> tuple[Route, str] | None:
        """The route of a concrete resource URI and the URI the backend knows it by."""
        index = index or self.index
        route = index.resources.get(uri)
        if route is not None:
            return route, route.backend_id
        template = index.find_template(uri)
        if template is None:
            return None
        backend = self.backends.get(template.backend)
        namespace = backend.namespace if backend is not None else ""
        if not namespace:
            return template, uri
        split = split_front_uri(uri)
        if split is None or split[0] != namespace:
            return None
        return template, split[1]


def _view(backend: Backend, listing: Listing) -> BackendView:
    config = backend.config
    return BackendView(
        backend.name, backend.namespace, listing, config.tools, config.prompts, config.resources
    )
