"""What a client would see: the gateway started in-process and asked like a client asks.

Used by `gateway check` (validate and probe every backend), `gateway list` and `gateway call`
(which starts only the backends the call can reach).
The gateway is driven through an in-memory MCP client, so the answers are exactly what a
real client gets, names included.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from mcp.shared.exceptions import MCPError

from gateway.app import Gateway
from gateway.config import GatewayConfig, LoadedConfig
from gateway.relay.toolsearch import NAMES as SEARCH_TOOLS
from gateway.routing.naming import split_front_uri


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


async def call_tool(gateway: Gateway, name: str, arguments: dict[str, Any]) -> tuple[bool, str]:
    """Call one tool; returns (succeeded, the result as JSON)."""
    from fastmcp import Client  # loaded by the commands that use it

    async with Client(gateway.server) as client:
        try:
            result = await client.call_tool_mcp(name, arguments)
        except MCPError as error:
            return False, json.dumps({"error": {"code": error.error.code, "message": error.error.message}})
    dumped = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    return not result.is_error, json.dumps(dumped, indent=2, ensure_ascii=False)


def backends_for_call(config: GatewayConfig, tool: str) -> set[str] | None:
    """The backends a call of `tool` can reach (None: it cannot be told before listing them).

    A name `<namespace>_...` comes from the backend with that namespace (or one without a
    namespace); a workflow reaches the backends its steps name; a step whose target is written
    with a reference can reach any backend."""
    workflow = config.workflows.get(tool)
    if workflow is None:
        if tool in SEARCH_TOOLS:
            return None
        return _owners(config, tool, uri=False)
    needed: set[str] = set()
    for step in workflow.steps.values():
        target = step.call if step.call is not None else step.read
        if target is None or target.lstrip().startswith("{{"):
            return None
        found = _owners(config, target, uri=step.read is not None)
        if found is None:
            return None
        needed |= found
    return needed


def _owners(config: GatewayConfig, name: str, *, uri: bool) -> set[str] | None:
    owners = {key for key in config.backends if not config.namespace_of(key)}
    if uri:
        split = split_front_uri(name)
        if split is not None:
            owners |= {key for key in config.backends if config.namespace_of(key) == split[0]}
        return owners
    for key in config.backends:
        namespace = config.namespace_of(key)
        if namespace and name.startswith(f"{namespace}_"):
            owners.add(key)
    return owners


def only_backends(loaded: LoadedConfig, keep: set[str]) -> LoadedConfig:
    """The same configuration with only the backends in `keep`."""
    backends = {k: v for k, v in loaded.config.backends.items() if k in keep}
    return replace(loaded, config=loaded.config.model_copy(update={"backends": backends}))
