"""`workflows:` in gateway.yaml: tools the gateway serves itself, made of steps.

    workflows:
      summarize:
        description: Sample data, describe it, store the summary.
        inputs:
          rows: {type: integer, default: 50, minimum: 1, maximum: 1000}
        steps:
          sample: {read: "dataset://datagen/json/{{ inputs.rows }}"}
          stats:
            call: analytics_analyze_dataset
            arguments: {values: "{{ steps.sample[*].value }}"}
        result: {mean: "{{ steps.stats.mean }}"}

Steps name the tools and resources as clients of the gateway see them, so a workflow reaches
only what its caller could reach directly. A step runs once every step it refers to (or
`needs`) has finished; steps that do not depend on each other run at the same time
(`levels`). A workflow whose references do not resolve, or whose steps wait for each other in a
cycle, is refused at load, naming the step.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, JsonValue, model_validator

from gateway.config.model_base import Frozen
from gateway.config.templates import TemplateError, references
from gateway.config.types import Name, PositiveDuration

InputType = Literal["string", "integer", "number", "boolean", "array", "object"]


class WorkflowInput(Frozen):
    """One argument of the workflow tool."""

    type: InputType = "string"
    """JSON type of the argument."""
    description: str | None = None
    """Shown to clients in the tool's input schema."""
    default: JsonValue = None
    """Value when the caller leaves it out (absent and not `required`: null)."""
    required: bool = False
    """The caller must give it (a default is then not allowed)."""
    enum: tuple[JsonValue, ...] | None = None
    """The only values allowed."""
    minimum: float | None = None
    """Smallest number allowed (integer and number)."""
    maximum: float | None = None
    """Largest number allowed (integer and number)."""

    @model_validator(mode="after")
    def _default_or_required(self) -> WorkflowInput:
        if self.required and self.default is not None:
            raise ValueError("an input with a default cannot be `required`")
        return self


class WorkflowStep(Frozen):
    """One step: call a tool, or read a resource, through the gateway."""

    call: str | None = None
    """The tool to call, by the name clients see (`analytics_analyze_dataset`)."""
    read: str | None = None
    """The resource to read, by the URI clients see (references allowed)."""
    arguments: dict[str, JsonValue] = {}
    """The tool's arguments; strings may hold references (`{{ steps.sample[*].value }}`)."""
    needs: tuple[Name, ...] = ()
    """Steps that must finish first besides those referred to."""
    timeout: PositiveDuration | None = None
    """Longest time for the step, retries included (default: the backend's own timeouts)."""
    retries: Annotated[int, Field(ge=0, le=5)] = 0
    """Further tries after a failure, only where a retry is safe (a read, or a tool the backend
    declares idempotent or read-only); otherwise the step fails at once."""
    on_error: Literal["fail", "continue"] = "fail"
    """`fail`: the workflow stops with the step's error. `continue`: the step's output becomes
    `default` and the workflow goes on (the result lists the step as failed)."""
    default: JsonValue = None
    """The step's output when it failed and `on_error` is `continue`."""

    @model_validator(mode="after")
    def _one_action(self) -> WorkflowStep:
        if (self.call is None) == (self.read is None):
            raise ValueError("a step has exactly one of `call` (a tool) or `read` (a resource URI)")
        if self.read is not None and self.arguments:
            raise ValueError("`arguments` belong to `call` steps; put references in the `read` URI")
        return self


class Workflow(Frozen):
    """A tool made of steps."""

    description: str
    """What the workflow does (the tool's description)."""
    inputs: dict[Name, WorkflowInput] = {}
    """The tool's arguments (its JSON Schema is generated from these)."""
    steps: Annotated[dict[Name, WorkflowStep], Field(min_length=1)]
    """The steps, by name (the order here is the order of the plan where nothing else decides)."""
    result: JsonValue = None
    """What the tool returns, with references (default: every step's output by name)."""
    timeout: PositiveDuration = 300.0
    """Longest time for the whole workflow."""

    @model_validator(mode="after")
    def _references(self) -> Workflow:
        check_workflow(self)
        return self


def input_schema(workflow: Workflow) -> dict[str, Any]:
    """The JSON Schema of the workflow tool's arguments (plus `dry_run`)."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, spec in workflow.inputs.items():
        prop: dict[str, Any] = {"type": spec.type}
        if spec.description:
            prop["description"] = spec.description
        if spec.default is not None:
            prop["default"] = spec.default
        if spec.enum is not None:
            prop["enum"] = list(spec.enum)
        if spec.minimum is not None:
            prop["minimum"] = spec.minimum
        if spec.maximum is not None:
            prop["maximum"] = spec.maximum
        properties[name] = prop
        if spec.required:
            required.append(name)
    properties["dry_run"] = {
        "type": "boolean",
        "default": False,
        "description": "Show the plan (steps, order, resolved arguments, access) without calling anything.",
    }
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


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
