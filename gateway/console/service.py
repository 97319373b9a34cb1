"""`Console`: what each console page shows, for one visitor, read from the stages' public state.

The console is built by the composition root from the same narrow collaborators the stages get
(the `Directory` of backends and names, the `ActivePolicies`, the `Workflows`, the `Metrics`),
never from the `Gateway` itself, and reads them only: it changes nothing but the configuration,
and that only through the reloader `gateway run` already runs. Each method answers one page
(or one action) as JSON-ready data, already cut to what the visitor may see.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from gateway.config.model import UiConfig
from gateway.console.access import Visitor
from gateway.console.backends import backend_rows
from gateway.console.catalog import Catalog, known_principals, principal_named
from gateway.console.configuration import ConfigDesk, ReloadHook
from gateway.console.graphs import graph
from gateway.console.history import MetricsHistory
from gateway.observability.metrics import Metrics
from gateway.policies.active import ActivePolicies
from gateway.principal import Principal
from gateway.routing.directory import Directory
from gateway.workflows.engine import Workflows

RECENT_WINDOW = 60.0
"""The backends page's calls/s, error rate and percentiles cover the last minute."""
MAX_CALLS = 500
"""Audit records one answer carries at most."""
WORKFLOW_BACKEND = "gateway"
"""The backend label of workflow runs in the gateway's metrics."""


class Forbidden(Exception):
    """The visitor may not see this (it needs the `admin` scope)."""


class Console:
    """The console's pages, answered for a visitor."""

    def __init__(
        self,
        ui: UiConfig,
        *,
        directory: Directory,
        policies: ActivePolicies,
        workflows: Workflows,
        metrics: Metrics,
        config_path: Path | None,
        base_dir: Path,
        reloader: Callable[[], ReloadHook | None],
    ) -> None:
        self.ui = ui
        self._directory = directory
        self._policies = policies
        self._workflows = workflows
        self.history = MetricsHistory(metrics, interval=ui.sample_interval, keep=ui.history)
        self.catalog = Catalog(directory, policies, workflows)
        self.config = ConfigDesk(policies, path=config_path, base_dir=base_dir, reloader=reloader)

    def seen(self) -> None:
        """A console page asked for something: keep live calls recorded while it is open."""
        self._policies.recent.watch()

    def me(self, visitor: Visitor, *, auth: bool) -> dict[str, Any]:
        principal = visitor.principal
        config = self._policies.current.config
        return {
            "principal": principal.name,
            "kind": principal.kind,
            "scopes": sorted(principal.scopes),
            "admin": visitor.admin,
            "auth": auth,
            "gateway": config.gateway.name,
            "refresh_ms": round(self.ui.refresh * 1000),
            "audit_sink": config.audit.sink,
            "workflows": len(self.catalog.workflow_names(principal)),
        }

    def backends(self, visitor: Visitor) -> dict[str, Any]:
        reaches = None if visitor.admin else self.catalog.reaches(visitor.principal)
        rates = self.history.recent(RECENT_WINDOW)
        rows = backend_rows(self._directory.backends.values(), rates, reaches=reaches)
        return {"window_s": RECENT_WINDOW, "backends": rows}

    def principals(self, visitor: Visitor) -> dict[str, Any]:
        if not visitor.admin:
            principal = visitor.principal
            return {
                "principals": [{"name": principal.name, "scopes": sorted(principal.scopes), "note": "you"}]
            }
        return {"principals": known_principals(self._policies.current.config)}

    def catalog_for(self, visitor: Visitor, name: str | None, scopes: frozenset[str]) -> dict[str, Any]:
        principal = self._chosen(visitor, name, scopes)
        return self.catalog.of(principal)

    def calls(self, visitor: Visitor, after: int, limit: int = MAX_CALLS) -> dict[str, Any]:
        recent = self._policies.recent
        entries = recent.after(after)
        if not visitor.admin:
            name = visitor.principal.name
            entries = [e for e in entries if e[1].get("principal") == name]
        sink = self._policies.current.config.audit.sink
        return {
            "last": recent.last,
            "capacity": recent.capacity,
            "recording": "always (audit sink on)" if sink != "off" else "while the console is open",
            "calls": [{"seq": number, **record} for number, record in entries[-min(limit, MAX_CALLS) :]],
        }

    def charts(self, visitor: Visitor) -> dict[str, Any]:
        """Sampled figures of every backend the visitor may see (workflow runs as `gateway`)."""
        reaches = self.catalog.reaches(visitor.principal)
        names = [n for n in self._directory.backends if visitor.admin or n in reaches]
        if self._workflows.defined and (visitor.admin or self.catalog.workflow_names(visitor.principal)):
            names.append(WORKFLOW_BACKEND)
        return self.history.series(names)

    def workflow_graphs(self, visitor: Visitor) -> dict[str, Any]:
        names = set(self.catalog.workflow_names(visitor.principal))
        defined = self._workflows.defined
        return {"workflows": [graph(n, w) for n, w in defined.items() if n in names]}

    def _chosen(self, visitor: Visitor, name: str | None, scopes: frozenset[str]) -> Principal:
        own = visitor.principal
        if name is None or name == own.name:
            return own
        if not visitor.admin:
            raise Forbidden("looking as another principal needs the admin scope")
        return principal_named(self._policies.current.config, name, scopes)
