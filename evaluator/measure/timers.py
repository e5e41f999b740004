"""The clock measurements are timed with, on the host, outside the sandbox.

Every time in a measurement is read by the worker process from ``time.perf_counter`` (a
monotonic clock) around a request to the sandboxed model and its reply: the model's own code
never holds the clock, so it cannot report a time it did not take. On a GPU the reply carries
the predictions, which the sandbox copies to the CPU first, so the time includes the device
finishing its work (``docs/measurement.md`` says why CUDA events, which only the process using
the GPU can read, are not used).

Tests pass a ``FakeClock``-like object with the same ``now()``.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since an arbitrary, fixed start; never goes backwards."""


class MonotonicClock:
    """``time.perf_counter``: the host's highest-resolution monotonic clock."""

    name = "host monotonic clock (time.perf_counter)"

    def now(self) -> float:
        return time.perf_counter()
