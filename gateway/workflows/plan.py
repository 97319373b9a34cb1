"""A workflow's inputs for one run: the caller's arguments checked against the declared inputs,
defaults filled in. (Which step waits for which is the config's: `gateway.config.workflows`.)"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gateway.errors import GatewayError

if TYPE_CHECKING:
    from gateway.config.workflows import Workflow, WorkflowInput

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
