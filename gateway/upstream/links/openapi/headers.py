"""The headers a REST API backend's requests carry that only the gateway sets.

An OpenAPI operation may declare header parameters, and fastmcp sends a tool's header
arguments over the client's own headers. A document that declares `Authorization` or `Host`
would let a caller replace the backend's credentials or steer the request. So the gateway owns:

- credentials: `Authorization`, `Proxy-Authorization`, `Cookie`;
- routing and framing: `Host`, and the hop-by-hop and framing headers (`Connection`,
  `Content-Length`, `Transfer-Encoding`, `TE`, `Upgrade`, `Keep-Alive`, `Proxy-Connection`,
  `Trailer`);
- its own: `X-Request-Id` and every `X-Gateway-*` header;
- every header the backend's config sets (`openapi.headers`, `bearer_token`).

Twice enforced: `OwnedHeaders.drop_from` takes such header parameters out of an operation
before it becomes a tool (not in its input schema, and an argument of that name goes nowhere;
a warning names the operation and the header), and `GatewayHeaders`, in the API client's
transport, re-applies the configured headers over anything else, removes owned headers the
gateway does not send, and frames the body itself. `SameOrigin` refuses a request whose Host is
not the base URL's (gateway/upstream/links/openapi/server.py). `Cookie` built from the
operation's `in: cookie` parameters still goes out, unless the config sets `Cookie` itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

import httpx2
from fastmcp.utilities.openapi import HTTPRoute

logger = logging.getLogger("gateway.openapi")

CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
HOP_BY_HOP_HEADERS = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"})
FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding"})
GATEWAY_HEADERS = frozenset({"x-request-id"})
GATEWAY_HEADER_PREFIX = "x-gateway-"
OWNED_HEADERS = CREDENTIAL_HEADERS | HOP_BY_HOP_HEADERS | FRAMING_HEADERS | GATEWAY_HEADERS | {"host"}
"""What no tool argument may set, whatever the config (lower case)."""
NEVER_SENT = OWNED_HEADERS - FRAMING_HEADERS - {"host", "cookie"}
"""Owned headers the API client has no use for: removed at send time unless configured."""
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "QUERY"})


class OwnedHeaders:
    """The headers one backend's tools may not set: `OWNED_HEADERS`, `X-Gateway-*`, and the
    headers its config sets (`configured`)."""

    def __init__(self, configured: Iterable[str]) -> None:
        self.configured = frozenset(name.lower() for name in configured)

    def covers(self, name: str) -> bool:
        """Whether header `name` is the gateway's to set."""
        lowered = name.strip().lower()
        return (
            lowered in OWNED_HEADERS
            or lowered in self.configured
            or lowered.startswith(GATEWAY_HEADER_PREFIX)
        )

    def drop_from(self, route: HTTPRoute, *, backend: str) -> list[str]:
        """Take the owned header parameters out of `route` (its parameters, its tool's input
        schema, its argument map); log and return their names."""
        dropped = [p.name for p in route.parameters if p.location == "header" and self.covers(p.name)]
        if not dropped:
            return []
        route.parameters = [
            p for p in route.parameters if not (p.location == "header" and self.covers(p.name))
        ]
        arguments = [
            argument
            for argument, where in route.parameter_map.items()
            if where.get("location") == "header" and self.covers(where.get("openapi_name", argument))
        ]
        route.parameter_map = {k: v for k, v in route.parameter_map.items() if k not in arguments}
        route.flat_param_schema = _without_properties(route.flat_param_schema, arguments)
        logger.warning(
            "backend %s: operation %s declares header parameter%s %s, which the gateway sets; "
            "left out of the tool's arguments",
            backend,
            _operation(route),
            "s" if len(dropped) > 1 else "",
            ", ".join(dropped),
        )
        return dropped


def _without_properties(schema: Mapping[str, object], names: Iterable[str]) -> dict[str, object]:
    """`schema` (an object schema) without the properties `names`, nor requiring them."""
    gone = set(names)
    copy = dict(schema)
    properties = schema.get("properties")
    if isinstance(properties, dict):
        copy["properties"] = {k: v for k, v in properties.items() if k not in gone}
    required = schema.get("required")
    if isinstance(required, list):
        copy["required"] = [name for name in required if name not in gone]
    return copy


def _operation(route: HTTPRoute) -> str:
    where = f"{route.method.upper()} {route.path}"
    return f"{route.operation_id} ({where})" if route.operation_id else where


class GatewayHeaders(httpx2.AsyncBaseTransport):
    """Sends the configured headers as configured, whatever the request says: each is set over
    any other value; owned headers the gateway does not send (`NEVER_SENT`, `X-Gateway-*`) are
    removed; `Content-Length` is the body's length. Host is `SameOrigin`'s to check."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, configured: Mapping[str, str]) -> None:
        self._inner = inner
        self._configured = dict(configured)
        self._keep = frozenset(name.lower() for name in configured)

    def __repr__(self) -> str:
        return f"<GatewayHeaders {sorted(self._keep)}>"  # names only, never values

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        for name in {key.lower() for key in request.headers}:
            if name not in self._keep and (name in NEVER_SENT or name.startswith(GATEWAY_HEADER_PREFIX)):
                del request.headers[name]
        for name, value in self._configured.items():
            request.headers[name] = value
        _frame(request)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _frame(request: httpx2.Request) -> None:
    """`Content-Length` from the body itself, when the body is in memory (a tool's always is)."""
    try:
        body = request.content
    except httpx2.RequestNotRead:
        return  # a streamed body keeps the framing httpx2 gave it
    if "transfer-encoding" in request.headers:
        del request.headers["transfer-encoding"]
    if body or request.method in BODY_METHODS:
        request.headers["Content-Length"] = str(len(body))
    elif "content-length" in request.headers:
        del request.headers["content-length"]
