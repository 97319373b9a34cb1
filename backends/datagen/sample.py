"""The sample dataset: `id,value,category` rows, random or reproducible from a seed.

`id` runs from 1 to the number of rows; `value` is uniform in [10, 100], rounded to 2 decimals;
`category` is A, B or C. The same rows and seed always give byte-identical output.
"""

from __future__ import annotations

import csv
import io
import json
import random
from typing import Any

MIN_ROWS = 1
MAX_ROWS = 10_000
CATEGORIES = ("A", "B", "C")
COLUMNS = ("id", "value", "category")


class SampleError(ValueError):
    """A dataset argument is out of range or not a number; the message says which."""


def parse_count(name: str, text: str, *, low: int, high: int) -> int:
    """An integer argument from a URI segment, within [low, high]."""
    digits = text.strip()
    if not digits.removeprefix("-").isdigit():
        raise SampleError(f"{name} must be a whole number from {low} to {high}, got {text!r}")
    number = int(digits)
    if not low <= number <= high:
        raise SampleError(f"{name} must be from {low} to {high}, got {number}")
    return number


def rows_of(count: int, seed: int | None) -> list[dict[str, Any]]:
    """The dataset as records."""
    rng = random.Random(seed)  # noqa: S311 - sample data, not security
    return [
        {"id": i, "value": round(rng.uniform(10, 100), 2), "category": rng.choice(CATEGORIES)}
        for i in range(1, count + 1)
    ]


def as_csv(records: list[dict[str, Any]]) -> str:
    """CSV with a header line and `\\n` line ends."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()


def as_json(records: list[dict[str, Any]]) -> str:
    """`{"columns": [...], "rows": [...]}` as compact JSON."""
    return json.dumps({"columns": list(COLUMNS), "rows": records}, separators=(",", ":"))
