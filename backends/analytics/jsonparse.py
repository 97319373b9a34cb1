"""Strict JSON validation with a location for every error.

Valid input gives the parsed value and its JSON type name; invalid input gives the line, the
column and what the parser expected there. `NaN` and `Infinity` are not JSON and are refused.
"""

from __future__ import annotations

import json
from typing import Any

from typing_extensions import TypedDict

MAX_JSON_BYTES = 1024 * 1024


class JsonError(TypedDict):
    line: int
    column: int
    message: str


def json_type(value: Any) -> str:
    """The JSON name of a parsed value's type."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse(text: str) -> tuple[Any, JsonError | None]:
    """(value, None) for valid JSON, (None, error) otherwise."""
    try:
        return json.loads(text, parse_constant=_refuse_constant), None
    except json.JSONDecodeError as error:
        return None, {"line": error.lineno, "column": error.colno, "message": error.msg}
    except ValueError as error:
        line, column = _locate(text, str(error).split(" ", 1)[0])
        return None, {"line": line, "column": column, "message": str(error)}


def _locate(text: str, token: str) -> tuple[int, int]:
    index = text.find(token)
    if index < 0:
        return 1, 1
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column
