"""Admission: whether the SDK's server would take a request as it is, checked as it checks it.

The fast path (`gateway.relay.fast`) answers a request itself only where the SDK's server would
have accepted it; a request the server refuses goes on to it, and is refused as it refuses it
(the same status, the same words) before any backend sees it. The server's checks, in its
order, for a POST at `/mcp`:

- the caller is authenticated, with the scopes `auth` requires (`authorized`);
- the `MCP-Protocol-Version` header, if given, names a version it speaks;
- the `Accept` header takes JSON and server-sent events, wildcards included (else 406);
- the `Content-Type` is JSON: in the handshake era `application/json` exactly, among the types
  before any `;` (else 415); in the 2026-07-28 era anything starting `application/json`, in any
  case (else 400);
- the body is the JSON-RPC message it looks like: in the handshake era what the SDK's message
  adapter makes of it (a request whose id it cannot read is a notification to it, answered 202);
  in the 2026-07-28 era a request (else 400);
- a request's params are valid for its method in the client's version, then for the handler
  the relay installed (`params_valid`); a 2026-07-28 call's `Mcp-Param-*` headers agree with its
  arguments (`headers_agree`).

A request naming a header twice never gets here: the guard leaves it to the SDK's server.

Running the SDK's models on every request costs more than the rest of the fast path's checks
together, and a client sends the same headers and the same `_meta` envelope request after
request. So what decides a verdict is remembered (`Verdicts`): the `Accept` and `Content-Type`
pair, and a `_meta` (but its progress token, a fresh one per request and valid as any string or
integer) for a method and version, where the rest of the params has the plain shape whose
validity the `_meta` alone decides; a JSON-RPC request of the plain shape (`jsonrpc` "2.0", an
integer or string id, a string method, params an object or none) is one the SDK reads as a
request. Anything else is checked by the SDK's models, every time.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from typing import Any

import orjson
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.shared.inbound import find_invalid_x_mcp_header, validate_mcp_param_headers, x_mcp_header_map
from mcp_types import JSONRPCError, JSONRPCNotification, JSONRPCRequest, JSONRPCResponse
from mcp_types.jsonrpc import jsonrpc_message_adapter
from mcp_types.methods import validate_client_request
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS, MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError
from starlette.types import Scope

from gateway.methods import LIST_METHODS

JSON = "application/json"
SSE = "text/event-stream"
MAX_VERDICTS = 4096
MAX_CACHED_SCHEMAS = 4096
_PLAIN_KEYS = {"tools/call": frozenset({"name", "arguments", "_meta"})} | {
    method: frozenset({"cursor", "_meta"}) for method in LIST_METHODS
}
"""The params of each method the fast path serves whose validity their `_meta` alone decides,
given the plain shape (`_plain_params`)."""
_mirroring: dict[int, tuple[object, bool]] = {}
"""Whether each tool's input schema mirrors arguments into headers, by the schema's identity
(the entry holds the schema, so its id is not reused while cached; a rebuilt index brings new
schemas)."""


def authorized(scope: Scope, auth: Any) -> bool:
    """What the SDK's authentication check would let through, it lets through."""
    if auth is None:
        return True
    if not isinstance(scope.get("user"), AuthenticatedUser):
        return False
    credentials = scope.get("auth")
    granted = set(getattr(credentials, "scopes", ()) or ())
    return set(auth.required_scopes) <= granted


class Verdicts:
    """Verdicts remembered by what decides them (at most `MAX_VERDICTS`, then forgotten)."""

    def __init__(self) -> None:
        self._known: dict[Hashable, bool] = {}

    def of(self, key: Hashable, decide: Callable[[], bool]) -> bool:
        known = self._known.get(key)
        if known is None:
            known = decide()
            if len(self._known) >= MAX_VERDICTS:
                self._known.clear()
            self._known[key] = known
        return known


_verdicts = Verdicts()


def transport_takes(headers: Mapping[str, str], message: dict[str, Any]) -> bool:
    """Whether the SDK's HTTP transport takes this POST as the message it looks like (a request,
    a notification, or a response to the server's own request)."""
    version = headers.get("mcp-protocol-version")
    modern = version in MODERN_PROTOCOL_VERSIONS
    if not (modern or version is None or version in HANDSHAKE_PROTOCOL_VERSIONS):
        return False
    accept, content_type = headers.get("accept", ""), headers.get("content-type", "")
    key = ("http", modern, accept, content_type)
    if not _verdicts.of(key, lambda: _accepts_both(accept) and _json_type(content_type, modern=modern)):
        return False
    if "id" in message and "method" in message and _plain_request(message):
        return True  # both eras' transports read it as a request
    if modern:
        return "id" in message and _valid_request(message)
    return _handshake_kind(message)


def params_valid(handlers: Any, method: str, version: str | None, params: Any) -> bool:
    """Whether the SDK's server takes these params, checked as it checks them: against the
    method's model in the protocol version, then its handler's own model."""
    if _plain_params(method, params):
        meta = _meta_key(params.get("_meta"))
        if meta is not None:
            return _verdicts.of((method, version, meta), lambda: _checked(handlers, method, version, params))
    return _checked(handlers, method, version, params)


def _checked(handlers: Any, method: str, version: str | None, params: Any) -> bool:
    try:
        validate_client_request(method, str(version), params)  # ValueError: a version it does not know
        handler = handlers.get_request_handler(method)
        if handler is not None:
            handler.params_type.model_validate({} if params is None else params, by_name=False)
    except (ValueError, KeyError):  # pydantic's ValidationError is a ValueError
        return False
    return True


def headers_agree(tool: Mapping[str, Any], params: Mapping[str, Any], headers: Mapping[str, str]) -> bool:
    """Whether a 2026-07-28 call's `Mcp-Param-*` headers match its arguments (as the SDK checks)."""
    schema = tool.get("inputSchema")
    arguments = params.get("arguments") or {}
    if not isinstance(schema, dict) or not isinstance(arguments, dict) or not _mirrors(schema):
        return True  # nothing to compare: the SDK's check passes whatever the headers say
    if not arguments and not any(name.startswith("mcp-param-") for name in headers):
        return True
    return validate_mcp_param_headers(schema, arguments, headers) is None


def _mirrors(schema: dict[str, Any]) -> bool:
    """Whether a valid schema annotates arguments to mirror as `Mcp-Param-*` headers (the SDK
    validates nothing for a schema with none, or with an invalid annotation)."""
    cached = _mirroring.get(id(schema))
    if cached is not None and cached[0] is schema:
        return cached[1]
    verdict = find_invalid_x_mcp_header(schema) is None and bool(x_mcp_header_map(schema))
    if len(_mirroring) >= MAX_CACHED_SCHEMAS:
        _mirroring.clear()
    _mirroring[id(schema)] = (schema, verdict)
    return verdict


def _accepts_both(accept: str) -> bool:
    """The SDK's reading of `Accept` (`check_accept_headers`): JSON and event streams both taken."""
    types = [media.strip().split(";")[0].strip().lower() for media in accept.split(",")]
    anything = "*/*" in types
    json = anything or any(t in (JSON, "application/*") for t in types)
    sse = anything or any(t in (SSE, "text/*") for t in types)
    return json and sse


def _json_type(content_type: str, *, modern: bool) -> bool:
    """The SDK's reading of `Content-Type` in each era."""
    if modern:
        return content_type.lower().startswith(JSON)
    return JSON in (part.strip() for part in content_type.split(";")[0].split(","))


def _plain_request(message: dict[str, Any]) -> bool:
    return (
        message.get("jsonrpc") == "2.0"
        and type(message["id"]) in (int, str)
        and type(message["method"]) is str
        and type(message.get("params", {})) is dict
    )


def _plain_params(method: str, params: Any) -> bool:
    """Params of the plain shape: known keys only, a string name or cursor, arguments an object."""
    keys = _PLAIN_KEYS.get(method)
    if keys is None or type(params) is not dict or not keys.issuperset(params):
        return False
    if method == "tools/call":
        return type(params.get("name")) is str and type(params.get("arguments", {})) in (dict, type(None))
    return type(params.get("cursor", "")) in (str, type(None))


def _meta_key(meta: Any) -> bytes | None:
    """What decides a `_meta`'s validity (its progress token aside, when it is a string or an
    integer); None when it cannot be keyed so."""
    if meta is None:
        return b""
    if type(meta) is not dict:
        return None
    token = meta.get("progressToken")
    if token is not None:
        if type(token) not in (int, str):
            return None
        meta = {key: value for key, value in meta.items() if key != "progressToken"}
    try:
        return orjson.dumps(meta, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return None


def _valid_request(message: dict[str, Any]) -> bool:
    try:
        JSONRPCRequest.model_validate(message)
    except ValidationError:
        return False
    return True


def _handshake_kind(message: dict[str, Any]) -> bool:
    """Whether the handshake-era transport reads the message as what it looks like."""
    try:
        parsed = jsonrpc_message_adapter.validate_python(message, by_name=False)
    except ValidationError:
        return False
    if "method" in message:
        return isinstance(parsed, JSONRPCRequest if "id" in message else JSONRPCNotification)
    return isinstance(parsed, JSONRPCResponse | JSONRPCError)
