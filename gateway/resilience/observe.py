"""What happened on the wire to one HTTP request, for classifying its failure.

The MCP SDK turns HTTP failures into JSON-RPC errors and loses what the gateway needs to know:
whether the request was sent at all, and what a 429/503 said about when to come back. The
backend's HTTP client therefore runs over an `ObservingTransport`, which notes, per attempt,
what happened (keyed by an `x-gateway-attempt` header that it removes before sending):

- connect failures (refused, connect timeout, no pooled connection free): nothing was sent;
- 429 / 503: the backend refused, with its `Retry-After` in seconds if any;
- 404 on a request in a session: the backend forgot the session (it restarted); nothing ran;
- 502 / 504, or a connection broken mid-exchange: it may have run.
"""

from __future__ import annotations

import datetime as dt
from collections import OrderedDict
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx2

from gateway.resilience.phases import Phase

ATTEMPT_HEADER = "x-gateway-attempt"
MAX_REMEMBERED = 4096


@dataclass(frozen=True)
class Observation:
    phase: Phase
    status: int | None = None
    retry_after: float | None = None
    detail: str = ""


class ObservingTransport(httpx2.AsyncBaseTransport):
    """Wraps the real transport; remembers the last observation per attempt id."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self._inner = inner
        self._seen: OrderedDict[str, Observation] = OrderedDict()

    def take(self, attempt: str) -> Observation | None:
        """What happened to an attempt (forgotten once read)."""
        return self._seen.pop(attempt, None)

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        attempt = request.headers.pop(ATTEMPT_HEADER, None)
        try:
            response = await self._inner.handle_async_request(request)
        except (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout) as error:
            self._note(attempt, Observation(Phase.NOT_SENT, detail=type(error).__name__))
            raise
        except httpx2.TransportError as error:
            self._note(attempt, Observation(Phase.MAYBE_RAN, detail=type(error).__name__))
            raise
        status = response.status_code
        if status == 404 and "mcp-session-id" in request.headers:
            # The backend no longer knows this session (it restarted): the request did not run.
            self._note(attempt, Observation(Phase.NOT_SENT, status, detail="session unknown to the backend"))
        elif status in (429, 503):
            retry_after = retry_after_seconds(response.headers.get("retry-after"))
            self._note(attempt, Observation(Phase.REFUSED, status, retry_after, f"HTTP {status}"))
        elif status in (502, 504):
            self._note(attempt, Observation(Phase.MAYBE_RAN, status, detail=f"HTTP {status}"))
        return response

    def _note(self, attempt: str | None, observation: Observation) -> None:
        if attempt is None:
            return
        self._seen[attempt] = observation
        while len(self._seen) > MAX_REMEMBERED:
            self._seen.popitem(last=False)

    async def aclose(self) -> None:
        await self._inner.aclose()


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
