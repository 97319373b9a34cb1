"""One request on its way to a backend, through the gateway's policies.

    size limits → rate limits → (era translation) → attempts under one deadline → answer size

`Dispatch.forward` is the one path every routed request takes: tools, prompts, resources and
completions, from clients and from workflow steps. Calls (`tools/call`, `prompts/get`,
`resources/read`) count against rate limits and size limits. Every request is counted in flight
(the drain), measured (metrics), traced (a CLIENT span whose context travels in `_meta`), and
every `tools/call` leaves one audit record, whatever its outcome, with the attempts it took.
An answer over `limits.max_response_bytes` is refused, cut, or (a tool result, in
`resource_link` mode) kept for its caller and answered with a link (`gateway.policies.offload`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import mcp_types
from mcp.shared.dispatcher import ProgressFnT
from mcp.shared.exceptions import MCPError

from gateway.dispatch.drain import Drain
from gateway.dispatch.progress import ProgressRelay
from gateway.dispatch.requester import Requester
from gateway.dispatch.rewrite import namespace_uris, strip_hop_meta
from gateway.dispatch.translate import Parking, drive, is_input_required
from gateway.errors import GatewayError, RequestRejected, to_mcp_error
from gateway.methods import CALLS
from gateway.observability import requestid
from gateway.observability.metrics import Metrics
from gateway.observability.tracing import carry, forward_span
from gateway.policies.active import ActivePolicies, Policies
from gateway.policies.audit import args_digest
from gateway.policies.offload import offload
from gateway.policies.size import check_request, fit_response
from gateway.resilience.phases import counts_as_failure
from gateway.resilience.retry import run_attempts
from gateway.routing.directory import Directory
from gateway.routing.index import Route, TemplateRoute
from gateway.tasks import TaskHost
from gateway.upstream.backend import Backend
from gateway.upstream.caller import Caller

AUDITED = CALLS | {"completion/complete"}
"""What leaves an audit record: every call, and completions (they reach a backend too)."""
LIMITED = AUDITED
"""What draws from the rate-limit buckets."""


class _Hop:
    """What one forward learns on its way: how many attempts it took."""

    def __init__(self) -> None:
        self.attempts = 0


class Dispatch:
    """Sends routed requests to backends under the gateway's policies."""

    def __init__(
        self,
        directory: Directory,
        policies: ActivePolicies,
        *,
        drain: Drain,
        metrics: Metrics,
        tasks: Callable[[], TaskHost | None],
    ) -> None:
        self._directory = directory
        self._policies = policies
        self._drain = drain
        self.metrics = metrics
        """Where requests are counted and timed."""
        self.parking = Parking(tasks)

    async def forward(
        self,
        caller: Requester,
        route: Route,
        method: str,
        params: dict[str, Any],
        *,
        front: str,
        raw: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """Forward one request; raises `MCPError` (the gateway's own errors mapped once)."""
        policies = self._policies.current
        backend = self._directory.backends[route.backend]
        rid = requestid.ensure()
        started = time.perf_counter()
        outcome, reason = "ok", None
        hop = _Hop()
        self._drain.enter()
        backend.stats["requests"] += 1
        attributes = {
            "mcp.method": method,
            "gateway.backend": backend.name,
            "gateway.principal": caller.principal.name,
            "gateway.request_id": rid,
        }
        try:
            with forward_span(method, front, attributes):
                result = await self._pipeline(
                    caller, route, backend, policies, method, params, front, raw, hop
                )
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
            self._drain.leave()
            elapsed = time.perf_counter() - started
            # a read through a template is labelled by the template: one series, not one per URI
            label = route.item.get("uriTemplate", front) if isinstance(route, TemplateRoute) else front
            self.metrics.record(backend.name, method, str(label), outcome, elapsed)
            if method in AUDITED:
                self._audit(
                    policies, caller, method, front, raw, rid, elapsed, outcome, reason, route, hop.attempts
                )

    def refused(self, caller: Caller, method: str, front: str, raw: Mapping[str, Any] | None) -> None:
        """Record a call of a name the caller cannot use (outside its view, or none such)."""
        if method in AUDITED:
            policies = self._policies.current
            self._audit(policies, caller, method, front, raw, requestid.ensure(), 0.0, "denied", None)

    def _audit(
        self,
        policies: Policies,
        caller: Caller,
        method: str,
        front: str,
        raw: Mapping[str, Any] | None,
        rid: str,
        elapsed: float,
        outcome: str,
        reason: str | None,
        route: Route | None = None,
        attempts: int = 0,
    ) -> None:
        audit = policies.audit
        if not audit.enabled:
            return
        audit.write(
            request_id=rid,
            principal=caller.principal.name,
            kind=caller.principal.kind,
            method=method,
            tool=front,
            backend=route.backend if route is not None else None,
            backend_tool=route.backend_id if route is not None else None,
            args_sha256=args_digest((raw or {}).get("arguments")),
            outcome=outcome,
            error=reason,
            latency_ms=round(elapsed * 1000, 3),
            attempts=attempts,
        )

    async def _pipeline(
        self,
        caller: Requester,
        route: Route,
        backend: Backend,
        policies: Policies,
        method: str,
        params: dict[str, Any],
        front: str,
        raw: Mapping[str, Any] | None,
        hop: _Hop,
    ) -> dict[str, Any]:
        """Size and rate limits, the request itself, then the answer fitted to the size limits."""
        limits = policies.config.limits
        check_request(raw, limits)  # arguments and `_meta`, whatever the method
        if method in LIMITED and policies.limiter.active:
            # a read through a template is limited by its template: `json/3` and `json/03` alike
            name = route.item.get("uriTemplate", front) if isinstance(route, TemplateRoute) else front
            await policies.limiter.check(caller.principal.name, str(name), backend.name)
        result = await self._send(caller, backend, method, params, raw, hop)
        if method == "tools/call":  # in `resource_link` mode, too large a result is kept and linked
            result = offload(
                result,
                limits,
                policies.results,
                principal=caller.principal,
                tool=front,
                output_schema="outputSchema" in route.item,
            )
        return fit_response(method, result, limits, backend=backend.name)

    async def _send(
        self,
        caller: Requester,
        backend: Backend,
        method: str,
        params: dict[str, Any],
        raw: Mapping[str, Any] | None,
        hop: _Hop,
    ) -> dict[str, Any]:
        if caller.modern and self.parking.owns(raw):
            return await self.parking.resume(caller, raw or {})
        if caller.modern and backend.era_for(caller) == "legacy":
            # A handshake-era backend may push a request mid-call, which a 2026 client cannot
            # receive: run the call where it can be parked until the client answers.
            return await self.parking.start(
                caller, lambda parked: self._call(backend, parked, method, params, parked.progress, hop)
            )
        on_progress = caller.progress if caller.progress_token is not None else None
        return await self._call(backend, caller, method, params, on_progress, hop)

    async def _call(
        self,
        backend: Backend,
        caller: Requester,
        method: str,
        params: dict[str, Any],
        on_progress: ProgressFnT | None,
        hop: _Hop,
    ) -> dict[str, Any]:
        """One request under the backend's policies: concurrency cap, breaker, deadline, retries."""
        tool = params.get("name") if method == "tools/call" else None
        plan = backend.plan(method, tool if isinstance(tool, str) else None)
        relay = ProgressRelay(on_progress)

        def attempt(timeout: float) -> Any:
            hop.attempts += 1
            return self._attempt(backend, caller, method, params, relay, timeout)

        async with backend.gate.slot():
            result = await run_attempts(
                attempt,
                plan,
                backend.gate,
                answered=lambda: relay.any or caller.relayed,
                on_retry=backend.count_retry,
            )
        await relay.settled()
        return namespace_uris(strip_hop_meta(result), backend.namespace)

    async def _attempt(
        self,
        backend: Backend,
        caller: Requester,
        method: str,
        params: dict[str, Any],
        relay: ProgressRelay,
        timeout: float,
    ) -> dict[str, Any]:
        backend.breaker.admit()
        headers = _identity(backend, caller)
        carry(params)
        try:
            async with backend.lease(caller) as session:
                if session.modern and caller.log_level:
                    # A 2026-07-28 backend logs only when a request opts in; speak for the client.
                    meta = params.setdefault("_meta", {})
                    meta.setdefault(mcp_types.LOG_LEVEL_META_KEY, caller.log_level)
                result = await session.request(
                    method, params, timeout=timeout, on_progress=relay.progress, headers=headers
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


def _identity(backend: Backend, caller: Caller) -> dict[str, str]:
    """The request id, and the caller's name as a plain header when the backend's config asks."""
    headers = {requestid.HEADER: requestid.ensure()}
    forward = backend.config.forward_identity
    if forward is not None:
        headers[forward.header] = caller.principal.name
    return headers
