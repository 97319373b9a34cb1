"""What a client would see: the gateway started in-process and asked like a client asks.

Used by `gateway check` (validate and probe every backend) and `gateway list` (`gateway call`
has its own: `gateway.commands.call`).
The gateway is driven through an in-memory MCP client, so the answers are exactly what a
real client gets, names included.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.app import Gateway


async def check(gateway: Gateway) -> list[str]:
    """Every problem found, one line each, naming the backend or the YAML path."""
    problems: list[str] = []
    from fastmcp import Client  # loaded by the commands that use it

    async with Client(gateway.server):
        await gateway.ensure_catalogs()
        for name, backend in gateway.backends.items():
            if backend.state != "ready":
                optional = " (optional)" if backend.config.optional else ""
                problems.append(
                    f"backends.{name}{optional}: unavailable ({backend.link.describe()}): "
                    f"{backend.last_error or backend.state}"
                )
        problems.extend(f"name collision: {c}" for c in gateway.index.collisions)
    return problems


async def listing(gateway: Gateway, as_json: bool) -> str:
    """Tools, prompts, resources and templates as a client sees them, with their sources."""
    from fastmcp import Client  # loaded by the commands that use it

    async with Client(gateway.server) as client:
        tools = await client.list_tools()
        prompts = await client.list_prompts()
        resources = await client.list_resources()
        templates = await client.list_resource_templates()
        # read while the backends run: at shutdown every backend becomes "stopped"
        down = [(name, b.last_error) for name, b in gateway.backends.items() if b.state != "ready"]
    index = gateway.index

    def source(route: Any) -> str:
        return f"{route.backend}:{route.backend_id}" if route is not None else "gateway"

    rows = {
        "tools": [(t.name, source(index.tools.get(t.name)), t.description or "") for t in tools],
        "prompts": [(p.name, source(index.prompts.get(p.name)), p.description or "") for p in prompts],
        "resources": [(str(r.uri), source(index.resources.get(str(r.uri))), r.name) for r in resources],
        "templates": [
            (t.uri_template, source(index.template_by_front(t.uri_template)), t.name) for t in templates
        ],
    }
    if as_json:
        return json.dumps(
            {k: [{"name": n, "source": s, "about": a} for n, s, a in v] for k, v in rows.items()}, indent=2
        )
    lines: list[str] = []
    for kind, entries in rows.items():
        lines.append(f"{kind} ({len(entries)})")
        width = max((len(n) for n, _, _ in entries), default=0)
        for name, src, about in entries:
            summary = about.strip().splitlines()[0] if about.strip() else ""
            lines.append(f"  {name.ljust(width)}  ← {src}  {summary[:60]}")
    lines.extend(f"! backend {name} unavailable: {error or 'no answer'}" for name, error in down)
    return "\n".join(lines)
