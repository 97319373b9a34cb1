"""`gateway list --budget`: how many tokens of a model's context each view's `tools/list` takes,
and which views get search mode instead (see `gateway.relay.budget` for the estimate)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gateway.app import Gateway
from gateway.policies.views import View
from gateway.principal import Principal
from gateway.relay.budget import ESTIMATE, LARGEST, UNRESTRICTED, Budget, measure
from gateway.routing.index import front_items


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
