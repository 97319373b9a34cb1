"""The relay: MCP requests from clients, answered by the backend that owns the name.

The relay installs itself as the front server's handlers for the component methods (lists,
`tools/call`, `prompts/get`, `resources/read`, `completion/complete`, `logging/setLevel`). Each
handler finds the route, leases a backend session for the calling client, forwards the raw
request with the backend's own name, and returns the backend's raw answer, changing only
what names a component (resource URIs inside results get the namespace, so a client can read
what a tool links to). Components defined on the gateway itself are served by FastMCP's own
handlers, which the relay keeps as its fallback.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import mcp_types
from fastmcp.utilities.pagination import paginate_sequence
from mcp.server.caching import CACHEABLE_METHODS, CacheHint
from mcp.server.context import ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import (
    CallToolRequestParams,
    CompleteRequestParams,
    GetPromptRequestParams,
    PaginatedRequestParams,
    ReadResourceRequestParams,
    SetLevelRequestParams,
)
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import BaseModel

from gateway.caller import LOG_LEVEL_STATE_KEY, FrontCaller
from gateway.errors import GatewayError, to_mcp_error
from gateway.naming import front_uri, split_front_uri
from gateway.routes import Route, front_items

if TYPE_CHECKING:
    from mcp.server.lowlevel.server import HandlerEntry

    from gateway.app import Gateway

Ctx = ServerRequestContext[Any, Any]
CONNECTION_META_KEYS = frozenset(
    {
        mcp_types.PROTOCOL_VERSION_META_KEY,
        mcp_types.CLIENT_INFO_META_KEY,
        mcp_types.CLIENT_CAPABILITIES_META_KEY,
        "progressToken",
    }
)
LIST_KEYS = {
    "tools/list": "tools",
    "prompts/list": "prompts",
    "resources/list": "resources",
    "resources/templates/list": "resourceTemplates",
}


class Relay:
    """Front handlers that route each request to its backend."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self._local: dict[str, HandlerEntry[Any]] = {}

    def install(self) -> None:
        """Take over the component methods of the front server's low-level handlers."""
        server = self.gateway.server._mcp_server
        for method in (*LIST_KEYS, "tools/call", "prompts/get", "resources/read"):
            entry = server.get_request_handler(method)
            if entry is not None:
                self._local[method] = entry
        server.add_request_handler("tools/list", PaginatedRequestParams, self.list_tools)
        server.add_request_handler("prompts/list", PaginatedRequestParams, self.list_prompts)
        server.add_request_handler("resources/list", PaginatedRequestParams, self.list_resources)
        server.add_request_handler("resources/templates/list", PaginatedRequestParams, self.list_templates)
        server.add_request_handler("tools/call", CallToolRequestParams, self.call_tool)
        server.add_request_handler("prompts/get", GetPromptRequestParams, self.get_prompt)
        server.add_request_handler("resources/read", ReadResourceRequestParams, self.read_resource)
        server.add_request_handler("completion/complete", CompleteRequestParams, self.complete)
        server.add_request_handler("logging/setLevel", SetLevelRequestParams, self.set_level)
        # 2026-07-28 results of cacheable methods carry ttlMs/cacheScope: what a client may see
        # depends on who it is, so never shared, and always fresh.
        hint = CacheHint(ttl_ms=0, scope="private")
        server.cache_hints.update({m: hint for m in CACHEABLE_METHODS if m != "server/discover"})
        # The modern HTTP transport checks Mcp-Param headers against the tool's schema; answer
        # that from the index instead of a full tools/list walk per call.
        server.get_tool_input_schema = self._input_schema

    # -- lists -----------------------------------------------------------------------------

    async def list_tools(self, ctx: Ctx, params: PaginatedRequestParams | None) -> dict[str, Any]:
        return await self._list(ctx, params, "tools/list")

    async def list_prompts(self, ctx: Ctx, params: PaginatedRequestParams | None) -> dict[str, Any]:
        return await self._list(ctx, params, "prompts/list")

    async def list_resources(self, ctx: Ctx, params: PaginatedRequestParams | None) -> dict[str, Any]:
        return await self._list(ctx, params, "resources/list")

    async def list_templates(self, ctx: Ctx, params: PaginatedRequestParams | None) -> dict[str, Any]:
        return await self._list(ctx, params, "resources/templates/list")

    def _front_items(self, method: str) -> list[dict[str, Any]]:
        index = self.gateway.index
        if method == "tools/list":
            return front_items(index.tools)
        if method == "prompts/list":
            return front_items(index.prompts)
        if method == "resources/list":
            return front_items(index.resources)
        return [dict(route.item) for route in index.templates]

    async def _list(self, ctx: Ctx, params: PaginatedRequestParams | None, method: str) -> dict[str, Any]:
        await self.gateway.ensure_catalogs()
        items = self._front_items(method)
        key = LIST_KEYS[method]
        local = await self._local_items(ctx, method, key)
        if local:
            taken = {_identity(item) for item in items}
            items = items + [item for item in local if _identity(item) not in taken]
        page_size = self.gateway.config.gateway.list_page_size
        cursor = params.cursor if params is not None else None
        if page_size is None:
            return complete(ctx, {key: items})
        try:
            page, next_cursor = paginate_sequence(items, cursor, page_size)
        except ValueError:
            raise MCPError(code=mcp_types.INVALID_PARAMS, message="invalid or expired cursor") from None
        result: dict[str, Any] = {key: page}
        if next_cursor is not None:
            result["nextCursor"] = next_cursor
        return complete(ctx, result)

    async def _local_items(self, ctx: Ctx, method: str, key: str) -> list[dict[str, Any]]:
        entry = self._local.get(method)
        if entry is None or not self.gateway.has_local_components:
            return []
        result = await entry.handler(ctx, mcp_types.PaginatedRequestParams())
        if not isinstance(result, BaseModel):
            return []
        dumped = result.model_dump(by_alias=True, mode="json", exclude_none=True)
        items = dumped.get(key, [])
        return list(items) if isinstance(items, list) else []

    def _input_schema(self, name: str) -> dict[str, Any] | None:
        route = self.gateway.index.tools.get(name)
        if route is None:
            return None
        schema = route.item.get("inputSchema")
        return schema if isinstance(schema, dict) else None

    # -- calls -----------------------------------------------------------------------------

    async def call_tool(self, ctx: Ctx, params: CallToolRequestParams) -> Any:
        await self.gateway.ensure_catalogs()
        route = self.gateway.index.tools.get(params.name)
        if route is None:
            local = self._local.get("tools/call")
            if local is not None and self.gateway.has_local_components:
                return await local.handler(ctx, params)
            return complete(ctx, unknown_tool(params.name))
        forward = _forward_params(ctx, {"name": route.backend_id})
        return await self._forward(ctx, route, "tools/call", forward)

    async def get_prompt(self, ctx: Ctx, params: GetPromptRequestParams) -> Any:
        await self.gateway.ensure_catalogs()
        route = self.gateway.index.prompts.get(params.name)
        if route is None:
            local = self._local.get("prompts/get")
            if local is not None and self.gateway.has_local_components:
                return await local.handler(ctx, params)
            raise MCPError(code=mcp_types.INVALID_PARAMS, message=f"Unknown prompt: {params.name!r}")
        forward = _forward_params(ctx, {"name": route.backend_id})
        return await self._forward(ctx, route, "prompts/get", forward)

    async def read_resource(self, ctx: Ctx, params: ReadResourceRequestParams) -> Any:
        await self.gateway.ensure_catalogs()
        uri = str(params.uri)
        found = self.resolve_uri(uri)
        if found is None:
            local = self._local.get("resources/read")
            if local is not None and self.gateway.has_local_components:
                return await local.handler(ctx, params)
            raise MCPError(
                code=mcp_types.INVALID_PARAMS, message=f"Resource not found: {uri!r}", data={"uri": uri}
            )
        route, backend_uri = found
        forward = _forward_params(ctx, {"uri": backend_uri})
        return await self._forward(ctx, route, "resources/read", forward)

    def resolve_uri(self, uri: str) -> tuple[Route, str] | None:
        """The route of a concrete resource URI and the URI the backend knows it by."""
        index = self.gateway.index
        route = index.resources.get(uri)
        if route is not None:
            return route, route.backend_id
        template = index.find_template(uri)
        if template is None:
            return None
        namespace = self.gateway.backends[template.backend].namespace
        if not namespace:
            return template, uri
        split = split_front_uri(uri)
        if split is None or split[0] != namespace:
            return None
        return template, split[1]

    async def complete(self, ctx: Ctx, params: CompleteRequestParams) -> Any:
        await self.gateway.ensure_catalogs()
        ref = params.ref
        route: Route | None
        if isinstance(ref, mcp_types.PromptReference):
            route = self.gateway.index.prompts.get(ref.name)
            backend_ref = {"type": "ref/prompt", "name": route.backend_id} if route else None
        else:
            route = self.gateway.index.template_by_front(ref.uri) or self.gateway.index.resources.get(ref.uri)
            backend_ref = {"type": "ref/resource", "uri": route.backend_id} if route else None
        if route is None or backend_ref is None:
            return complete(ctx, {"completion": {"values": [], "hasMore": False}})
        forward = _forward_params(ctx, {"ref": backend_ref})
        backend = self.gateway.backends[route.backend]
        caps = backend.capabilities()
        if caps is not None and caps.completions is None:
            return complete(ctx, {"completion": {"values": [], "hasMore": False}})
        return await self._forward(ctx, route, "completion/complete", forward)

    async def set_level(self, ctx: Ctx, params: SetLevelRequestParams) -> dict[str, Any]:
        ctx.session._connection.state[LOG_LEVEL_STATE_KEY] = params.level
        return complete(ctx, {})

    async def _forward(self, ctx: Ctx, route: Route, method: str, params: dict[str, Any]) -> dict[str, Any]:
        backend = self.gateway.backends[route.backend]
        caller = FrontCaller(ctx)
        on_progress = caller.progress if caller.progress_token is not None else None
        try:
            async with backend.lease(caller) as session:
                if session.modern and caller.log_level:
                    # A 2026-07-28 backend logs only when a request opts in; speak for the client.
                    meta = params.setdefault("_meta", {})
                    meta.setdefault(mcp_types.LOG_LEVEL_META_KEY, caller.log_level)
                result = await session.request(
                    method, params, timeout=backend.config.request_timeout, on_progress=on_progress
                )
        except GatewayError as error:
            raise to_mcp_error(error) from None
        return complete(ctx, namespace_uris(strip_hop_meta(result), backend.namespace))


def complete(ctx: Ctx, result: dict[str, Any]) -> dict[str, Any]:
    """Mark a final result as such on a 2026-07-28 connection (older backends do not)."""
    if ctx.protocol_version in MODERN_PROTOCOL_VERSIONS and "resultType" not in result:
        result["resultType"] = "complete"
    return result


def strip_hop_meta(result: dict[str, Any]) -> dict[str, Any]:
    """Drop the backend's own connection stamps (its serverInfo) from a result's `_meta`."""
    meta = result.get("_meta")
    if isinstance(meta, dict) and mcp_types.SERVER_INFO_META_KEY in meta:
        kept = {k: v for k, v in meta.items() if k != mcp_types.SERVER_INFO_META_KEY}
        if kept:
            result["_meta"] = kept
        else:
            del result["_meta"]
    return result


def unknown_tool(name: str) -> dict[str, Any]:
    """The answer for a tool the caller cannot see: the same whether it exists or not."""
    return {"content": [{"type": "text", "text": f"Unknown tool: {name!r}"}], "isError": True}


def _forward_params(ctx: Ctx, replace: Mapping[str, Any]) -> dict[str, Any]:
    """The client's params with the backend's names, and `_meta` minus what belongs to the hop."""
    raw = dict(ctx.params or {})
    raw.update(replace)
    meta = raw.pop("_meta", None)
    if isinstance(meta, Mapping):
        kept = {k: v for k, v in meta.items() if k not in CONNECTION_META_KEYS}
        if kept:
            raw["_meta"] = kept
    return raw


def _identity(item: Mapping[str, Any]) -> Any:
    return item.get("name") or item.get("uri") or item.get("uriTemplate")


def namespace_uris(result: dict[str, Any], namespace: str) -> dict[str, Any]:
    """Give resource URIs inside a result the namespace, so clients can read them here."""
    if not namespace:
        return result
    if "contents" in result and isinstance(result["contents"], list):
        result["contents"] = [_with_uri(c, namespace) for c in result["contents"]]
    if "content" in result and isinstance(result["content"], list):
        result["content"] = [_block(b, namespace) for b in result["content"]]
    if "messages" in result and isinstance(result["messages"], list):
        result["messages"] = [
            {**m, "content": _block(m["content"], namespace)}
            if isinstance(m, dict) and isinstance(m.get("content"), dict)
            else m
            for m in result["messages"]
        ]
    return result


def _block(block: Any, namespace: str) -> Any:
    if not isinstance(block, dict):
        return block
    kind = block.get("type")
    if kind == "resource_link":
        return _with_uri(block, namespace)
    if kind == "resource" and isinstance(block.get("resource"), dict):
        return {**block, "resource": _with_uri(block["resource"], namespace)}
    return block


def _with_uri(item: Any, namespace: str) -> Any:
    if isinstance(item, dict) and isinstance(item.get("uri"), str):
        return {**item, "uri": front_uri(namespace, item["uri"])}
    return item
