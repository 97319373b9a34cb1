"""One request on its way to a backend, through the gateway's policies.

    size limits → rate limits → (era translation) → backend session → answer size → audit

An answer over `limits.max_response_bytes` is refused, cut, or (a tool result, in
`resource_link` mode) kept for its caller and answered with a link (`gateway.policies.offload`).

`Dispatch.forward` is the one path every routed request takes: tools, prompts, resources and
completions. Calls (`tools/call`, `prompts/get`, `resources/read`) count against rate limits;
each `tools/call` leaves one audit record, whatever its outcome.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import anyio
import mcp_types
from mcp.shared.dispatcher import ProgressFnT
from mcp.shared.exceptions import MCPError

from gateway import requestid
from gateway.caller import Caller, FrontCaller
from gateway.errors import GatewayError, RequestRejected, to_mcp_error
from gateway.policies.audit import args_digest
from gateway.policies.offload import offload
from gateway.policies.size import check_request, fit_response
from gateway.resilience.phases import counts_as_failure
from gateway.resilience.retry import run_attempts
from gateway.results import namespace_uris, strip_hop_meta
from gateway.routes import Route, TemplateRoute
from gateway.tracing import carry, forward_span
from gateway.translate import Parking, drive, is_input_required

if TYPE_CHECKING:
    from gateway.app import Gateway
    from gateway.backend import Backend

CALL_METHODS = frozenset({"tools/call", "prompts/get", "resources/read"})
_SETTLE_LIMIT = 5.0  # seconds a result waits for progress relays still being written


class Dispatch:
    """Sends routed requests to backends under the gateway's policies."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.parking = Parking(gateway.task_host)

    async def forward(
        self,
        caller: FrontCaller,
        route: Route,
        method: str,
        params: dict[str, Any],
        *,
        front: str,
        raw: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """Forward one request; raises `MCPError` (the gateway's own errors mapped once).

        Every request is counted in flight, measured, traced and (calls) audited, whatever
        becomes of it."""
        gateway = self.gateway
        backend = gateway.backends[route.backend]
        rid = requestid.ensure()
        started = time.perf_counter()
        outcome, reason = "ok", None
        gateway.in_flight += 1
        backend.stats["requests"] += 1
        attributes = {
            "mcp.method": method,
            "gateway.backend": backend.name,
            "gateway.principal": caller.principal.name,
            "gateway.request_id": rid,
        }
        try:
            with forward_span(method, front, attributes):
                result = await self._pipeline(caller, route, backend, method, params, front, raw)
            if result.get("isError"):
                outcome = "tool_error"
            return result
        except RequestRejected as error:
            outcome = "rate_limited" if error.reason == "rate_limited" else "rejected"
            reason = error.message
            raise to_mcp_error(error) from None
        except GatewayError as error:
            outcome, reason = "error", error.message
            backend.stats["errors"] += 1
            raise to_mcp_error(error) from None
        except MCPError as error:
            outcome, reason = "error", error.error.message
            raise
        finally:
            gateway.in_flight -= 1
            if gateway.draining and gateway.in_flight == 0:
                gateway.drained.set()
            elapsed = time.perf_counter() - started
            # a read through a template is labelled by the template: one series, not one per URI
            label = route.item.get("uriTemplate", front) if isinstance(route, TemplateRoute) else front
            gateway.metrics.record(backend.name, method, str(label), outcome, elapsed)
            if method == "tools/call" and gateway.audit.enabled:
                gateway.audit.write(
                    request_id=rid,
                    principal=caller.principal.name,
                    kind=caller.principal.kind,
                    method=method,
                    tool=front,
                    backend=backend.name,
                    backend_tool=route.backend_id,
                    args_sha256=args_digest((raw or {}).get("arguments")),
                    outcome=outcome,
                    error=reason,
                    latency_ms=round(elapsed * 1000, 3),
                    attempts=1,
                )

    async def _pipeline(
        self,
        caller: FrontCaller,
        route: Route,
        backend: Backend,
        method: str,
        params: dict[str, Any],
        front: str,
        raw: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """Size and rate limits, the request itself, then the answer fitted to the size limits."""
        limits = self.gateway.config.limits
        if method in CALL_METHODS:
            check_request(raw, limits)
            if self.gateway.limiter.active:
                await self.gateway.limiter.check(caller.principal.name, front, backend.name)
        result = await self._send(caller, backend, method, params, raw)
        if method == "tools/call":  # in `resource_link` mode, too large a result is kept and linked
            result = offload(
                result,
                limits,
                self.gateway.results,
                principal=caller.principal,
                tool=front,
                output_schema="outputSchema" in route.item,
            )
        return fit_response(method, result, limits, backend=backend.name)

    async def _send(
        self,
        caller: FrontCaller,
        backend: Backend,
        method: str,
        params: dict[str, Any],
        raw: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        if caller.modern and self.parking.owns(raw):
            return await self.parking.resume(caller, raw or {})
        if caller.modern and not backend.speaks_modern:
            # A handshake-era backend may push a request mid-call, which a 2026 client cannot
            # receive: run the call where it can be parked until the client answers.
            return await self.parking.start(
                caller, lambda parked: self._call(backend, parked, method, params, parked.progress)
            )
        on_progress = caller.progress if caller.progress_token is not None else None
        return await self._call(backend, caller, method, params, on_progress)

    async def _call(
        self,
        backend: Backend,
        caller: Caller,
        method: str,
        params: dict[str, Any],
        on_progress: ProgressFnT | None,
    ) -> dict[str, Any]:
        """One request under the backend's policies: concurrency cap, breaker, deadline, retries."""
        tool = params.get("name") if method == "tools/call" else None
        plan = backend.plan(method, tool if isinstance(tool, str) else None)
        relayed = _Relayed(on_progress)
        async with backend.gate.slot():
            result = await run_attempts(
                lambda timeout: self._attempt(backend, caller, method, params, relayed, timeout),
                plan,
                backend.gate,
                answered=lambda: relayed.any or getattr(caller, "relayed", False),
                on_retry=backend.count_retry,
            )
        await relayed.settled()
        return namespace_uris(strip_hop_meta(result), backend.namespace)

    async def _attempt(
        self,
        backend: Backend,
        caller: Caller,
        method: str,
        params: dict[str, Any],
        relayed: _Relayed,
        timeout: float,
    ) -> dict[str, Any]:
        backend.breaker.admit()
        headers = _identity(backend, caller)
        carry(params)
        try:
            async with backend.lease(caller) as session:
                log_level = getattr(caller, "log_level", "")
                if session.modern and log_level:
                    # A 2026-07-28 backend logs only when a request opts in; speak for the client.
                    params.setdefault("_meta", {}).setdefault(mcp_types.LOG_LEVEL_META_KEY, log_level)
                result = await session.request(
                    method, params, timeout=timeout, on_progress=relayed.progress, headers=headers
                )
                if is_input_required(result) and not caller.modern:
                    result = await drive(caller, session, method, params, result, timeout=timeout)
        except GatewayError as error:
            if counts_as_failure(error):
                backend.breaker.failure()
            raise
        except BaseException:
            backend.breaker.release_probe()
            raise
        backend.breaker.success()
        backend.record_success()
        return result


class _Relayed:
    """Relays progress to the client and remembers that something of the answer reached it.

    The SDK runs each progress callback in a task of its own, so a backend's answer can
    overtake the progress that preceded it on the wire. `settled()` waits for relays already
    under way, so the client sees progress before the result, as the backend sent it.
    """

    def __init__(self, relay: ProgressFnT | None) -> None:
        self._relay = relay
        self.any = False
        self._busy = 0
        self._idle: anyio.Event | None = None
        self.progress: ProgressFnT | None = self._progress if relay is not None else None

    async def _progress(self, progress: float, total: float | None, message: str | None) -> None:
        self.any = True
        assert self._relay is not None
        self._busy += 1
        try:
            await self._relay(progress, total, message)
        finally:
            self._busy -= 1
            if self._busy == 0 and self._idle is not None:
                self._idle.set()

    async def settled(self) -> None:
        """Return once every progress relay that has started has been delivered."""
        if self._busy:
            self._idle = anyio.Event()
            with anyio.move_on_after(_SETTLE_LIMIT):
                await self._idle.wait()


def _identity(backend: Backend, caller: Caller) -> dict[str, str]:
    """The request id, and the caller's name as a plain header when the backend's config asks."""
    headers = {requestid.HEADER: requestid.ensure()}
    forward = backend.config.forward_identity
    if forward is not None:
        headers[forward.header] = caller.principal.name
    return headers
