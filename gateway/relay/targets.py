"""What a fast-path request names, resolved as the relay resolves it: `target_of`.

A `tools/call` or `prompts/get` names a tool or prompt in the caller's view, a `resources/read`
a resource URI (or one a template of the view answers); the backend is sent its own name or URI
in its place. A name the view does not hold, a workflow, the search tools and a result the
gateway kept (`gateway+result://`) are the relay's to answer (it audits a refusal, tells a held
name apart, reads what it kept): `target_of` gives None for them.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from typing import Any

from gateway.policies.offload import is_kept_uri
from gateway.relay.toolsearch import NAMES as SEARCH_TOOLS
from gateway.routing.index import Route, RouteIndex

FORWARDED = ("tools/call", "prompts/get", "resources/read")
"""The methods the fast path forwards to a backend."""

Resolver = Callable[[str, RouteIndex], "tuple[Route, str] | None"]


@dataclass(frozen=True)
class Target:
    """Where a request goes: the route, what its params say instead toward the backend, and the
    name the client used (for audit and metrics)."""

    route: Route
    names: Mapping[str, str]
    front: str


def target_of(
    method: str,
    params: Mapping[str, Any],
    index: RouteIndex,
    *,
    workflows: Container[str],
    resolve_uri: Resolver,
) -> Target | None:
    """The target of a request the fast path may forward, or None (the relay answers it)."""
    if method == "resources/read":
        uri = params.get("uri")
        if not isinstance(uri, str) or is_kept_uri(uri):
            return None
        found = resolve_uri(uri, index)
        return Target(found[0], {"uri": found[1]}, uri) if found is not None else None
    name = params.get("name")
    if not isinstance(name, str):
        return None
    if method == "tools/call":
        if name in workflows or name in SEARCH_TOOLS:
            return None
        route = index.tools.get(name)
    else:
        route = index.prompts.get(name)
    return Target(route, {"name": route.backend_id}, name) if route is not None else None
