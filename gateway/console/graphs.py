"""The workflows page's data: each workflow as a graph of steps grouped into rounds.

A step's edges are the steps it waits for (its references and its `needs`), and its round is
the one the engine runs it in (`gateway.config.workflows.levels`): the page draws the rounds as
columns and the edges between them. The dry run itself is the workflow's own `dry_run: true`,
called by the page through `/mcp` as the signed-in principal, so it shows what that caller may
run, exactly as a client would be told.
"""

from __future__ import annotations

from typing import Any

from gateway.config.workflows import Workflow, dependencies, input_schema, levels


def graph(name: str, workflow: Workflow) -> dict[str, Any]:
    """One workflow: its inputs, rounds and steps (with what each waits for)."""
    rounds = levels(workflow)
    round_of = {step: number for number, names in enumerate(rounds, start=1) for step in names}
    steps = []
    for step_name, step in workflow.steps.items():
        entry: dict[str, Any] = {
            "name": step_name,
            "round": round_of[step_name],
            "kind": "call" if step.call is not None else "read",
            "target": step.call if step.call is not None else step.read,
            "waits_for": dependencies(step_name, step),
            "on_error": step.on_error,
            "retries": step.retries,
        }
        if step.timeout is not None:
            entry["timeout_s"] = step.timeout
        steps.append(entry)
    return {
        "name": name,
        "description": workflow.description,
        "input_schema": input_schema(workflow),
        "timeout_s": workflow.timeout,
        "rounds": rounds,
        "steps": steps,
        "result": sorted(workflow.result) if isinstance(workflow.result, dict) else None,
    }
