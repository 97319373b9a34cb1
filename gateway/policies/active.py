"""`Policies`: the per-request rules of one configuration, swapped whole on reload.

A request reads `ActivePolicies.current` once and keeps that bundle to the end, so a reload
never applies half of one configuration and half of another to the same request. What must
outlive a reload is carried over: kept results (the store adopts the new bounds), the audit
sink when it did not change, and the recent audit records the console shows (`recent`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateway.config import GatewayConfig
from gateway.policies.audit import AuditLog
from gateway.policies.ratelimit import BucketStore, RateLimiter
from gateway.policies.recent import RecentCalls
from gateway.policies.result_store import ResultStore
from gateway.policies.views import Views


@dataclass(frozen=True)
class Policies:
    """Everything a request is checked against."""

    config: GatewayConfig
    views: Views
    limiter: RateLimiter
    audit: AuditLog
    results: ResultStore
    """Oversized tool results kept for their callers (`oversized_response: resource_link`)."""


class ActivePolicies:
    """The policies in force."""

    def __init__(self, config: GatewayConfig, *, base_dir: Path, buckets: BucketStore | None = None) -> None:
        self._base_dir = base_dir
        self._buckets = buckets
        self.recent = RecentCalls(config.ui.recent_calls)
        """The latest audit records, for the console (kept across reloads and sink changes)."""
        results = ResultStore(config.limits.result_store)
        audit = AuditLog(config.audit.sink, base_dir=base_dir, recent=self.recent)
        self.current = self._build(config, audit, results)

    def _build(self, config: GatewayConfig, audit: AuditLog, results: ResultStore) -> Policies:
        limiter = RateLimiter(
            config.rate_limits,
            backends={name: b.rate_limit for name, b in config.backends.items()},
            store=self._buckets,
        )
        unviewed = config.auth.unviewed if config.auth is not None else "all"
        views = Views(config.views, tool_scopes=config.tool_scopes, unviewed=unviewed)
        return Policies(config, views, limiter, audit, results)

    def adopt(self, config: GatewayConfig) -> None:
        """Put the policies of `config` in force (at a reload)."""
        previous = self.current
        previous.results.configure(config.limits.result_store)
        audit = previous.audit
        if audit.sink != config.audit.sink:
            audit = AuditLog(config.audit.sink, base_dir=self._base_dir, recent=self.recent)
            previous.audit.close()
        self.current = self._build(config, audit, previous.results)
