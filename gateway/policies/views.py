"""Per-principal views: what each caller can see and use.

A view selects principals (by name, or by JWT claims) and includes namespaces, tools, prompts
and resources (globs on the names clients see, and tool tags), minus denied tools and tags, and
only the tools whose required scopes the principal holds. Everything outside a principal's view
is invisible in its lists and answers calls exactly like a name that does not exist, so a
caller cannot even learn that it exists.

A principal is named as `gateway.principal` says (`ops` for an API key, `jwt:alice` for a JWT),
and `principals:` patterns match those names. A principal that no view selects sees everything
(minus `tool_scopes` it lacks) with `auth.unviewed: all`, the default, and nothing with
`unviewed: none`; local callers (stdio) are trusted and see everything.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from gateway.config.security import ViewConfig
from gateway.principal import Principal
from gateway.routing.index import Route, RouteIndex, TemplateRoute

Unviewed = Literal["all", "none"]
"""What a principal that no view selects sees (`auth.unviewed`)."""
NOTHING = ViewConfig(namespaces=(), tools=(), prompts=(), resources=())
"""The view of a principal that no view selects, under `unviewed: none`: it includes nothing."""
UNVIEWED = "~unviewed"
"""The name of that view (never a configured view's: those are backend-style names)."""


def _any(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def _tags(item: Mapping[str, Any]) -> set[str]:
    meta = item.get("_meta")
    fastmcp = meta.get("fastmcp") if isinstance(meta, Mapping) else None
    tags = fastmcp.get("tags") if isinstance(fastmcp, Mapping) else None
    return {str(t) for t in tags} if isinstance(tags, list) else set()


class View:
    """One view, compiled."""

    def __init__(self, name: str, config: ViewConfig, *, tool_scopes: Mapping[str, Sequence[str]]) -> None:
        self.name = name
        self.config = config
        self._scopes = {**tool_scopes, **config.require_scopes}

    def selects(self, principal: Principal) -> bool:
        """Whether this view applies to `principal`."""
        config = self.config
        if config.principals and _any(principal.name, config.principals):
            return True
        if config.claims and principal.kind == "jwt":
            return all(_claim_matches(principal.claims.get(k), v) for k, v in config.claims.items())
        return False

    def reaches(self, namespace: str) -> bool:
        """Whether anything of a backend with this namespace can be in this view."""
        return _any(namespace, self.config.namespaces)

    def allows(
        self, principal: Principal, kind: str, front: str, namespace: str, item: Mapping[str, Any]
    ) -> bool:
        """Whether a component (by kind and front name) is in this view for `principal`."""
        config = self.config
        if not _any(namespace, config.namespaces):
            return False
        if kind == "tool":
            return self.allows_tool(principal, front, item)
        if kind == "prompt":
            return _any(front, config.prompts)
        return _any(front, config.resources)

    def allows_tool(self, principal: Principal, front: str, item: Mapping[str, Any]) -> bool:
        """Whether a tool is in this view by its name, tags and scopes (namespaces aside)."""
        config = self.config
        if not _any(front, config.tools) or _any(front, config.deny_tools):
            return False
        tags = _tags(item)
        if config.tags and not tags & set(config.tags):
            return False
        if tags & set(config.deny_tags):
            return False
        return has_scopes(principal, front, self._scopes)


def _claim_matches(value: Any, wanted: str) -> bool:
    if isinstance(value, list):
        return wanted in [str(v) for v in value]
    return value is not None and str(value) == wanted


def has_scopes(principal: Principal, tool: str, requirements: Mapping[str, Sequence[str]]) -> bool:
    """Whether `principal` holds every scope some requirement pattern matching `tool` demands."""
    if principal.trusted:
        return True
    for pattern, scopes in requirements.items():
        if fnmatch.fnmatchcase(tool, pattern) and not set(scopes) <= principal.scopes:
            return False
    return True


class Views:
    """All views, and the filtered index each principal gets."""

    def __init__(
        self,
        views: Mapping[str, ViewConfig],
        *,
        tool_scopes: Mapping[str, Sequence[str]],
        unviewed: Unviewed = "all",
    ) -> None:
        self._views = [View(name, config, tool_scopes=tool_scopes) for name, config in views.items()]
        self._tool_scopes = dict(tool_scopes)
        self._unviewed = View(UNVIEWED, NOTHING, tool_scopes={}) if unviewed == "none" else None
        # Keyed by the index's id; the cached entry holds the index itself, so the id cannot be
        # reused by another index while the entry lives.
        self._cache: dict[tuple[int, str, str, frozenset[str]], tuple[RouteIndex, RouteIndex]] = {}

    @property
    def active(self) -> bool:
        """Whether any filtering is configured at all."""
        return bool(self._views or self._tool_scopes or self._unviewed)

    def view_of(self, principal: Principal) -> View | None:
        """The first view that selects `principal`; for one that none selects, the empty view
        under `unviewed: none`, else None (no view applies: everything, minus `tool_scopes`)."""
        if principal.trusted:
            return None
        return next((v for v in self._views if v.selects(principal)), self._unviewed)

    def sees_own_tool(self, principal: Principal, name: str, item: Mapping[str, Any]) -> bool:
        """Whether `principal` may see a tool the gateway serves itself (a workflow): tool
        names, denials, tags and scopes apply as to any tool; namespaces (backends) do not."""
        if not self.active or principal.trusted:
            return True
        view = self.view_of(principal)
        if view is None:
            return has_scopes(principal, name, self._tool_scopes)
        return view.allows_tool(principal, name, item)

    def filter(self, index: RouteIndex, principal: Principal, namespaces: Mapping[str, str]) -> RouteIndex:
        """`index` as `principal` may see it; `namespaces` maps backend → namespace."""
        if not self.active or principal.trusted:
            return index
        view = self.view_of(principal)
        whose = ("view", view.name) if view is not None else ("principal", principal.name)
        key = (id(index), *whose, principal.scopes)
        cached = self._cache.get(key)
        if cached is not None and cached[0] is index:
            return cached[1]

        def keep(kind: str, front: str, route: Route) -> bool:
            if view is not None:
                return view.allows(principal, kind, front, namespaces[route.backend], route.item)
            return kind != "tool" or has_scopes(principal, front, self._tool_scopes)

        filtered = RouteIndex(
            tools={n: r for n, r in index.tools.items() if keep("tool", n, r)},
            prompts={n: r for n, r in index.prompts.items() if keep("prompt", n, r)},
            resources={u: r for u, r in index.resources.items() if keep("resource", u, r)},
            templates=[t for t in index.templates if keep("resource", _template(t), t)],
            collisions=index.collisions,
            owners=index.owners,
        )
        if len(self._cache) > 1024:
            self._cache.clear()
        self._cache[key] = (index, filtered)
        return filtered


def _template(route: TemplateRoute) -> str:
    return str(route.item.get("uriTemplate", ""))
