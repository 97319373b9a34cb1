"""`gateway call TOOL`: one tool, called the way a client calls it, answered as soon as it can be.

The gateway is started in-process with only the backends the call can reach
(`backends_for_call`) and driven through an in-memory MCP client, so the answer is exactly
what a real client gets. A one-off call waits for two interpreters to load FastMCP: the
gateway's and its backend's. So the stdio backends it needs are started first
(`gateway.upstream.links.headstart`) and load while the gateway imports, and the gateway lists
them through the session the call itself uses (`Fleet.list_as`): one process per backend.

This module is imported before the gateway: it keeps its own imports light.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import replace
from typing import Any

import anyio

from gateway.config import GatewayConfig, LoadedConfig
from gateway.routing.naming import CALL_TOOL, SEARCH_TOOL, split_front_uri
from gateway.upstream.links import headstart


def call(loaded: LoadedConfig, tool: str, arguments: dict[str, Any]) -> tuple[bool, str]:
    """Call `tool` with `arguments`; returns (succeeded, the result as JSON)."""
    needed = backends_for_call(loaded.config, tool)
    if needed is not None:
        loaded = only_backends(loaded, needed)
    return anyio.run(_call, loaded, tool, arguments)


async def _call(loaded: LoadedConfig, tool: str, arguments: dict[str, Any]) -> tuple[bool, str]:
    async with headstart.head_starts(_launches(loaded)):
        # the backends start while these load (jsonschema too: the client checks the result
        # against the tool's output schema with it, and would load it once the answer is in)
        importlib.import_module("jsonschema")
        from fastmcp import Client
        from mcp.shared.exceptions import MCPError

        from gateway.app import Gateway
        from gateway.upstream.caller import PLAIN_CALLERS

        gateway = Gateway(loaded)
        gateway.fleet.list_as(PLAIN_CALLERS[1])  # the one client here: plain and modern (fastmcp's)
        async with Client(gateway.server) as client:
            try:
                result = await client.call_tool_mcp(tool, arguments)
            except MCPError as error:
                failure = {"error": {"code": error.error.code, "message": error.error.message}}
                return False, json.dumps(failure)
    dumped = result.model_dump(by_alias=True, mode="json", exclude_none=True)
    return not result.is_error, json.dumps(dumped, indent=2, ensure_ascii=False)


def _launches(loaded: LoadedConfig) -> list[headstart.Launch]:
    config = loaded.config
    return [
        headstart.launch_for(backend, base_dir=loaded.base_dir, namespace=config.namespace_of(name))
        for name, backend in config.backends.items()
        if backend.kind == "stdio"
    ]


def backends_for_call(config: GatewayConfig, tool: str) -> set[str] | None:
    """The backends a call of `tool` can reach (None: it cannot be told before listing them).

    A name `<namespace>_...` comes from the backend with that namespace (or one without a
    namespace); a workflow reaches the backends its steps name; a step whose target is written
    with a reference can reach any backend."""
    workflow = config.workflows.get(tool)
    if workflow is None:
        if tool in (SEARCH_TOOL, CALL_TOOL):
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
