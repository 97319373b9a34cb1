"""Record transforms: the everyday operations on a list of JSON objects.

- `uppercase_keys`: every key in upper case.
- `remove_nulls`: drop keys whose value is null.
- `sort_by` (`key`, default `id`; `descending`): records missing the key sort last either way;
  values of different types sort by type first (booleans, numbers, strings, lists, objects).
  `sort_by_id` is the seed guide's name for `sort_by` on `id`.
- `select_fields` (`fields`): keep only these keys.
- `filter` (`key`, `value`, `op`: eq, ne, gt, gte, lt, lte, contains): records missing the key
  never match; comparing unlike types (a string with a number) does not match either.
- `deduplicate` (`fields`, optional): keep the first of records equal on `fields` (whole
  records if omitted).
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Sequence
from typing import Any

Record = dict[str, Any]
MAX_RECORDS = 100_000
FILTER_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
    "contains": lambda have, want: want in have if isinstance(have, str | list | dict) else False,
}
_TYPE_RANK = {bool: 0, int: 1, float: 1, str: 2, list: 3, dict: 4}


class TransformError(ValueError):
    """The transform cannot run; the message names the parameter at fault."""


def uppercase_keys(records: Sequence[Record]) -> list[Record]:
    return [{str(k).upper(): v for k, v in r.items()} for r in records]


def remove_nulls(records: Sequence[Record]) -> list[Record]:
    return [{k: v for k, v in r.items() if v is not None} for r in records]


def sort_by(records: Sequence[Record], key: str = "id", descending: bool = False) -> list[Record]:
    present = [r for r in records if r.get(key) is not None]
    missing = [r for r in records if r.get(key) is None]
    ordered = sorted(present, key=lambda r: _sort_key(r[key]), reverse=descending)
    return ordered + missing


def _sort_key(value: Any) -> tuple[int, Any]:
    rank = _TYPE_RANK.get(type(value), 5)
    if isinstance(value, list | dict):
        return rank, json.dumps(value, sort_keys=True)
    return rank, value


def select_fields(records: Sequence[Record], fields: Sequence[str]) -> list[Record]:
    wanted = list(fields)
    return [{f: r[f] for f in wanted if f in r} for r in records]


def filter_records(records: Sequence[Record], key: str, value: Any, op: str = "eq") -> list[Record]:
    compare = FILTER_OPS.get(op)
    if compare is None:
        raise TransformError(f"op {op!r} is not a filter operation; use one of {', '.join(FILTER_OPS)}")
    kept = []
    for record in records:
        if key not in record:
            continue
        try:
            if compare(record[key], value):
                kept.append(record)
        except TypeError:
            continue  # an ordering between unlike types (e.g. "a" > 3): not a match
    return kept


def deduplicate(records: Sequence[Record], fields: Sequence[str] | None = None) -> list[Record]:
    seen: set[str] = set()
    kept = []
    for record in records:
        basis = {f: record.get(f) for f in fields} if fields else record
        identity = json.dumps(basis, sort_keys=True, default=str)
        if identity not in seen:
            seen.add(identity)
            kept.append(record)
    return kept


OPERATIONS = ("uppercase_keys", "remove_nulls", "sort_by", "select_fields", "filter", "deduplicate")
ALIASES = {"sort_by_id": "sort_by"}


def apply(
    records: Sequence[Record],
    operation: str,
    *,
    key: str | None = None,
    value: Any = None,
    op: str = "eq",
    fields: Sequence[str] | None = None,
    descending: bool = False,
) -> list[Record]:
    """Run one operation; raises `TransformError` for an unknown operation or a missing parameter."""
    if len(records) > MAX_RECORDS:
        raise TransformError(f"records has {len(records)} items; the limit is {MAX_RECORDS}")
    name = ALIASES.get(operation, operation)
    if name == "uppercase_keys":
        return uppercase_keys(records)
    if name == "remove_nulls":
        return remove_nulls(records)
    if name == "sort_by":
        return sort_by(records, "id" if operation == "sort_by_id" else (key or "id"), descending)
    if name == "select_fields":
        if not fields:
            raise TransformError("select_fields needs `fields`: the keys to keep")
        return select_fields(records, fields)
    if name == "filter":
        if not key:
            raise TransformError("filter needs `key`: the field to compare")
        return filter_records(records, key, value, op)
    if name == "deduplicate":
        return deduplicate(records, fields)
    valid = ", ".join([*OPERATIONS, *ALIASES])
    raise TransformError(f"unknown operation {operation!r}; valid operations: {valid}")
