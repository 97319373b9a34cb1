"""Context budget: how much of a model's context each client view's `tools/list` takes.

Every tool a client lists ends up in its model's context. The estimate is deliberately simple
and needs no tokenizer: the UTF-8 bytes of the list as compact JSON (what goes on the wire,
without whitespace), divided by 4 and rounded up, the usual rule of thumb of about 4 bytes per
token of English text. Real tokenizers differ (JSON punctuation tends to cost more tokens per
byte, long words fewer), so read the figure as a stable, comparable measure (the same list gives
the same number, on any machine, for any model) and leave margin in thresholds.

Above a threshold (`gateway.search_above_tokens`, or a view's own `search_above_tokens`), a
client gets `search_tools` and `call_tool` instead of the list (see `gateway.toolsearch`). The
decision follows the list that client would get: its view, and the scopes it holds.
`gateway list --budget` reports each view (for a member holding every scope the view and
`tool_scopes` name, so the largest list a member can get) and the unrestricted list (local and
stdio clients, and principals that no view selects).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway.principal import Principal
from gateway.routes import RouteIndex, front_items
from gateway.views import View

if TYPE_CHECKING:
    from gateway.app import Gateway

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

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway
        # Keyed by the index's id; the entry holds the index itself, so the id stays its own.
        self._measured: dict[int, tuple[RouteIndex, Budget]] = {}

    def threshold(self, principal: Principal) -> int | None:
        """The token threshold that applies to `principal` (None: always the full list)."""
        view = self._gateway.views.view_of(principal)
        if view is not None and view.config.search_above_tokens is not None:
            return view.config.search_above_tokens
        return self._gateway.config.gateway.search_above_tokens

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


@dataclass(frozen=True)
class ViewBudget:
    """One row of `gateway list --budget`."""

    view: str
    budget: Budget
    threshold: int | None

    @property
    def searching(self) -> bool:
        return self.threshold is not None and self.budget.tokens > self.threshold

    def as_dict(self) -> dict[str, Any]:
        return {
            "view": self.view,
            "tools": self.budget.tools,
            "tokens": self.budget.tokens,
            "search_above_tokens": self.threshold,
            "mode": "search" if self.searching else "list",
            "largest": [{"name": n, "tokens": t} for n, t in self.budget.largest],
        }


def view_budgets(gateway: Gateway) -> list[ViewBudget]:
    """The unrestricted list, then every configured view, as the current index has them."""
    config = gateway.config
    index = gateway.index
    default = config.gateway.search_above_tokens
    rows = [ViewBudget(UNRESTRICTED, measure(front_items(index.tools)), default)]
    namespaces = {name: b.namespace for name, b in gateway.backends.items()}
    for name, view_config in config.views.items():
        view = View(name, view_config, tool_scopes=config.tool_scopes)
        needed = [*config.tool_scopes.values(), *view_config.require_scopes.values()]
        member = Principal(f"view:{name}", "api_key", frozenset(s for scopes in needed for s in scopes))
        items = [
            dict(route.item)
            for front, route in index.tools.items()
            if view.allows(member, "tool", front, namespaces[route.backend], route.item)
        ]
        threshold = view_config.search_above_tokens
        rows.append(ViewBudget(name, measure(items), default if threshold is None else threshold))
    return rows


async def budget_report(gateway: Gateway, as_json: bool) -> str:
    """`gateway list --budget`: each view's tools/list estimate, mode and largest tools."""
    from fastmcp import Client  # loaded by the commands that use it

    async with Client(gateway.server):
        await gateway.ensure_catalogs()
        rows = view_budgets(gateway)
        down = [
            f"! backend {n} unavailable: {b.last_error}"
            for n, b in gateway.backends.items()
            if b.state != "ready"
        ]
    if as_json:
        return json.dumps({"estimate": ESTIMATE, "views": [r.as_dict() for r in rows]}, indent=2)
    width = max(len("view"), *(len(r.view) for r in rows))
    lines = [
        f"context budget per view: {ESTIMATE}",
        f"  {'view'.ljust(width)}  tools  ~tokens  search above  tools/list",
    ]
    for row in rows:
        above = str(row.threshold) if row.threshold is not None else "-"
        mode = "search_tools + call_tool" if row.searching else "every tool"
        lines.append(
            f"  {row.view.ljust(width)}  {row.budget.tools:>5}  {row.budget.tokens:>7}  {above:>12}  {mode}"
        )
    lines.append(f"largest tools (top {LARGEST}, ~tokens):")
    for row in rows:
        largest = ", ".join(f"{n} ~{t}" for n, t in row.budget.largest)
        lines.append(f"  {row.view}: {largest or '-'}")
    return "\n".join(lines + down)
