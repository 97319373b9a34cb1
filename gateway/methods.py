"""The MCP methods the gateway treats alike, in one table.

list kinds      tools · prompts · resources · templates: the list method, the key of its
                items in the result, what names an item, the notification that it changed
CALLS           tools/call, prompts/get, resources/read: they use a backend's work, so they
                count against rate limits and size limits
SIDE_EFFECT_FREE  methods that may be tried again even if they may have run
BACKEND_EVENTS  what a backend announces outside any request (lists changed, a resource
                updated): the backend's own events, not a caller's
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ListKind:
    """One kind of listed component."""

    kind: str
    method: str
    key: str
    """Where the items are in the list result."""
    identity: str
    """The field that names an item."""
    changed: str
    """The notification that says this list changed (templates share the resources' one)."""
    singular: str
    """How messages name one item."""


TOOLS = ListKind("tools", "tools/list", "tools", "name", "notifications/tools/list_changed", "tool")
PROMPTS = ListKind(
    "prompts", "prompts/list", "prompts", "name", "notifications/prompts/list_changed", "prompt"
)
RESOURCES = ListKind(
    "resources", "resources/list", "resources", "uri", "notifications/resources/list_changed", "resource"
)
TEMPLATES = ListKind(
    "templates",
    "resources/templates/list",
    "resourceTemplates",
    "uriTemplate",
    "notifications/resources/list_changed",
    "resource template",
)

LISTS: dict[str, ListKind] = {k.kind: k for k in (TOOLS, PROMPTS, RESOURCES, TEMPLATES)}
"""kind → its list."""
LIST_METHODS: dict[str, ListKind] = {k.method: k for k in LISTS.values()}
"""list method → its kind."""
NOTIFIED_KINDS = ("tools", "prompts", "resources")
"""The kinds a `list_changed` notification names (templates change with resources)."""
CHANGED: dict[str, str] = {LISTS[k].changed: k for k in NOTIFIED_KINDS}
"""`notifications/<kind>/list_changed` → kind."""
RESOURCE_UPDATED = "notifications/resources/updated"
BACKEND_EVENTS = frozenset({*CHANGED, RESOURCE_UPDATED})

CALLS = frozenset({"tools/call", "prompts/get", "resources/read"})
SIDE_EFFECT_FREE = frozenset(
    {
        "ping",
        "server/discover",
        "tools/list",
        "prompts/list",
        "resources/list",
        "resources/templates/list",
        "resources/read",
        "prompts/get",
        "completion/complete",
    }
)
