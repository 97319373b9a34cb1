"""Small value types shared by the configuration model: durations, sizes, names, globs.

Durations are written the way operators think of them (`"30s"`, `"250ms"`, `"2m"`, `"1h"`) or as
plain numbers of seconds; they load as `float` seconds. Names are the identifiers that end up
inside MCP tool names, so they use the MCP tool-name alphabet.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator, Field, WithJsonSchema

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_duration(value: object) -> float:
    """`"250ms"` → 0.25, `"30s"` → 30.0, `"2m"` → 120.0, `5` → 5.0; anything else is refused."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string like '30s', '250ms', '2m'")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    raise ValueError(f"{value!r} is not a duration; write a number of seconds or e.g. '30s', '250ms', '2m'")


def _positive_duration(value: object) -> float:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError(f"{value!r} must be longer than zero")
    return seconds


_DURATION_TEXT = r"^\s*\d+(\.\d+)?\s*(ms|s|m|h)?\s*$"

Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema(
        {"anyOf": [{"type": "number", "minimum": 0}, {"type": "string", "pattern": _DURATION_TEXT}]}
    ),
]
"""A length of time (`"30s"`, `"250ms"`, `"2m"`, or seconds), in seconds once loaded."""

PositiveDuration = Annotated[
    float,
    BeforeValidator(_positive_duration),
    WithJsonSchema(
        {"anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "string", "pattern": _DURATION_TEXT}]}
    ),
]
"""A duration longer than zero."""

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=48)]
"""A backend key or namespace: MCP tool-name characters, starting with a letter or digit."""

Glob = Annotated[str, Field(min_length=1)]
"""A shell-style pattern (`fnmatch`): `*` any run of characters, `?` one, `[ab]` a set."""

_BYTES = re.compile(r"^\s*(\d+)\s*(B|KB|MB|GB|KiB|MiB|GiB)?\s*$")
_UNIT_BYTES: dict[str | None, int] = {None: 1, "B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9}
_UNIT_BYTES |= {"KiB": 2**10, "MiB": 2**20, "GiB": 2**30}


def parse_bytes(value: object) -> int:
    """`"64MB"` → 64_000_000, `"64MiB"` → 67_108_864, `4096` → 4096; anything else is refused."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        match = _BYTES.match(value)
        if match:
            return int(match.group(1)) * _UNIT_BYTES[match.group(2)]
    raise ValueError(f"{value!r} is not a size; write a number of bytes or e.g. '64MB', '512KiB'")


ByteCount = Annotated[
    int,
    BeforeValidator(parse_bytes),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 0},
                {"type": "string", "pattern": r"^\s*\d+\s*(B|KB|MB|GB|KiB|MiB|GiB)?\s*$"},
            ]
        }
    ),
]
"""A size in bytes (`"64MB"`, `"512KiB"`, or a number), an int once loaded."""


def yaml_off(value: object) -> object:
    """YAML reads a bare `off` as false; where a setting's word is `off`, that is what it means."""
    return "off" if value is False else value
