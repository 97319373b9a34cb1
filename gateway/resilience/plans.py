"""What one request to a backend is allowed: its per-try timeout and deadline, and whether it may
be tried again after it may have run (RELIABILITY.md §4).

A request without side effects may always be retried; a `tools/call` only when the operator says
the tool is safe to run twice (`idempotent_tools`), or the backend's own `readOnlyHint` /
`idempotentHint` says so and the operator trusts it (`trust_annotations`). A tool's own timeout
(`tool_timeouts`) is its per-try timeout, still within the backend's deadline.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping, Sequence
from typing import Any

from gateway.config import BackendConfig
from gateway.methods import SIDE_EFFECT_FREE
from gateway.resilience.retry import Plan


def plan_for(
    config: BackendConfig, method: str, tool: str | None, tools: Sequence[Mapping[str, Any]]
) -> Plan:
    """The plan of one request (`tool`: the backend's own name of a called tool)."""
    per_try, deadline = config.request_timeout, config.overall_deadline
    if tool is not None and method == "tools/call":
        for pattern, timeout in config.tool_timeouts.items():
            if fnmatch.fnmatchcase(tool, pattern):
                per_try = timeout
                break
    safe = safe_to_retry(config, method, tool, tools)
    return Plan(config.retry, safe, min(per_try, deadline), deadline)


def safe_to_retry(
    config: BackendConfig, method: str, tool: str | None, tools: Sequence[Mapping[str, Any]]
) -> bool:
    """Whether a request may be tried again after it may have run (`tools`: the backend's listing)."""
    if method in SIDE_EFFECT_FREE:
        return True
    if method != "tools/call" or tool is None:
        return False
    if any(fnmatch.fnmatchcase(tool, p) for p in config.idempotent_tools):
        return True
    if config.trust_annotations:
        for item in tools:
            if item.get("name") == tool:
                hints = item.get("annotations") or {}
                return bool(hints.get("readOnlyHint") or hints.get("idempotentHint"))
    return False


MAX_PLANS = 4096
"""Request plans kept per backend (one per method and tool)."""


class PlanBook:
    """`plan_for`, worked out once per method and tool for the config and listing in force (a
    new config or listing object starts the book afresh)."""

    def __init__(self, max_plans: int = MAX_PLANS) -> None:
        self._max = max_plans
        self._plans: dict[tuple[str, str | None], Plan] = {}
        self._basis: tuple[object, object] | None = None

    def plan(
        self,
        config: BackendConfig,
        listing: object,
        tools: Sequence[Mapping[str, Any]],
        method: str,
        tool: str | None,
    ) -> Plan:
        """The plan of one request; `tools` is `listing`'s tools."""
        basis = self._basis
        if basis is None or basis[0] is not config or basis[1] is not listing:
            self._plans, self._basis = {}, (config, listing)
        plan = self._plans.get((method, tool))
        if plan is None:
            plan = plan_for(config, method, tool, tools)
            if len(self._plans) < self._max:
                self._plans[(method, tool)] = plan
        return plan
