"""A workflow's dry run: its rounds, each step's resolved arguments and target, and whether the
caller may run it, as far as that is known before any step runs. Nothing is called."""

from __future__ import annotations

from typing import Any

from gateway.config.templates import TemplateError, render
from gateway.config.workflows import Workflow, dependencies, levels
from gateway.routing.directory import Directory
from gateway.routing.index import RouteIndex

HIDDEN = "(not available to this caller)"


def dry_run(
    workflow: Workflow, inputs: dict[str, Any], index: RouteIndex, directory: Directory
) -> dict[str, Any]:
    """What a run would do, as far as it is known before any step runs."""
    rounds = []
    for number, round_ in enumerate(levels(workflow), start=1):
        steps = []
        for name in round_:
            step = workflow.steps[name]
            entry: dict[str, Any] = {"step": name, "waits_for": dependencies(name, step)}
            target = _partial(step.call if step.call is not None else step.read, inputs)
            if step.call is not None:
                entry["call"] = target
                entry["arguments"] = _partial(dict(step.arguments), inputs)
                route = index.tools.get(str(target))
            else:
                entry["read"] = target
                found = directory.resolve_uri(str(target), index) if "{{" not in str(target) else None
                route = found[0] if found is not None else None
            known = "{{" not in str(target)
            entry["allowed"] = route is not None if known else "known when it runs"
            if known and route is None:
                # what the caller may not use stays unnamed (a hidden tool and a missing one alike)
                entry.pop("arguments", None)
                entry["call" if step.call is not None else "read"] = HIDDEN
            if route is not None:
                entry["backend"] = route.backend
                backend = directory.backends[route.backend]
                method = "tools/call" if step.call is not None else "resources/read"
                safe = backend.safe_to_retry(method, route.backend_id if step.call is not None else None)
                entry["retries"] = step.retries if safe else 0
            entry["on_error"] = step.on_error
            if step.timeout is not None:
                entry["timeout_s"] = step.timeout
            steps.append(entry)
        rounds.append({"round": number, "steps": steps})
    return {"dry_run": True, "inputs": inputs, "plan": rounds}


def _partial(value: Any, inputs: dict[str, Any]) -> Any:
    """`value` with input references filled in and step references left as written."""
    if isinstance(value, str):
        if "{{ steps." in value or "{{steps." in value:
            return value
        try:
            return render(value, {"inputs": inputs, "steps": {}})
        except TemplateError:
            return value
    if isinstance(value, dict):
        return {k: _partial(v, inputs) for k, v in value.items()}
    if isinstance(value, list):
        return [_partial(v, inputs) for v in value]
    return value
