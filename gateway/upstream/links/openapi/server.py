"""The in-process MCP server of a REST API backend, and the HTTP client it calls the API with.

fastmcp's `OpenAPIProvider` makes one tool per selected operation, without the header
parameters the gateway owns (headers.py); `ApiErrors` turns a failed API request into a tool
error that says what happened, with secret values redacted (redaction.py); the client sends only
to the base URL's origin, with its Host (`SameOrigin`) and the configured headers
(`GatewayHeaders`), never follows redirects, ignores proxy variables and times out.
"""

from __future__ import annotations

import fnmatch
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import httpx2
from fastmcp import FastMCP
from fastmcp.exceptions import ToolError
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.server.providers.openapi import (
    MCPType,
    OpenAPIProvider,
    OpenAPIResource,
    OpenAPIResourceTemplate,
    OpenAPITool,
)
from fastmcp.tools import ToolResult
from fastmcp.utilities.openapi import HTTPRoute
from mcp_types import CallToolRequestParams, ToolAnnotations
from pydantic import ValidationError

from gateway.config.openapi import OpenApiConfig, split_operation_pattern
from gateway.egress import Egress
from gateway.upstream.http import hardened_client, pooled_transport
from gateway.upstream.links.openapi.headers import GatewayHeaders, OwnedHeaders
from gateway.upstream.links.openapi.redaction import Redactor

logger = logging.getLogger("gateway.openapi")

ERROR_BODY_CHARS = 500
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
IDEMPOTENT_METHODS = READ_ONLY_METHODS | {"PUT", "DELETE"}


class RefusedRequest(httpx2.RequestError):
    """A request to somewhere other than the API's base URL origin, or for another host (never sent)."""


Origin = tuple[str, str, int]


def origin_of(url: str | httpx2.URL) -> Origin:
    """(scheme, host, port) with the scheme's default port filled in."""
    parsed = httpx2.URL(url) if isinstance(url, str) else url
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return (parsed.scheme, parsed.host.lower(), port)


class SameOrigin(httpx2.AsyncBaseTransport):
    """Sends only to one origin (scheme, host, port), with that host and port as its one Host
    header: the API client cannot be steered elsewhere, nor to another virtual host."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, origin: Origin) -> None:
        self._inner = inner
        self._origin = origin

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        scheme, host, port = origin_of(request.url)
        if (scheme, host, port) != self._origin:
            raise RefusedRequest(f"{scheme}://{host}:{port} is not the API's origin", request=request)
        hosts = request.headers.get_list("host")
        if len(hosts) != 1 or _host_origin(hosts[0], scheme) != self._origin:
            raise RefusedRequest(f"the Host header is not the API's host ({host}:{port})", request=request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _host_origin(value: str, scheme: str) -> Origin | None:
    """The origin a Host header names (`api.test`, `API.test:443`, `[::1]:8080`), if it is one."""
    if not value or any(c in value for c in "/?#@\\ \t"):
        return None
    try:
        return origin_of(httpx2.URL(f"{scheme}://{value}/"))
    except httpx2.InvalidURL:
        return None


class OperationFilter:
    """`include`/`exclude` of one backend, and which `include` patterns matched anything."""

    def __init__(self, include: Iterable[str], exclude: Iterable[str]) -> None:
        self.include = [(p, *split_operation_pattern(p)) for p in include]
        self.exclude = [(p, *split_operation_pattern(p)) for p in exclude]
        self.used: set[str] = set()

    def selects(self, route: HTTPRoute) -> bool:
        """Whether the operation becomes a tool."""
        included = [p for p, method, glob in self.include if _matches(route, method, glob)]
        self.used.update(included)
        if self.include and not included:
            return False
        return not any(_matches(route, method, glob) for _, method, glob in self.exclude)

    def unused(self) -> list[str]:
        """`include` patterns that selected no operation (probably a typo)."""
        return [p for p, _, _ in self.include if p not in self.used]


def _matches(route: HTTPRoute, method: str | None, glob: str) -> bool:
    if method is None:
        return route.operation_id is not None and fnmatch.fnmatchcase(route.operation_id, glob)
    return (method == "*" or route.method.upper() == method) and fnmatch.fnmatchcase(route.path, glob)


class ApiErrors(Middleware):
    """Turns a failed API request into a tool error that says what happened, secrets redacted."""

    def __init__(self, routes: Mapping[str, HTTPRoute], *, secrets: Iterable[str], timeout: float) -> None:
        self._routes = routes
        self._redact = Redactor(secrets)
        self._timeout = timeout

    async def on_call_tool(
        self,
        context: MiddlewareContext[CallToolRequestParams],
        call_next: CallNext[CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        try:
            return await call_next(context)
        except ToolError as error:
            route = self._routes.get(context.message.name)
            what = f"{route.method.upper()} {route.path}" if route is not None else context.message.name
            message = self.describe(error, what) or str(error)
            raise ToolError(self.redact(message)) from None

    def describe(self, error: BaseException, what: str) -> str | None:
        """What went wrong with the API request, if an HTTP failure is behind `error`."""
        cause: BaseException | None = error
        while cause is not None:
            if isinstance(cause, httpx2.HTTPStatusError):
                response = cause.response
                body = " ".join(response.text.split())
                if len(body) > ERROR_BODY_CHARS:
                    body = body[:ERROR_BODY_CHARS] + "…"
                status = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
                return f"{what}: the API answered {status}" + (f": {body}" if body else "")
            if isinstance(cause, httpx2.TimeoutException):
                return f"{what}: the API did not answer within {self._timeout:g}s"
            if isinstance(cause, RefusedRequest):
                return f"{what}: not sent, {cause}"
            if isinstance(cause, httpx2.RequestError):
                return f"{what}: cannot reach the API ({type(cause).__name__})"
            cause = cause.__cause__
        return None

    def redact(self, text: str) -> str:
        """`text` with every secret value (header values, tokens), in any case, and every echo of
        8 or more of its characters replaced by `***`."""
        return self._redact(text)


def secret_values(api: OpenApiConfig) -> list[str]:
    """What must never appear in a message: each credential header value, and its last word
    (the token of `Bearer <token>`)."""
    values = []
    for value in api.secret_headers().values():
        values += [value, value.rsplit(" ", 1)[-1]]
    return values


def build_server(
    name: str, document: dict[str, Any], client: httpx2.AsyncClient, api: OpenApiConfig
) -> FastMCP[Any]:
    """The in-process MCP server for one API: a tool per selected operation."""
    selection = OperationFilter(api.include, api.exclude)
    owned = OwnedHeaders(api.secret_headers().keys())
    routes: dict[str, HTTPRoute] = {}

    def route_type(route: HTTPRoute, default: MCPType) -> MCPType | None:
        if not selection.selects(route):
            return MCPType.EXCLUDE
        try:
            owned.drop_from(route, backend=name)
        except Exception:  # fastmcp would log it and serve the operation as it is: fail closed
            logger.exception("backend %s: operation %s %s left out", name, route.method, route.path)
            return MCPType.EXCLUDE
        return None

    def annotate(
        route: HTTPRoute, component: OpenAPITool | OpenAPIResource | OpenAPIResourceTemplate
    ) -> None:
        if isinstance(component, OpenAPITool):
            routes[component.name] = route
            method = route.method.upper()
            component.annotations = ToolAnnotations(
                read_only_hint=method in READ_ONLY_METHODS,
                idempotent_hint=method in IDEMPOTENT_METHODS,
                open_world_hint=True,
            )

    provider = OpenAPIProvider(
        document,
        client,
        route_map_fn=route_type,
        mcp_component_fn=annotate,
        validate_output=api.validate_output,
    )
    for pattern in selection.unused():
        logger.warning("backend %s: openapi.include pattern %r selects no operation", name, pattern)
    info = document.get("info")
    about = info.get("description") if isinstance(info, dict) else None
    return FastMCP(
        name,
        instructions=about if isinstance(about, str) else None,
        providers=[provider],
        middleware=[ApiErrors(routes, secrets=secret_values(api), timeout=api.timeout)],
    )


def invalid_document(error: Exception) -> str:
    """A short account of why fastmcp refused a document (never the document itself)."""
    cause = error.__cause__
    if isinstance(cause, ValidationError):
        problems = [
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
            for e in cause.errors(include_url=False, include_input=False)[:3]
        ]
        more = len(cause.errors()) - len(problems)
        return "; ".join(problems) + (f" (and {more} more)" if more > 0 else "")
    return str(error).splitlines()[0][:300]


def api_client(api: OpenApiConfig, base_url: str, *, pool_size: int, egress: Egress) -> httpx2.AsyncClient:
    """The API's client: its base URL and credentials (always as configured), a finite timeout,
    its origin and Host only, its connections pinned to addresses `egress` accepts."""
    transport = pooled_transport(
        max_connections=max(pool_size * 2, 10), max_keepalive=pool_size, egress=egress
    )
    return hardened_client(
        egress=egress,
        base_url=base_url,
        headers=api.secret_headers(),
        timeout=httpx2.Timeout(api.timeout),
        transport=SameOrigin(GatewayHeaders(transport, api.secret_headers()), origin_of(base_url)),
    )
