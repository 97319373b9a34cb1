"""References inside workflow arguments: `{{ inputs.rows }}`, `{{ steps.stats.mean }}`.

A string that is exactly one reference takes the referenced value with its type (a list stays a
list); a reference inside a longer string is written into it as text (JSON for lists and
objects). A path goes on with `.key`, `[index]` (negative counts from the end) and `[*]` (the
rest of the path, for every item of a list): `{{ steps.sample[*].value }}` is the list of every
record's `value`. A path through null (the output of a step that failed with `on_error:
continue` and no `default`) is null. `${...}` is the config loader's (environment variables),
hence the braces.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from gateway.errors import GatewayError

REFERENCE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_SEGMENT = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(-?\d+|\*)\]")
_HEAD = re.compile(r"(inputs|steps)\.([A-Za-z_][A-Za-z0-9_-]*)")


class TemplateError(GatewayError):
    """A reference that does not resolve (names the expression and what was there instead)."""


Path = tuple[str | int, ...]


def parse(expression: str) -> tuple[str, str, Path]:
    """`steps.stats.mean` → ("steps", "stats", ("mean",)); raises `TemplateError` on bad syntax."""
    head = _HEAD.match(expression)
    if head is None:
        raise TemplateError(f"{{{{ {expression} }}}}: a reference starts with inputs.NAME or steps.NAME")
    path: list[str | int] = []
    position = head.end()
    while position < len(expression):
        segment = _SEGMENT.match(expression, position)
        if segment is None:
            raise TemplateError(f"{{{{ {expression} }}}}: cannot read {expression[position:]!r}")
        key, index = segment.groups()
        path.append(key if key is not None else ("*" if index == "*" else int(index)))
        position = segment.end()
    return head.group(1), head.group(2), tuple(path)


def references(value: Any) -> Iterator[tuple[str, str, Path]]:
    """Every reference in a value (strings inside lists and objects included)."""
    if isinstance(value, str):
        for match in REFERENCE.finditer(value):
            yield parse(match.group(1))
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from references(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from references(item)


def render(value: Any, scope: Mapping[str, Mapping[str, Any]]) -> Any:
    """`value` with every reference replaced from `scope` (`{"inputs": ..., "steps": ...}`)."""
    if isinstance(value, str):
        whole = REFERENCE.fullmatch(value.strip())
        if whole is not None:
            return resolve(whole.group(1), scope)
        return REFERENCE.sub(lambda m: _text(resolve(m.group(1), scope)), value)
    if isinstance(value, Mapping):
        return {k: render(v, scope) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [render(v, scope) for v in value]
    return value


def resolve(expression: str, scope: Mapping[str, Mapping[str, Any]]) -> Any:
    """The value one reference points at."""
    root, name, path = parse(expression)
    values = scope.get(root, {})
    if name not in values:
        known = ", ".join(sorted(values)) or "none yet"
        raise TemplateError(f"{{{{ {expression} }}}}: no {root[:-1]} named {name!r} (known: {known})")
    return _walk(values[name], path, expression)


def _walk(value: Any, path: Path, expression: str) -> Any:
    for position, segment in enumerate(path):
        if value is None:  # a path through null (a failed step's default) is null
            return None
        if segment == "*":
            if not isinstance(value, list):
                raise TemplateError(f"{{{{ {expression} }}}}: [*] needs a list, found {_kind(value)}")
            rest = path[position + 1 :]
            return [_walk(item, rest, expression) for item in value]
        if isinstance(segment, int):
            if not isinstance(value, list) or not -len(value) <= segment < len(value):
                size = f"a list of {len(value)}" if isinstance(value, list) else _kind(value)
                raise TemplateError(f"{{{{ {expression} }}}}: no item [{segment}] in {size}")
            value = value[segment]
        else:
            if not isinstance(value, Mapping) or segment not in value:
                keys = ", ".join(sorted(map(str, value))) if isinstance(value, Mapping) else _kind(value)
                raise TemplateError(f"{{{{ {expression} }}}}: no key {segment!r} (found: {keys})")
            value = value[segment]
    return value


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, float):
        return f"{value:.6g}"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
