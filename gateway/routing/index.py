"""The route index: every name a client can use, and which backend answers it.

Built from the backends' catalogs and their config (include/exclude/rename, namespace) in
config order, rebuilt whenever a catalog changes. Lookups on the request path are dictionary
reads. Two sources that end up with the same name are a collision: the first backend in the
file keeps the name, and the collision is recorded (with both sources) for `gateway check`.

A namespace owns what falls under it: a tool or prompt name `<namespace>_...` and a resource
URI (or template) `scheme://<namespace>/...` belong to the backend with that namespace, so a
backend without a namespace never gets one, wherever it is in the file (also a collision), and
a template of such a backend never answers a URI under another backend's namespace.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mcp.shared.uri_template import InvalidUriTemplate, UriTemplate

from gateway.config import ComponentFilter, ResourceFilter
from gateway.routing.naming import front_name, front_uri, split_front_uri
from gateway.upstream.catalog import Item, Listing


@dataclass(frozen=True)
class Route:
    """One client-visible component and where it lives."""

    backend: str
    backend_id: str
    """The backend's own name (tool/prompt) or URI (resource) or URI template."""
    item: Item
    """The component as clients see it (the backend's dictionary with the front name)."""


@dataclass(frozen=True)
class TemplateRoute(Route):
    """A resource template, with a matcher for concrete URIs."""

    matcher: UriTemplate | None = None


@dataclass(frozen=True)
class BackendView:
    """What the index needs to know about one backend."""

    name: str
    namespace: str
    listing: Listing
    tools: ComponentFilter = field(default_factory=ComponentFilter)
    prompts: ComponentFilter = field(default_factory=ComponentFilter)
    resources: ResourceFilter = field(default_factory=ResourceFilter)


@dataclass
class RouteIndex:
    """Front name → route, for each kind of component."""

    tools: dict[str, Route] = field(default_factory=dict)
    prompts: dict[str, Route] = field(default_factory=dict)
    resources: dict[str, Route] = field(default_factory=dict)
    templates: list[TemplateRoute] = field(default_factory=list)
    collisions: list[str] = field(default_factory=list)
    owners: dict[str, str] = field(default_factory=dict)
    """Namespace → the backend it is, for every namespace in use: what falls under it is that
    backend's alone."""

    @classmethod
    def build(
        cls, views: Sequence[BackendView], *, namespaces: Mapping[str, str] | None = None
    ) -> RouteIndex:
        """Index every backend's listing in order. `namespaces` (backend → namespace) adds the
        namespaces of backends without a listing now, which own their names all the same."""
        in_use = {**(namespaces or {}), **{view.name: view.namespace for view in views}}
        index = cls(owners={namespace: name for name, namespace in in_use.items() if namespace})
        template_keys: dict[str, str] = {}
        for view in views:
            for item in view.listing.tools:
                index._add_named(index.tools, "tool", view, item, view.tools)
            for item in view.listing.prompts:
                index._add_named(index.prompts, "prompt", view, item, view.prompts)
            for item in view.listing.resources:
                index._add_resource(view, item)
            for item in view.listing.templates:
                index._add_template(view, item, template_keys)
        return index

    def _add_named(
        self, table: dict[str, Route], kind: str, view: BackendView, item: Item, rules: ComponentFilter
    ) -> None:
        name = item.get("name")
        if not isinstance(name, str) or not selected(name, rules.include, rules.exclude):
            return
        front = front_name(view.namespace, rules.rename.get(name, name))
        trespass = self._trespass(view, self._name_namespace(front))
        if trespass is not None:
            self.collisions.append(f"{kind} {front!r}: backend '{view.name}' ({name!r}) {trespass}")
            return
        existing = table.get(front)
        if existing is not None:
            self.collisions.append(
                f"{kind} {front!r}: backend '{existing.backend}' ({existing.backend_id!r}) and "
                f"backend '{view.name}' ({name!r}); '{existing.backend}' keeps the name"
            )
            return
        table[front] = Route(view.name, name, {**item, "name": front})

    def _add_resource(self, view: BackendView, item: Item) -> None:
        uri = item.get("uri")
        if not isinstance(uri, str) or not selected(uri, view.resources.include, view.resources.exclude):
            return
        front = front_uri(view.namespace, uri)
        trespass = self._trespass(view, _uri_namespace(front), what="a URI")
        if trespass is not None:
            self.collisions.append(f"resource {front!r}: backend '{view.name}' {trespass}")
            return
        existing = self.resources.get(front)
        if existing is not None:
            self.collisions.append(
                f"resource {front!r}: backend '{existing.backend}' and backend '{view.name}'; "
                f"'{existing.backend}' keeps it"
            )
            return
        self.resources[front] = Route(view.name, uri, {**item, "uri": front})

    def _add_template(self, view: BackendView, item: Item, seen: dict[str, str]) -> None:
        template = item.get("uriTemplate")
        if not isinstance(template, str) or not selected(
            template, view.resources.include, view.resources.exclude
        ):
            return
        front = front_uri(view.namespace, template)
        trespass = self._trespass(view, _uri_namespace(front), what="a URI")
        if trespass is not None:
            self.collisions.append(f"resource template {front!r}: backend '{view.name}' {trespass}")
            return
        if front in seen:
            self.collisions.append(
                f"resource template {front!r}: backend '{seen[front]}' and backend '{view.name}'; "
                f"'{seen[front]}' keeps it"
            )
            return
        seen[front] = view.name
        try:
            matcher: UriTemplate | None = UriTemplate.parse(front)
        except InvalidUriTemplate:
            matcher = None
        self.templates.append(TemplateRoute(view.name, template, {**item, "uriTemplate": front}, matcher))

    def _name_namespace(self, front: str) -> str | None:
        """The namespace in use that a tool or prompt name `<namespace>_...` falls under."""
        return next((ns for ns in self.owners if front.startswith(f"{ns}_")), None)

    def _trespass(self, view: BackendView, namespace: str | None, *, what: str = "a name") -> str | None:
        """Why a backend without a namespace may not have a front name or URI that falls under
        `namespace` (None: it may, or it has a namespace of its own)."""
        if view.namespace or namespace is None:
            return None
        owner = self.owners.get(namespace)
        if owner is None:
            return None
        return f"has no namespace and may not take {what} in namespace {namespace!r} (backend '{owner}')"

    def find_template(self, uri: str) -> TemplateRoute | None:
        """The first template whose pattern matches a concrete URI; a URI under a namespace in
        use matches only that namespace's backend's templates."""
        owner = self.owners.get(_uri_namespace(uri) or "")
        for route in self.templates:
            if owner is not None and route.backend != owner:
                continue
            if route.matcher is not None and route.matcher.match(uri) is not None:
                return route
        return None

    def template_by_front(self, uri_template: str) -> TemplateRoute | None:
        """The template clients know by this (front) URI template."""
        for route in self.templates:
            if route.item.get("uriTemplate") == uri_template:
                return route
        return None


def _uri_namespace(uri: str) -> str | None:
    """The first path segment of `scheme://segment/...`: where a namespace would be."""
    split = split_front_uri(uri)
    return split[0] if split is not None else None


def selected(name: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    """Whether `name` passes include (empty: everything) and then exclude."""
    if include and not any(fnmatch.fnmatchcase(name, p) for p in include):
        return False
    return not any(fnmatch.fnmatchcase(name, p) for p in exclude)


def front_items(table: Mapping[str, Route]) -> list[dict[str, Any]]:
    """The client-visible dictionaries of a table, in index order."""
    return [dict(route.item) for route in table.values()]
