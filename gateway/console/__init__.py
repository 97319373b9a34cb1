"""The operator console at `/ui`: the gateway's own pages for the people who run it.

    backends    every backend live: state, health, circuit, era, link, sessions, calls in flight,
                calls/s, error rate, p50/p99
    catalog     tools, prompts, resources and templates as a principal's view sees them, the
                backend and original name behind each, the view's token budget, lockfile drift
    playground  any tool, prompt or resource, run as the signed-in principal through `/mcp`
    calls       the audit records as they happen
    charts      calls/s, latency percentiles and errors per backend over the last minutes
    workflows   each workflow's steps and rounds as a graph, and its dry run
    config      the effective configuration (secrets masked), check and reload

The pages are one static bundle of plain ES modules and CSS (`static/`, no build step, nothing
from a CDN) over a small JSON API (`routes`). The console reads the stages through the
collaborators the composition root hands it (`service.Console`) and adds nothing to a proxied
call: figures come from metrics sampled on a timer (`history`), live calls from the audit
log's in-memory ring (`gateway.policies.recent`). Who may see what: `access`.
"""

from gateway.console.access import ConsoleAccess
from gateway.console.configuration import ReloadHook
from gateway.console.routes import install_console
from gateway.console.service import Console

__all__ = ["Console", "ConsoleAccess", "ReloadHook", "install_console"]
