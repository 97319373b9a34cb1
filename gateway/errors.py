"""The gateway's one exception tree, and the one place it becomes an MCP error.

    GatewayError
    ├── ConfigError                 gateway.yaml (or the environment) is wrong; names the YAML path
    ├── BackendError                something about one backend; always names it
    │   ├── BackendUnavailable      could not reach it (not started, refused, gone)
    │   ├── BackendSessionLost      the session died while a request was in flight
    │   ├── BackendTimeout          no answer within the deadline
    │   ├── BackendRejected         it refused the request (HTTP 429/503), maybe with Retry-After
    │   ├── BackendOverloaded       too many requests in flight to it; refused at once
    │   ├── CircuitOpen             ejected after repeated failures; calls fail fast until it recovers
    │   └── BackendProtocolError    it answered something the gateway cannot relay
    ├── NotFound                    no such prompt or resource in the caller's view
    ├── InvalidParams               the request's parameters cannot be served (a stale cursor, ...)
    ├── Unsupported                 the backend behind the name does not offer this method
    ├── ClientUnreachable           a backend's request cannot reach a client (none is waiting)
    ├── ClientRefused               the client answered a backend's request with an error
    ├── ShuttingDown                the gateway is stopping
    ├── InternalError               a fault inside the gateway (logged; answered without detail)
    ├── InvalidResult               a result its protocol version's model refuses (the SDK's words)
    ├── TemplateError               a workflow's `{{ }}` reference does not resolve (config.templates)
    ├── ArgumentError               a workflow's arguments do not fit its inputs (workflows.plan)
    ├── StepFailed                  a workflow step could not produce its output (workflows.engine)
    └── RequestRejected             the request itself is refused (limits, policy)

Foreign exceptions (httpx2, anyio, OSError, mcp's MCPError) are translated where they arise, at
the backend boundary (`gateway.upstream.session`); everything above it sees only this tree, and
anything else that escapes a request handler is answered as `InternalError` (`gateway.relay.boundary`).
`to_mcp_error` is the one mapping to JSON-RPC errors, used wherever an answer leaves the gateway
(toward a client, or toward a backend that asked its client something): messages are written for
the caller and never carry internal exception text, URLs with credentials, or tokens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the SDK loads only when an error is mapped (config loading stays light)
    from mcp.shared.exceptions import MCPError

# JSON-RPC 2.0's own codes.
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
# JSON-RPC server-error range (-32000..-32099) codes owned by the gateway.
BACKEND_UNAVAILABLE = -32001
BACKEND_SESSION_LOST = -32002
BACKEND_TIMEOUT = -32003
BACKEND_PROTOCOL_ERROR = -32004
REQUEST_REJECTED = -32005


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""

    code: int = INTERNAL_ERROR

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def data(self) -> dict[str, object] | None:
        """Machine-readable detail sent with the JSON-RPC error (never secrets)."""
        return None


class ConfigError(GatewayError):
    """The configuration is invalid. `problems` holds one line per problem, each naming a path."""

    def __init__(self, problems: list[str], *, source: str = "gateway.yaml") -> None:
        self.problems = problems
        self.source = source
        super().__init__("\n".join(f"{source}: {p}" for p in problems))


class BackendError(GatewayError):
    """A failure that belongs to one backend."""

    code = BACKEND_UNAVAILABLE
    reason = "backend_error"

    def __init__(self, backend: str, message: str) -> None:
        self.backend = backend
        super().__init__(f"backend '{backend}': {message}")

    def data(self) -> dict[str, object] | None:
        return {"backend": self.backend, "reason": self.reason}


class BackendUnavailable(BackendError):
    """The backend could not be reached; nothing was sent."""

    code = BACKEND_UNAVAILABLE
    reason = "unavailable"


class BackendSessionLost(BackendError):
    """The backend session ended while a request was in flight; its outcome is unknown."""

    code = BACKEND_SESSION_LOST
    reason = "session_lost"


class BackendTimeout(BackendError):
    """The backend did not answer within the deadline; the request was cancelled."""

    code = BACKEND_TIMEOUT
    reason = "timeout"


class BackendRejected(BackendError):
    """The backend said no before doing anything (429/503); `retry_after` if it said when."""

    code = BACKEND_UNAVAILABLE
    reason = "rejected"

    def __init__(self, backend: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(backend, message)
        self.retry_after = retry_after

    def data(self) -> dict[str, object] | None:
        detail: dict[str, object] = {"backend": self.backend, "reason": self.reason}
        if self.retry_after is not None:
            detail["retry_after_seconds"] = round(self.retry_after, 3)
        return detail


class BackendOverloaded(BackendError):
    """The gateway already has as many requests in flight to this backend as it allows."""

    code = REQUEST_REJECTED
    reason = "overloaded"


class CircuitOpen(BackendError):
    """The backend is ejected for a cooldown after repeated failures."""

    code = BACKEND_UNAVAILABLE
    reason = "circuit_open"

    def __init__(self, backend: str, message: str, *, retry_after: float) -> None:
        super().__init__(backend, message)
        self.retry_after = retry_after

    def data(self) -> dict[str, object] | None:
        return {
            "backend": self.backend,
            "reason": self.reason,
            "retry_after_seconds": round(self.retry_after, 3),
        }


class BackendProtocolError(BackendError):
    """The backend answered with something the gateway cannot relay."""

    code = BACKEND_PROTOCOL_ERROR
    reason = "protocol_error"


class NotFound(GatewayError):
    """The named prompt or resource does not exist in the caller's view (the same answer
    whether it exists elsewhere or not)."""

    code = INVALID_PARAMS

    def __init__(self, message: str, *, uri: str | None = None) -> None:
        super().__init__(message)
        self.uri = uri

    def data(self) -> dict[str, object] | None:
        return {"uri": self.uri} if self.uri is not None else None


class InvalidParams(GatewayError):
    """The request's parameters cannot be served."""

    code = INVALID_PARAMS


class Unsupported(GatewayError):
    """The backend behind a name does not offer the method asked for."""

    code = METHOD_NOT_FOUND


class ClientUnreachable(GatewayError):
    """A backend sent its client a request that no client can take (none is waiting, or its
    connection cannot carry server requests)."""

    code = INVALID_REQUEST


class ClientRefused(GatewayError):
    """The client answered a backend's request with an error (its code is kept)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class ShuttingDown(GatewayError):
    """The gateway is stopping and takes no new work."""


class InternalError(GatewayError):
    """A fault inside the gateway itself: logged with its details, answered without them."""

    def __init__(self) -> None:
        super().__init__("Internal error")


class InvalidResult(GatewayError):
    """A backend's result that its protocol version's model refuses, answered as the SDK's server
    answers a handler's invalid result (the details are logged, not sent)."""

    def __init__(self) -> None:
        super().__init__("Handler returned an invalid result")


class RequestRejected(GatewayError):
    """The request is refused before any work (a limit or a policy)."""

    code = REQUEST_REJECTED

    def __init__(self, message: str, *, reason: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.retry_after = retry_after

    def data(self) -> dict[str, object] | None:
        detail: dict[str, object] = {"reason": self.reason}
        if self.retry_after is not None:
            detail["retry_after_seconds"] = round(self.retry_after, 3)
        return detail


def to_mcp_error(error: GatewayError) -> MCPError:
    """The one mapping from the gateway's errors to JSON-RPC errors."""
    from mcp.shared.exceptions import MCPError

    return MCPError(code=error.code, message=error.message, data=error.data())
