"""The catalog page's data: tools, prompts, resources and templates as one principal's view sees
them, each with the backend and the original name behind it, that view's token budget, and how
each backend's listing differs from the tool lockfile.

The view is the one a call would meet (`Views.filter` over the shared route index, and
`Views.sees_own_tool` for workflows), computed for a chosen principal: an admin may look as any
configured API key (with its scopes), as a JWT or unknown name with scopes given, as `anonymous`
(no `auth`) or as `local` (stdio, trusted); everyone else sees its own. Lockfile drift is
compared without logging (the guard logs drift once, where it applies it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gateway.config import GatewayConfig
from gateway.config.security import JWT_PREFIX
from gateway.policies.active import ActivePolicies
from gateway.principal import ANONYMOUS, LOCAL, Principal
from gateway.relay.budget import ESTIMATE, ContextBudget
from gateway.routing.directory import Directory
from gateway.routing.index import Route, RouteIndex
from gateway.routing.lockfile import LockedBackend, diff
from gateway.workflows.engine import Workflows

WORKFLOW_SOURCE = "(gateway workflow)"


def principal_named(config: GatewayConfig, name: str, scopes: frozenset[str]) -> Principal:
    """The principal an admin chose to look as."""
    if name == LOCAL.name:
        return LOCAL
    if name == ANONYMOUS.name and config.auth is None:
        return ANONYMOUS
    keys = config.auth.api_keys if config.auth is not None else {}
    if name in keys:
        return Principal(name, "api_key", frozenset(keys[name].scopes))
    if name.startswith(JWT_PREFIX):
        return Principal(name, "jwt", scopes)
    return Principal(name, "api_key", scopes)


def known_principals(config: GatewayConfig) -> list[dict[str, Any]]:
    """The principals an admin can pick without typing: configured keys, and the defaults."""
    found: list[dict[str, Any]] = []
    if config.auth is None:
        found.append({"name": ANONYMOUS.name, "scopes": [], "note": "HTTP clients (no auth)"})
    else:
        for name, key in config.auth.api_keys.items():
            found.append({"name": name, "scopes": list(key.scopes), "note": "API key"})
    found.append({"name": LOCAL.name, "scopes": [], "note": "stdio and in-process clients (trusted)"})
    return found


class Catalog:
    """What a principal's view holds, with its sources."""

    def __init__(self, directory: Directory, policies: ActivePolicies, workflows: Workflows) -> None:
        self._directory = directory
        self._policies = policies
        self._workflows = workflows
        self._budget = ContextBudget(policies)

    def index_for(self, principal: Principal) -> RouteIndex:
        """The shared route index as `principal`'s view filters it."""
        directory = self._directory
        views = self._policies.current.views
        return views.filter(directory.index, principal, directory.namespaces())

    def reaches(self, principal: Principal) -> set[str]:
        """The backends `principal`'s view reaches (all of them when no view applies)."""
        view = self._policies.current.views.view_of(principal)
        backends = self._directory.backends
        return {name for name, b in backends.items() if view is None or view.reaches(b.namespace)}

    def workflow_names(self, principal: Principal) -> list[str]:
        """The workflows `principal` may see."""
        views = self._policies.current.views
        return [t["name"] for t in self._workflows.tools() if views.sees_own_tool(principal, t["name"], t)]

    def of(self, principal: Principal) -> dict[str, Any]:
        """The catalog page for `principal`."""
        index = self.index_for(principal)
        budget = self._budget.measure(index)
        threshold = self._budget.threshold(principal)
        view = self._policies.current.views.view_of(principal)
        workflows = [t for t in self._workflows.tools() if t["name"] in set(self.workflow_names(principal))]
        return {
            "principal": {"name": principal.name, "kind": principal.kind, "scopes": sorted(principal.scopes)},
            "view": view.name if view is not None else None,
            "tools": [_named(r, "name") for r in index.tools.values()]
            + [
                {"name": t["name"], "backend": WORKFLOW_SOURCE, "original": t["name"], "item": t}
                for t in workflows
            ],
            "prompts": [_named(r, "name") for r in index.prompts.values()],
            "resources": [_named(r, "uri") for r in index.resources.values()],
            "templates": [_named(r, "uriTemplate") for r in index.templates],
            "budget": {
                "tools": budget.tools,
                "tokens": budget.tokens,
                "search_above_tokens": threshold,
                "mode": "search" if threshold is not None and budget.tokens > threshold else "list",
                "largest": [{"name": n, "tokens": t} for n, t in budget.largest],
                "estimate": ESTIMATE,
            },
            "drift": self.drift(self.reaches(principal)),
            "collisions": list(index.collisions),
        }

    def drift(self, backends: set[str]) -> dict[str, Any]:
        """Each backend's listing against the lockfile (only `backends`)."""
        lock = self._directory.lock
        rows: dict[str, Any] = {}
        for name, backend in self._directory.backends.items():
            if name not in backends:
                continue
            locked = lock.locked(name)
            row: dict[str, Any] = {"policy": lock.policy(name), "locked": locked is not None}
            if backend.listing is None:
                row["changes"] = None
            elif lock.lockfile is not None:
                changes = diff(locked, LockedBackend.of(backend.listing))
                row["changes"] = [c.describe() for c in changes]
            else:
                row["changes"] = []
            rows[name] = row
        return {
            "lockfile": lock.path.name,
            "exists": lock.lockfile is not None,
            "problem": lock.problem,
            "backends": rows,
        }


def _named(route: Route, field: str) -> dict[str, Any]:
    item: Mapping[str, Any] = route.item
    return {
        "name": str(item.get(field, "")),
        "backend": route.backend,
        "original": route.backend_id,
        "item": item,
    }
