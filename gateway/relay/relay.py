"""The relay: MCP requests from clients, answered by the backend that owns the name.

The relay installs itself as the front server's handlers for the component methods (lists,
`tools/call`, `prompts/get`, `resources/read`, `completion/complete`, subscriptions,
`logging/setLevel`). Each handler finds the route in the caller's view, and hands the raw
request, under the backend's own name, to `Dispatch.forward`; the backend's raw answer comes
back with only names changed. A name outside the caller's view answers exactly like a name that
does not exist. The gateway's own errors become JSON-RPC errors here, at the MCP boundary.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import mcp_types
from fastmcp import FastMCP
from fastmcp.server.dependencies import get_http_request
from fastmcp.utilities.pagination import paginate_sequence
from mcp.server.caching import CACHEABLE_METHODS, CacheHint
from mcp.server.context import ServerRequestContext
from mcp.server.subscriptions import SubscriptionBus
from mcp_types import (
    CallToolRequestParams,
    CompleteRequestParams,
    GetPromptRequestParams,
    NotificationParams,
    PaginatedRequestParams,
    ReadResourceRequestParams,
    SetLevelRequestParams,
    SubscribeRequestParams,
    SubscriptionsListenRequestParams,
    UnsubscribeRequestParams,
)
from pydantic import BaseModel

from gateway.config import GatewayConfig
from gateway.dispatch.forward import Dispatch
from gateway.errors import GatewayError, InvalidParams, NotFound, Unsupported, to_mcp_error
from gateway.methods import LIST_METHODS
from gateway.policies.active import ActivePolicies
from gateway.policies.offload import RESULTS_TEMPLATE, is_kept_uri, read_kept
from gateway.policies.visibility import Visibility
from gateway.principal import principal_of, principal_of_scope
from gateway.relay.answers import complete, forward_params, unknown_tool
from gateway.relay.boundary import masked
from gateway.relay.callers import LOG_LEVEL_STATE_KEY, FrontCaller
from gateway.relay.frontsessions import FrontSessions
from gateway.relay.subscriptions import GatewayListenHandler, SubscriptionHub
from gateway.relay.toolsearch import NAMES as SEARCH_TOOLS
from gateway.relay.toolsearch import ToolSearch
from gateway.routing.directory import Directory
from gateway.routing.index import Route, RouteIndex, front_items
from gateway.upstream.caller import Caller
from gateway.workflows.engine import Workflows

logger = logging.getLogger("gateway.relay")

Ctx = ServerRequestContext[Any, Any]
EMPTY_COMPLETION = {"completion": {"values": [], "hasMore": False}}


class Relay:
    """Front handlers that route each request to its backend."""

    def __init__(
        self,
        server: FastMCP[Any],
        directory: Directory,
        *,
        visibility: Visibility,
        policies: ActivePolicies,
        dispatch: Dispatch,
        workflows: Workflows,
        sessions: FrontSessions,
        subscriptions: SubscriptionHub,
        bus: SubscriptionBus,
        ready: Callable[[], Awaitable[None]],
    ) -> None:
        self._server = server
        self._directory = directory
        self._visibility = visibility
        self._policies = policies
        self.dispatch = dispatch
        self._workflows = workflows
        self.front_sessions = sessions
        """The handshake-era sessions it has served (the HTTP front tells them which are open)."""
        self._subscriptions = subscriptions
        self._listen = GatewayListenHandler(subscriptions, bus, self._resolve_visible)
        self._ready = ready
        self._stamp: tuple[object, dict[str, Any]] | None = None
        self.search = ToolSearch(policies, call=self.call_tool)

    def install(self) -> None:
        """Take over the component methods of the front server's low-level handlers."""
        server = self._server._mcp_server
        handlers: list[tuple[str, type[BaseModel], Any]] = [
            *((method, PaginatedRequestParams, self._lister(method)) for method in LIST_METHODS),
            ("tools/call", CallToolRequestParams, self.call_tool),
            ("prompts/get", GetPromptRequestParams, self.get_prompt),
            ("resources/read", ReadResourceRequestParams, self.read_resource),
            ("logging/setLevel", SetLevelRequestParams, self.set_level),
            ("subscriptions/listen", SubscriptionsListenRequestParams, self._listen),
        ]
        for method, params_type, handler in handlers:
            server.add_request_handler(method, params_type, masked(method, handler))
        server.add_notification_handler(
            "notifications/roots/list_changed", NotificationParams, self.roots_changed
        )
        # 2026-07-28 results of cacheable methods carry ttlMs/cacheScope: what a client may see
        # depends on who it is, so never shared, and always fresh.
        hint = CacheHint(ttl_ms=0, scope="private")
        server.cache_hints.update({m: hint for m in CACHEABLE_METHODS if m != "server/discover"})
        # The modern HTTP transport checks Mcp-Param headers against the tool's schema; answer
        # that from the index instead of a full tools/list walk per call.
        server.get_tool_input_schema = self._input_schema
        self.advertise(completions=False, subscriptions=False)

    def advertise(self, *, completions: bool, subscriptions: bool) -> None:
        """Serve (and so advertise) completions and subscriptions only when a backend has them."""
        server = self._server._mcp_server
        optional: list[tuple[str, type[BaseModel], Any, bool]] = [
            ("completion/complete", CompleteRequestParams, self.complete, completions),
            ("resources/subscribe", SubscribeRequestParams, self.subscribe, subscriptions),
            ("resources/unsubscribe", UnsubscribeRequestParams, self.unsubscribe, subscriptions),
        ]
        for method, params_type, handler, wanted in optional:
            if wanted:
                server.add_request_handler(method, params_type, masked(method, handler))
            else:
                server._request_handlers.pop(method, None)

    def refresh(self) -> None:
        """After the index was rebuilt: advertise what the backends now offer."""
        capabilities = [c for c in (b.capabilities() for b in self._directory.backends.values()) if c]
        self.advertise(
            completions=any(c.completions is not None for c in capabilities),
            subscriptions=any(bool(c.resources and c.resources.subscribe) for c in capabilities),
        )

    # -- for the fast path (gateway.relay.fast) ----------------------------------------------

    @property
    def config(self) -> GatewayConfig:
        """The configuration in force."""
        return self._policies.current.config

    async def index_for(self, caller: Caller) -> RouteIndex:
        """The names `caller` can use (catalogs loaded first)."""
        await self._ready()
        return await self._visibility.index_for(caller)

    def resolve_uri(self, uri: str, index: RouteIndex) -> tuple[Route, str] | None:
        """The route of a resource URI in `index` and the URI its backend knows it by."""
        return self._directory.resolve_uri(uri, index)

    def parks(self, route: Route, caller: Caller) -> bool:
        """Whether a call waits for era translation: a 2026 caller, a handshake-era backend."""
        return caller.modern and self._directory.backends[route.backend].era_for(caller) == "legacy"

    @property
    def handlers(self) -> Any:
        """The SDK's low-level server, with the request handlers (and their params models) the
        relay installed: what the fast path checks a request against before taking it."""
        return self._server._mcp_server

    def server_info(self) -> dict[str, Any]:
        """The gateway's identity, as 2026-07-28 results carry it: one copy, never changed (the
        SDK's property deep-copies it on every read; the fast path encodes it at once)."""
        server = self._server._mcp_server
        if self._stamp is None or self._stamp[0] is not server:
            self._stamp = (server, server.server_info_stamp)
        return self._stamp[1]

    def caller(self, ctx: Ctx) -> FrontCaller:
        """The calling client; a handshake-era session is remembered for notifications."""
        caller = FrontCaller(ctx)
        if caller.bindable:
            self.front_sessions.remember(caller.key, ctx.session._connection)
        return caller

    async def index(self, ctx: Ctx) -> RouteIndex:
        """The names this client may use (catalogs loaded first)."""
        await self._ready()
        try:
            return await self._visibility.index_for(self.caller(ctx))
        except GatewayError as error:
            raise to_mcp_error(error) from None

    # -- lists -----------------------------------------------------------------------------

    def _lister(self, method: str) -> Callable[[Ctx, PaginatedRequestParams | None], Awaitable[Any]]:
        async def handler(ctx: Ctx, params: PaginatedRequestParams | None) -> dict[str, Any]:
            return await self._list(ctx, params, method)

        return handler

    async def _list(self, ctx: Ctx, params: PaginatedRequestParams | None, method: str) -> dict[str, Any]:
        index = await self.index(ctx)
        config = self._policies.current.config
        items = _front_items(index, method)
        if method == "tools/list" and self.search.active(principal_of(ctx), index):
            items = self.search.tools()  # too many tokens for this client: the search pair instead
        elif method == "resources/templates/list" and config.limits.oversized_response == "resource_link":
            items.append(dict(RESULTS_TEMPLATE))
        if method == "tools/list" and config.workflows:
            # a workflow's name is the gateway's own: a backend tool under it is never reached
            flows = [item for item in self._workflows.tools() if self._sees(ctx, item)]
            items = [item for item in items if item.get("name") not in config.workflows] + flows
        key = LIST_METHODS[method].key
        page_size = config.gateway.list_page_size
        cursor = params.cursor if params is not None else None
        if page_size is None:
            return complete(ctx, {key: items})
        try:
            page, next_cursor = paginate_sequence(items, cursor, page_size)
        except ValueError:
            raise to_mcp_error(InvalidParams("invalid or expired cursor")) from None
        result: dict[str, Any] = {key: page}
        if next_cursor is not None:
            result["nextCursor"] = next_cursor
        return complete(ctx, result)

    async def _resolve_visible(self, ctx: Ctx, uri: str) -> tuple[Route, str] | None:
        """A resource URI in the caller's view (None: hidden or unknown, alike)."""
        return self._directory.resolve_uri(uri, await self.index(ctx))

    def _refuse_held(self, ctx: Ctx, kind: str, name: str) -> None:
        """A name the lockfile holds back (`lock: block`) is refused saying why, if the caller
        could see it; otherwise it stays indistinguishable from a name that does not exist."""
        error = self._visibility.held_refusal(principal_of(ctx), kind, name)
        if error is not None:
            raise to_mcp_error(error)

    def _sees(self, ctx: Ctx, tool: dict[str, Any]) -> bool:
        """Whether the caller's view includes one of the gateway's own tools (a workflow)."""
        return self._policies.current.views.sees_own_tool(principal_of(ctx), tool["name"], tool)

    def _input_schema(self, name: str) -> dict[str, Any] | None:
        """A tool's input schema for `Mcp-Param-*` header checks, which run before dispatch: of a
        tool in the caller's view only, so the check never tells a hidden tool from none."""
        try:
            scope: object = get_http_request().scope
        except RuntimeError:  # not over HTTP: a local caller
            scope = None
        principal = principal_of_scope(scope)
        index = self._policies.current.views.filter(
            self._directory.index, principal, self._directory.namespaces()
        )
        route = index.tools.get(name)
        if route is None:
            return None
        schema = route.item.get("inputSchema")
        return schema if isinstance(schema, dict) else None

    # -- calls -----------------------------------------------------------------------------

    async def call_tool(self, ctx: Ctx, params: CallToolRequestParams) -> Any:
        if params.name in self._policies.current.config.workflows:
            if not self._sees(ctx, self._workflows.tool(params.name)):
                self.dispatch.refused(self.caller(ctx), "tools/call", params.name, ctx.params)
                return complete(ctx, unknown_tool(params.name))
            result = await self._workflows.call(self.caller(ctx), params.name, params.arguments or {})
            return complete(ctx, result)
        index = await self.index(ctx)
        if params.name in SEARCH_TOOLS and self.search.active(principal_of(ctx), index):
            return await self.search.call(ctx, params, index)
        route = index.tools.get(params.name)
        if route is None:
            self._refuse_held(ctx, "tools", params.name)
            self.dispatch.refused(self.caller(ctx), "tools/call", params.name, ctx.params)
            return complete(ctx, unknown_tool(params.name))
        forward = forward_params(ctx.params, {"name": route.backend_id})
        return await self._forward(ctx, route, "tools/call", forward, front=params.name)

    async def get_prompt(self, ctx: Ctx, params: GetPromptRequestParams) -> Any:
        route = (await self.index(ctx)).prompts.get(params.name)
        if route is None:
            self._refuse_held(ctx, "prompts", params.name)
            self.dispatch.refused(self.caller(ctx), "prompts/get", params.name, ctx.params)
            raise to_mcp_error(NotFound(f"Unknown prompt: {params.name!r}"))
        forward = forward_params(ctx.params, {"name": route.backend_id})
        return await self._forward(ctx, route, "prompts/get", forward, front=params.name)

    async def read_resource(self, ctx: Ctx, params: ReadResourceRequestParams) -> Any:
        uri = str(params.uri)
        if is_kept_uri(uri):  # an oversized tool result the gateway kept for its caller
            kept = read_kept(self._policies.current.results, principal_of(ctx), uri)
            if kept is None:
                self.dispatch.refused(self.caller(ctx), "resources/read", uri, ctx.params)
                raise to_mcp_error(_resource_not_found(uri))
            return complete(ctx, kept)
        found = self._directory.resolve_uri(uri, await self.index(ctx))
        if found is None:
            self._refuse_held(ctx, "resources", uri)
            self.dispatch.refused(self.caller(ctx), "resources/read", uri, ctx.params)
            raise to_mcp_error(_resource_not_found(uri))
        route, backend_uri = found
        forward = forward_params(ctx.params, {"uri": backend_uri})
        return await self._forward(ctx, route, "resources/read", forward, front=uri)

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
        backend = self._directory.backends[route.backend]
        caps = backend.capabilities(backend.era_for(self.caller(ctx)))
        if caps is not None and caps.completions is None:
            return complete(ctx, dict(EMPTY_COMPLETION))
        forward = forward_params(ctx.params, {"ref": backend_ref})
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
        try:
            found = self._directory.resolve_uri(uri, await self.index(ctx))
            if found is None:
                raise _resource_not_found(uri)
            route, backend_uri = found
            backend = self._directory.backends[route.backend]
            caps = backend.capabilities(backend.era_for(caller))
            if caps is not None and not (caps.resources and caps.resources.subscribe):
                raise Unsupported(f"backend '{backend.name}' does not support resource subscriptions")
            method = "resources/subscribe" if subscribe else "resources/unsubscribe"
            if backend.binds(caller):
                async with backend.lease(caller) as session:
                    await session.request(
                        method, {"uri": backend_uri}, timeout=backend.config.request_timeout
                    )
            elif subscribe:
                await self._subscriptions.add(caller.key, uri, backend.name, backend_uri)
            else:
                await self._subscriptions.remove(caller.key, uri)
        except GatewayError as error:
            raise to_mcp_error(error) from None
        return complete(ctx, {})

    async def roots_changed(self, ctx: Ctx, params: NotificationParams) -> None:
        """A client's roots changed: tell its own backend sessions (shared ones declare none)."""
        caller = self.caller(ctx)
        for backend in list(self._directory.backends.values()):
            try:
                await backend.roots_changed(caller)
            except GatewayError as error:
                logger.debug("backend %s: roots/list_changed not delivered: %s", backend.name, error)

    async def set_level(self, ctx: Ctx, params: SetLevelRequestParams) -> dict[str, Any]:
        caller = self.caller(ctx)
        ctx.session._connection.state[LOG_LEVEL_STATE_KEY] = params.level
        try:
            for backend in self._directory.backends.values():
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


def _resource_not_found(uri: str) -> NotFound:
    return NotFound(f"Resource not found: {uri!r}", uri=uri)
