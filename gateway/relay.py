"""The relay: MCP requests from clients, answered by the backend that owns the name.

The relay installs itself as the front server's handlers for the component methods (lists,
`tools/call`, `prompts/get`, `resources/read`, `completion/complete`, subscriptions,
`logging/setLevel`). Each handler finds the route in the caller's view, leases a backend
session for the caller, forwards the raw request under the backend's own name, and returns the
backend's raw answer with only names changed (see `gateway.results`). Components defined on
the gateway itself are served by FastMCP's own handlers, which the relay keeps as fallback.
"""

from __future__ import annotations

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
    SubscribeRequestParams,
    SubscriptionsListenRequestParams,
    UnsubscribeRequestParams,
)
from pydantic import BaseModel

from gateway.caller import LOG_LEVEL_STATE_KEY, FrontCaller
from gateway.dispatch import Dispatch
from gateway.errors import GatewayError, to_mcp_error
from gateway.naming import split_front_uri
from gateway.policies.offload import RESULTS_TEMPLATE, is_kept_uri, read_kept
from gateway.principal import principal_of
from gateway.results import complete, forward_params, unknown_tool
from gateway.routes import Route, RouteIndex, front_items
from gateway.subscriptions import GatewayListenHandler
from gateway.toolsearch import NAMES as SEARCH_TOOLS
from gateway.toolsearch import ToolSearch

if TYPE_CHECKING:
    from mcp.server.lowlevel.server import HandlerEntry

    from gateway.app import Gateway

Ctx = ServerRequestContext[Any, Any]
LIST_KEYS = {
    "tools/list": "tools",
    "prompts/list": "prompts",
    "resources/list": "resources",
    "resources/templates/list": "resourceTemplates",
}
EMPTY_COMPLETION = {"completion": {"values": [], "hasMore": False}}


class Relay:
    """Front handlers that route each request to its backend."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.dispatch = Dispatch(gateway)
        self.search = ToolSearch(self)
        self._local: dict[str, HandlerEntry[Any]] = {}

    def install(self) -> None:
        """Take over the component methods of the front server's low-level handlers."""
        server = self.gateway.server._mcp_server
        for method in (*LIST_KEYS, "tools/call", "prompts/get", "resources/read"):
            entry = server.get_request_handler(method)
            if entry is not None:
                self._local[method] = entry
        handlers: list[tuple[str, type[BaseModel], Any]] = [
            ("tools/list", PaginatedRequestParams, self.list_tools),
            ("prompts/list", PaginatedRequestParams, self.list_prompts),
            ("resources/list", PaginatedRequestParams, self.list_resources),
            ("resources/templates/list", PaginatedRequestParams, self.list_templates),
            ("tools/call", CallToolRequestParams, self.call_tool),
            ("prompts/get", GetPromptRequestParams, self.get_prompt),
            ("resources/read", ReadResourceRequestParams, self.read_resource),
            ("logging/setLevel", SetLevelRequestParams, self.set_level),
        ]
        for method, params_type, handler in handlers:
            server.add_request_handler(method, params_type, handler)
        # 2026-07-28 results of cacheable methods carry ttlMs/cacheScope: what a client may see
        # depends on who it is, so never shared, and always fresh.
        hint = CacheHint(ttl_ms=0, scope="private")
        server.cache_hints.update({m: hint for m in CACHEABLE_METHODS if m != "server/discover"})
        # The modern HTTP transport checks Mcp-Param headers against the tool's schema; answer
        # that from the index instead of a full tools/list walk per call.
        server.get_tool_input_schema = self._input_schema

    def advertise(self, *, completions: bool, subscriptions: bool) -> None:
        """Serve (and so advertise) completions and subscriptions only when a backend has them."""
        server = self.gateway.server._mcp_server
        optional: list[tuple[str, type[BaseModel], Any, bool]] = [
            ("completion/complete", CompleteRequestParams, self.complete, completions),
            ("resources/subscribe", SubscribeRequestParams, self.subscribe, subscriptions),
            ("resources/unsubscribe", UnsubscribeRequestParams, self.unsubscribe, subscriptions),
        ]
        for method, params_type, handler, wanted in optional:
            if wanted:
                server.add_request_handler(method, params_type, handler)
            else:
                server._request_handlers.pop(method, None)
        # 2026-07-28 change notifications travel on subscriptions/listen streams (list_changed
        # from the gateway itself, resources/updated from subscribed backends).
        listen = GatewayListenHandler(self.gateway, self.gateway.notifier.bus)
        server.add_request_handler("subscriptions/listen", SubscriptionsListenRequestParams, listen)

    def caller(self, ctx: Ctx) -> FrontCaller:
        """The calling client; a handshake-era session is remembered for notifications."""
        caller = FrontCaller(ctx)
        if caller.bindable:
            self.gateway.sessions.remember(caller.key, ctx.session._connection)
        return caller

    # -- lists -----------------------------------------------------------------------------

    async def list_tools(self, ctx: Ctx, params: PaginatedRequestParams | None) -> dict[str, Any]:
        return await self._list(ctx, params, "tools/list")

    async def list_prompts(self, ctx: Ctx, params: PaginatedRequestParams | None) -> dict[str, Any]:
        return await self._list(ctx, params, "prompts/list")

    async def list_resources(self, ctx: Ctx, params: PaginatedRequestParams | None) -> dict[str, Any]:
        return await self._list(ctx, params, "resources/list")

    async def list_templates(self, ctx: Ctx, params: PaginatedRequestParams | None) -> dict[str, Any]:
        return await self._list(ctx, params, "resources/templates/list")

    async def _list(self, ctx: Ctx, params: PaginatedRequestParams | None, method: str) -> dict[str, Any]:
        index = await self.index(ctx)
        items = _front_items(index, method)
        if method == "tools/list" and self.search.active(principal_of(ctx), index):
            items = self.search.tools()  # too many tokens for this client: the search pair instead
        elif method == "resources/templates/list" and self._keeps_results:
            items.append(dict(RESULTS_TEMPLATE))
        if method == "tools/list" and self.gateway.workflows.defined:
            flows = self.gateway.workflows.tools()
            names = {item["name"] for item in flows}
            items = [item for item in items if item.get("name") not in names] + flows
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

    @property
    def _keeps_results(self) -> bool:
        return self.gateway.config.limits.oversized_response == "resource_link"

    async def index(self, ctx: Ctx) -> RouteIndex:
        """The names this client may use (catalogs loaded first)."""
        await self.gateway.ensure_catalogs()
        try:
            return await self.gateway.index_for(self.caller(ctx))
        except GatewayError as error:
            raise to_mcp_error(error) from None

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

    def _refuse_held(self, ctx: Ctx, kind: str, name: str) -> None:
        """A name the lockfile holds back (`lock: block`) is refused saying why, if the caller
        could see it; otherwise it stays indistinguishable from a name that does not exist."""
        gateway = self.gateway
        if not gateway.lock.holds_anything:
            return
        namespaces = {n: b.namespace for n, b in gateway.backends.items()}
        visible = gateway.views.filter(gateway.lock.held, self.caller(ctx).principal, namespaces)
        error = gateway.lock.refusal(visible, kind, name)
        if error is not None:
            raise to_mcp_error(error)

    def _input_schema(self, name: str) -> dict[str, Any] | None:
        route = self.gateway.index.tools.get(name)
        if route is None:
            return None
        schema = route.item.get("inputSchema")
        return schema if isinstance(schema, dict) else None

    # -- calls -----------------------------------------------------------------------------

    async def call_tool(self, ctx: Ctx, params: CallToolRequestParams) -> Any:
        if params.name in self.gateway.workflows.defined:
            return complete(ctx, await self.gateway.workflows.call(ctx, params.name, params.arguments or {}))
        index = await self.index(ctx)
        if params.name in SEARCH_TOOLS and self.search.active(principal_of(ctx), index):
            return await self.search.call(ctx, params, index)
        route = index.tools.get(params.name)
        if route is None:
            self._refuse_held(ctx, "tools", params.name)
            local = self._local.get("tools/call")
            if local is not None and self.gateway.has_local_components:
                return await local.handler(ctx, params)
            return complete(ctx, unknown_tool(params.name))
        forward = forward_params(ctx, {"name": route.backend_id})
        return await self._forward(ctx, route, "tools/call", forward, front=params.name)

    async def get_prompt(self, ctx: Ctx, params: GetPromptRequestParams) -> Any:
        route = (await self.index(ctx)).prompts.get(params.name)
        if route is None:
            self._refuse_held(ctx, "prompts", params.name)
            local = self._local.get("prompts/get")
            if local is not None and self.gateway.has_local_components:
                return await local.handler(ctx, params)
            raise MCPError(code=mcp_types.INVALID_PARAMS, message=f"Unknown prompt: {params.name!r}")
        forward = forward_params(ctx, {"name": route.backend_id})
        return await self._forward(ctx, route, "prompts/get", forward, front=params.name)

    async def read_resource(self, ctx: Ctx, params: ReadResourceRequestParams) -> Any:
        uri = str(params.uri)
        if is_kept_uri(uri):  # an oversized tool result the gateway kept for its caller
            kept = read_kept(self.gateway.results, principal_of(ctx), uri)
            if kept is None:
                raise _resource_not_found(uri)
            return complete(ctx, kept)
        found = self.resolve_uri(uri, await self.index(ctx))
        if found is None:
            self._refuse_held(ctx, "resources", uri)
            local = self._local.get("resources/read")
            if local is not None and self.gateway.has_local_components:
                return await local.handler(ctx, params)
            raise _resource_not_found(uri)
        route, backend_uri = found
        forward = forward_params(ctx, {"uri": backend_uri})
        return await self._forward(ctx, route, "resources/read", forward, front=uri)

    def resolve_uri(self, uri: str, index: RouteIndex | None = None) -> tuple[Route, str] | None:
        """The route of a concrete resource URI and the URI the backend knows it by."""
        index = index or self.gateway.index
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
        index = await self.index(ctx)
        ref = params.ref
        route: Route | None
        if isinstance(ref, mcp_types.PromptReference):
            route = index.prompts.get(ref.name)
            backend_ref = {"type": "ref/prompt", "name": route.backend_id} if route else None
        else:
            route = index.template_by_front(ref.uri) or index.resources.get(ref.uri)
            backend_ref = {"type": "ref/resource", "uri": route.backend_id} if route else None
        if route is None or backend_ref is None:
            return complete(ctx, dict(EMPTY_COMPLETION))
        caps = self.gateway.backends[route.backend].capabilities()
        if caps is not None and caps.completions is None:
            return complete(ctx, dict(EMPTY_COMPLETION))
        forward = forward_params(ctx, {"ref": backend_ref})
        return await self._forward(ctx, route, "completion/complete", forward, front=route.backend_id)

    async def _forward(
        self, ctx: Ctx, route: Route, method: str, params: dict[str, Any], *, front: str
    ) -> dict[str, Any]:
        result = await self.dispatch.forward(
            self.caller(ctx), route, method, params, front=front, raw=ctx.params
        )
        return complete(ctx, result)

    # -- subscriptions and logging ---------------------------------------------------------

    async def subscribe(self, ctx: Ctx, params: SubscribeRequestParams) -> dict[str, Any]:
        return await self._subscription(ctx, str(params.uri), subscribe=True)

    async def unsubscribe(self, ctx: Ctx, params: UnsubscribeRequestParams) -> dict[str, Any]:
        return await self._subscription(ctx, str(params.uri), subscribe=False)

    async def _subscription(self, ctx: Ctx, uri: str, *, subscribe: bool) -> dict[str, Any]:
        caller = self.caller(ctx)
        found = self.resolve_uri(uri, await self.index(ctx))
        if found is None:
            raise _resource_not_found(uri)
        route, backend_uri = found
        backend = self.gateway.backends[route.backend]
        caps = backend.capabilities()
        if caps is not None and not (caps.resources and caps.resources.subscribe):
            raise MCPError(
                code=mcp_types.METHOD_NOT_FOUND,
                message=f"backend '{backend.name}' does not support resource subscriptions",
            )
        method = "resources/subscribe" if subscribe else "resources/unsubscribe"
        try:
            if backend.personal and caller.bindable:
                async with backend.lease(caller) as session:
                    await session.request(
                        method, {"uri": backend_uri}, timeout=backend.config.request_timeout
                    )
            elif subscribe:
                await self.gateway.subscriptions.add(caller.key, uri, backend.name, backend_uri)
            else:
                await self.gateway.subscriptions.remove(caller.key, uri)
        except GatewayError as error:
            raise to_mcp_error(error) from None
        return complete(ctx, {})

    async def set_level(self, ctx: Ctx, params: SetLevelRequestParams) -> dict[str, Any]:
        caller = self.caller(ctx)
        ctx.session._connection.state[LOG_LEVEL_STATE_KEY] = params.level
        try:
            for backend in self.gateway.backends.values():
                await backend.set_log_level(caller, params.level)
        except GatewayError as error:
            raise to_mcp_error(error) from None
        return complete(ctx, {})


def _front_items(index: RouteIndex, method: str) -> list[dict[str, Any]]:
    if method == "tools/list":
        return front_items(index.tools)
    if method == "prompts/list":
        return front_items(index.prompts)
    if method == "resources/list":
        return front_items(index.resources)
    return [dict(route.item) for route in index.templates]


def _identity(item: dict[str, Any]) -> Any:
    return item.get("name") or item.get("uri") or item.get("uriTemplate")


def _resource_not_found(uri: str) -> MCPError:
    return MCPError(code=mcp_types.INVALID_PARAMS, message=f"Resource not found: {uri!r}", data={"uri": uri})
