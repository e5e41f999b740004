"""Summaries of repeated measurements: latency percentiles, the median of repetitions and
their coefficient of variation (standard deviation over mean).

    >>> latency_percentiles([0.010, 0.012, 0.011, 0.030])
    {'p50': 11.5, 'p90': 24.6, 'p99': 29.46}
    >>> repeated = Repeated.of([100.0, 102.0, 98.0])
    >>> repeated.median, round(repeated.cv, 4)
    (100.0, 0.0163)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

PERCENTILES = {"p50": 50, "p90": 90, "p99": 99}


def latency_percentiles(seconds: Sequence[float]) -> dict[str, float]:
    """p50, p90 and p99 of per-example latencies given in seconds, in milliseconds (linear
    interpolation between order statistics, NumPy's default)."""
    values = np.asarray(seconds, dtype=np.float64) * 1000.0
    return {name: float(np.percentile(values, q)) for name, q in PERCENTILES.items()}


def coefficient_of_variation(values: Sequence[float]) -> float:
    """Population standard deviation over the mean (0 for identical values)."""
    array = np.asarray(values, dtype=np.float64)
    mean = float(array.mean())
    return float(array.std() / mean) if mean else 0.0


@dataclass(frozen=True)
class Repeated:
    """One figure measured several times: its median (the figure shown) and CV."""

    values: tuple[float, ...]
    median: float
    cv: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Repeated:
        return cls(tuple(float(v) for v in values), float(np.median(values)),
                   coefficient_of_variation(values))
