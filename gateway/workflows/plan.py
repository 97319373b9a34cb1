"""The shape of a workflow run: which step waits for which, in what order they can run, and
the caller's arguments checked against the declared inputs."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gateway.errors import GatewayError
from gateway.workflows.template import TemplateError, references

if TYPE_CHECKING:
    from gateway.config.workflows import Workflow, WorkflowInput, WorkflowStep

JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}


class ArgumentError(GatewayError):
    """The caller's arguments do not fit the workflow's inputs (names the argument)."""


def dependencies(name: str, step: WorkflowStep) -> list[str]:
    """The steps `step` waits for: those its references name, and its `needs`."""
    found = list(step.needs)
    for value in (step.call, step.read, dict(step.arguments)):
        for root, ref, _ in references(value):
            if root == "steps" and ref not in found:
                found.append(ref)
    return found


def levels(workflow: Workflow) -> list[list[str]]:
    """Steps grouped into rounds: each round needs only earlier rounds (declaration order kept)."""
    waiting = {name: set(dependencies(name, step)) for name, step in workflow.steps.items()}
    done: set[str] = set()
    rounds: list[list[str]] = []
    while waiting:
        ready = [name for name, needs in waiting.items() if needs <= done]
        if not ready:
            cycle = ", ".join(sorted(waiting))
            raise ValueError(f"steps wait for each other in a cycle: {cycle}")
        rounds.append(ready)
        done.update(ready)
        for name in ready:
            del waiting[name]
    return rounds


def check_workflow(workflow: Workflow) -> None:
    """Raise `ValueError` naming the step and the reference for anything that cannot run."""
    for name, step in workflow.steps.items():
        where = f"steps.{name}"
        for ref in step.needs:
            if ref not in workflow.steps or ref == name:
                raise ValueError(f"{where}.needs: no other step named {ref!r}")
        for field, value in (("call", step.call), ("read", step.read), ("arguments", dict(step.arguments))):
            try:
                found = list(references(value))
            except TemplateError as error:
                raise ValueError(f"{where}.{field}: {error.message}") from None
            for root, ref, _ in found:
                if root == "inputs" and ref not in workflow.inputs:
                    raise ValueError(f"{where}.{field}: no input named {ref!r}")
                if root == "steps" and (ref not in workflow.steps or ref == name):
                    raise ValueError(f"{where}.{field}: no other step named {ref!r}")
    try:
        result_refs = list(references(workflow.result))
    except TemplateError as error:
        raise ValueError(f"result: {error.message}") from None
    for root, ref, _ in result_refs:
        known = workflow.inputs if root == "inputs" else workflow.steps
        if ref not in known:
            raise ValueError(f"result: no {root[:-1]} named {ref!r}")
    levels(workflow)


def bind(workflow: Workflow, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The inputs for one run: the caller's arguments checked, defaults filled in."""
    unknown = sorted(set(arguments) - set(workflow.inputs))
    if unknown:
        accepted = ", ".join(sorted(workflow.inputs)) or "none"
        raise ArgumentError(f"unknown argument {unknown[0]!r} (this workflow takes: {accepted}, dry_run)")
    bound: dict[str, Any] = {}
    for name, spec in workflow.inputs.items():
        if name not in arguments or arguments[name] is None:
            if spec.required:
                raise ArgumentError(f"argument {name!r} is required ({spec.type})")
            bound[name] = spec.default
            continue
        bound[name] = _checked(name, spec, arguments[name])
    return bound


def _checked(name: str, spec: WorkflowInput, value: Any) -> Any:
    kinds = JSON_TYPES[spec.type]
    if isinstance(value, bool) and spec.type != "boolean":
        kinds = ()
    if spec.type == "integer" and isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, kinds):
        raise ArgumentError(f"argument {name!r} must be {spec.type}, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ArgumentError(f"argument {name!r} must be a finite number")
    if spec.enum is not None and value not in spec.enum:
        raise ArgumentError(f"argument {name!r} must be one of {list(spec.enum)}, got {value!r}")
    if spec.minimum is not None and isinstance(value, int | float) and value < spec.minimum:
        raise ArgumentError(f"argument {name!r} must be at least {spec.minimum:g}, got {value}")
    if spec.maximum is not None and isinstance(value, int | float) and value > spec.maximum:
        raise ArgumentError(f"argument {name!r} must be at most {spec.maximum:g}, got {value}")
    return value
