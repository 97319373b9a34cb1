"""Datasets generated from a column spec: names, types and distributions.

Each column has a `type` and a `distribution` that fits it:

| type | distributions (parameters) |
| --- | --- |
| integer | uniform (min, max), sequence (start, step) |
| float | uniform (min, max), normal (mean, stddev) |
| category | choice (choices, optional weights) |
| boolean | bernoulli (p) |
| date | sequence (start, step_days), uniform (start, end) |
| string | pattern (prefix): prefix + row number |

With a seed the output is reproducible.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

ColumnType = Literal["integer", "float", "category", "boolean", "date", "string"]
Distribution = Literal["uniform", "normal", "sequence", "choice", "bernoulli", "pattern"]
ALLOWED: dict[str, tuple[str, ...]] = {
    "integer": ("uniform", "sequence"),
    "float": ("uniform", "normal"),
    "category": ("choice",),
    "boolean": ("bernoulli",),
    "date": ("sequence", "uniform"),
    "string": ("pattern",),
}
DEFAULTS: dict[str, str] = {
    "integer": "uniform",
    "float": "uniform",
    "category": "choice",
    "boolean": "bernoulli",
    "date": "sequence",
    "string": "pattern",
}


class ColumnSpec(BaseModel):
    """One column of a generated dataset."""

    name: str = Field(min_length=1, max_length=64)
    type: ColumnType
    distribution: Distribution | None = None
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    stddev: float | None = Field(default=None, ge=0)
    start: float | str | None = None
    step: float | None = None
    end: str | None = None
    step_days: int | None = None
    choices: list[str] | None = None
    weights: list[float] | None = None
    p: float | None = Field(default=None, ge=0, le=1)
    prefix: str | None = None

    @model_validator(mode="after")
    def _check(self) -> ColumnSpec:
        distribution = self.distribution or DEFAULTS[self.type]
        if distribution not in ALLOWED[self.type]:
            raise ValueError(
                f"column {self.name!r}: distribution {distribution!r} does not fit type {self.type!r}; "
                f"use one of {', '.join(ALLOWED[self.type])}"
            )
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"column {self.name!r}: min {self.min} is greater than max {self.max}")
        if self.type == "category":
            if not self.choices:
                raise ValueError(f"column {self.name!r}: a category column needs non-empty `choices`")
            if self.weights is not None and len(self.weights) != len(self.choices):
                raise ValueError(f"column {self.name!r}: `weights` must have one entry per choice")
        return self


def generate(columns: list[ColumnSpec], rows: int, seed: int | None) -> list[dict[str, Any]]:
    """The records of a dataset following `columns`."""
    names = [c.name for c in columns]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"column names must be unique; repeated: {', '.join(duplicates)}")
    rng = random.Random(seed)  # noqa: S311 - sample data, not security
    return [{c.name: _value(c, i, rng) for c in columns} for i in range(rows)]


def _value(column: ColumnSpec, index: int, rng: random.Random) -> Any:
    distribution = column.distribution or DEFAULTS[column.type]
    if column.type == "integer":
        if distribution == "sequence":
            return int(float(column.start or 1) + index * (column.step or 1))
        return rng.randint(
            int(column.min if column.min is not None else 0),
            int(column.max if column.max is not None else 100),
        )
    if column.type == "float":
        if distribution == "normal":
            return round(
                rng.gauss(column.mean or 0.0, column.stddev if column.stddev is not None else 1.0), 4
            )
        low = column.min if column.min is not None else 0.0
        high = column.max if column.max is not None else 1.0
        return round(rng.uniform(low, high), 4)
    if column.type == "category":
        assert column.choices is not None
        return rng.choices(column.choices, weights=column.weights)[0]
    if column.type == "boolean":
        return rng.random() < (column.p if column.p is not None else 0.5)
    if column.type == "date":
        start = dt.date.fromisoformat(str(column.start)) if column.start else dt.date(2026, 1, 1)
        if distribution == "uniform":
            end = dt.date.fromisoformat(column.end) if column.end else start + dt.timedelta(days=365)
            return (start + dt.timedelta(days=rng.randint(0, max(0, (end - start).days)))).isoformat()
        return (start + dt.timedelta(days=index * (column.step_days or 1))).isoformat()
    return f"{column.prefix or column.name}-{index + 1}"
