"""How a backend session failed, said safely: which failures mean the transport could not be
used, and short descriptions of failures without URLs or secrets."""

from __future__ import annotations

import anyio
import httpx2
from mcp.shared.exceptions import MCPError

from gateway.errors import BackendError

# Failures that mean "the transport could not be used": nothing reached the backend, or the
# session is gone (`gateway.upstream.session` maps them to the gateway's errors, nowhere else).
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    httpx2.TransportError,
    httpx2.HTTPStatusError,
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    anyio.EndOfStream,
)


def describe_failure(error: BaseException) -> str:
    """A short, safe description of why a session could not be used (no URLs, no secrets)."""
    if isinstance(error, BaseExceptionGroup):
        inner = error.exceptions[0] if error.exceptions else error
        return describe_failure(inner)
    if isinstance(error, MCPError):
        return f"handshake refused: {error.error.message}"
    if isinstance(error, httpx2.ConnectError | ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, httpx2.TimeoutException):
        return "timed out"
    if isinstance(error, httpx2.HTTPStatusError):
        return f"HTTP {error.response.status_code}"
    if isinstance(error, FileNotFoundError):
        return "command not found"
    if isinstance(error, OSError):
        return f"OS error ({error.strerror or type(error).__name__})"
    if isinstance(error, anyio.EndOfStream | anyio.ClosedResourceError | anyio.BrokenResourceError):
        return "connection closed"
    return type(error).__name__


def message_of(error: BaseException) -> str:
    """What to say of a failed backend request (the gateway's own message, or the backend's error)."""
    if isinstance(error, BackendError):
        return error.message
    if isinstance(error, MCPError):
        return f"backend error {error.error.code}: {error.error.message}"
    return type(error).__name__


def sdk_says(error: MCPError, code: int, message: str) -> bool:
    """Whether an error is the SDK client's own (the connection closed, no answer in time) rather
    than a backend's answer with the same code: the SDK raises these with its own words and no
    data, while a backend may use any code in its errors (-32000 is a common "server error")."""
    return error.error.code == code and error.error.message == message and error.error.data is None
