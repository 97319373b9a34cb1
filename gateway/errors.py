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
    ├── NotFound                    no such tool/prompt/resource in the caller's view
    └── RequestRejected             the request itself is refused (limits, policy)

Foreign exceptions (httpx2, anyio, OSError, mcp's MCPError) are translated at the backend
boundary (`gateway.links`); everything above it sees only this tree. `to_mcp_error` is the one
mapping to JSON-RPC errors: messages are written for the caller and never carry internal
exception text, URLs with credentials, or tokens.
"""

from __future__ import annotations

import mcp_types
from mcp.shared.exceptions import MCPError

# JSON-RPC server-error range (-32000..-32099) codes owned by the gateway.
BACKEND_UNAVAILABLE = -32001
BACKEND_SESSION_LOST = -32002
BACKEND_TIMEOUT = -32003
BACKEND_PROTOCOL_ERROR = -32004
REQUEST_REJECTED = -32005


class GatewayError(Exception):
    """Base of every error the gateway raises on purpose."""

    code: int = mcp_types.INTERNAL_ERROR

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
    """The named component does not exist in the caller's view."""

    code = mcp_types.INVALID_PARAMS


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
    return MCPError(code=error.code, message=error.message, data=error.data())
