"""Descriptive statistics for a list of numbers.

Quartiles use linear interpolation between data points (`statistics.quantiles` with
`method="inclusive"`, the same as NumPy's default), so Q2 is the median. Sample standard
deviation and variance use n-1 and need at least two values; population ones use n.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from typing_extensions import TypedDict

MAX_VALUES = 100_000


class DatasetError(ValueError):
    """The values cannot be analysed; the message says exactly why."""


class Summary(TypedDict):
    count: int
    mean: float
    median: float
    sample_stdev: float | None
    population_stdev: float
    sample_variance: float | None
    population_variance: float
    min: float
    max: float
    range: float
    q1: float
    q3: float


def summarize(values: Sequence[float]) -> Summary:
    """Statistics of `values`; raises `DatasetError` naming the problem."""
    if not values:
        raise DatasetError("values is empty: give at least one number")
    if len(values) > MAX_VALUES:
        raise DatasetError(f"values has {len(values)} numbers; the limit is {MAX_VALUES}")
    for index, value in enumerate(values):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DatasetError(f"values[{index}] is {value!r}, not a number")
        if not math.isfinite(value):
            raise DatasetError(f"values[{index}] is {value}, not a finite number")
    data = [float(v) for v in values]
    lowest, highest = min(data), max(data)
    if len(data) >= 2:
        q1, _, q3 = statistics.quantiles(data, n=4, method="inclusive")
    else:
        q1 = q3 = data[0]
    many = len(data) >= 2
    return {
        "count": len(data),
        "mean": statistics.fmean(data),
        "median": float(statistics.median(data)),
        "sample_stdev": statistics.stdev(data) if many else None,
        "population_stdev": statistics.pstdev(data),
        "sample_variance": statistics.variance(data) if many else None,
        "population_variance": statistics.pvariance(data),
        "min": lowest,
        "max": highest,
        "range": highest - lowest,
        "q1": q1,
        "q3": q3,
    }
