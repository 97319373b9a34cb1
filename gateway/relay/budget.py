"""Context budget: how much of a model's context each client view's `tools/list` takes.

Every tool a client lists ends up in its model's context. The estimate is deliberately simple
and needs no tokenizer: the UTF-8 bytes of the list as compact JSON (what goes on the wire,
without whitespace), divided by 4 and rounded up, the usual rule of thumb of about 4 bytes per
token of English text. Real tokenizers differ (JSON punctuation tends to cost more tokens per
byte, long words fewer), so read the figure as a stable, comparable measure (the same list gives
the same number, on any machine, for any model) and leave margin in thresholds.

Above a threshold (`gateway.search_above_tokens`, or a view's own `search_above_tokens`), a
client gets `search_tools` and `call_tool` instead of the list (see `gateway.relay.toolsearch`). The
decision follows the list that client would get: its view, and the scopes it holds.
`gateway list --budget` reports each view (for a member holding every scope the view and
`tool_scopes` name, so the largest list a member can get) and the unrestricted list (local and
stdio clients, and principals that no view selects).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gateway.policies.active import ActivePolicies
from gateway.principal import Principal
from gateway.routing.index import RouteIndex, front_items

BYTES_PER_TOKEN = 4
LARGEST = 5
ESTIMATE = "tokens ≈ UTF-8 bytes of the tools/list as compact JSON / 4; an estimate, not a tokenizer count"
UNRESTRICTED = "(unrestricted)"
_CACHED = 256


def estimate_tokens(value: Any) -> int:
    """The token estimate of a JSON value: its compact UTF-8 JSON bytes / 4, rounded up."""
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str).encode())
    return -(-size // BYTES_PER_TOKEN)


@dataclass(frozen=True)
class Budget:
    """What one `tools/list` costs."""

    tools: int
    tokens: int
    largest: tuple[tuple[str, int], ...]
    """The largest tools by their own estimate, largest first."""


def measure(items: Sequence[Mapping[str, Any]]) -> Budget:
    """The estimate of a `tools/list` result holding `items`, and its largest tools."""
    sizes = sorted(((str(i.get("name", "")), estimate_tokens(i)) for i in items), key=lambda s: -s[1])
    return Budget(len(items), estimate_tokens({"tools": list(items)}), tuple(sizes[:LARGEST]))


class ContextBudget:
    """Which clients get search mode: thresholds per principal, and each index's measure."""

    def __init__(self, policies: ActivePolicies) -> None:
        self._policies = policies
        # Keyed by the index's id; the entry holds the index itself, so the id stays its own.
        self._measured: dict[int, tuple[RouteIndex, Budget]] = {}

    def threshold(self, principal: Principal) -> int | None:
        """The token threshold that applies to `principal` (None: always the full list)."""
        policies = self._policies.current
        view = policies.views.view_of(principal)
        if view is not None and view.config.search_above_tokens is not None:
            return view.config.search_above_tokens
        return policies.config.gateway.search_above_tokens

    def measure(self, index: RouteIndex) -> Budget:
        """The measure of the tools of `index` (computed once per index object)."""
        cached = self._measured.get(id(index))
        if cached is not None and cached[0] is index:
            return cached[1]
        budget = measure(front_items(index.tools))
        if len(self._measured) >= _CACHED:
            self._measured.clear()
        self._measured[id(index)] = (index, budget)
        return budget

    def searching(self, principal: Principal, index: RouteIndex) -> bool:
        """Whether `principal`, seeing `index`, gets search mode instead of the full list."""
        threshold = self.threshold(principal)
        return threshold is not None and self.measure(index).tokens > threshold
