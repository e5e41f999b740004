"""The measurement protocol: which examples, how often, and its version.

Following MLPerf's scenarios as Efficiency Pentathlon uses them:

- *single stream*: one example at a time (batch 1), over a fixed sample of the test set that
  is the same for every entry: ``sample_size`` examples spread evenly over the test set sorted
  by text length (so short and long inputs are represented as in the test set), after
  ``warmup`` examples that are not in the sample; latency p50/p90/p99;
- *offline*: the whole test set in the platform's length-sorted batches; examples per second.

Each scenario is repeated ``repetitions`` times; the median is the figure and the coefficient
of variation is stored, a CV above ``cv_limit`` flags the figure. The sample depends only on
the test set's texts (words per example), never on a model's tokenizer.

    >>> stratified_sample(np.array([5, 1, 9, 3, 7, 2]), 3)   # lengths 2, 5 and 9
    array([0, 2, 5])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluator.data import TestSet

PROTOCOL_VERSION = 1


@dataclass(frozen=True)
class MeasureOptions:
    """How points are measured (the defaults are the published protocol); ``idle_seconds``
    is how long the idle power is measured before the single-stream runs. ``deadline`` (a
    ``time.monotonic()`` value) is when measuring must be over, so that it never makes the
    evaluation itself run out of time: what is left unmeasured then says so."""

    sample_size: int = 1000
    warmup: int = 50
    repetitions: int = 3
    cv_limit: float = 0.05
    idle_seconds: float = 2.0
    offline: bool = True
    deadline: float | None = None

    def seconds_left(self, now: float) -> float | None:
        return None if self.deadline is None else self.deadline - now

    @property
    def name(self) -> str:
        """The protocol as stored with every measurement: version and the sizes that make
        figures comparable (figures of different protocols are never shown together)."""
        return (f"elue-measure/{PROTOCOL_VERSION} single-stream n={self.sample_size} "
                f"warmup={self.warmup} reps={self.repetitions}")


def text_lengths(test_set: TestSet) -> np.ndarray:
    """Words per example (both texts of a pair), independent of any tokenizer."""
    return np.array([sum(len(text.split()) for text in texts) for texts in test_set.texts],
                    dtype=np.int64)


def stratified_sample(lengths: np.ndarray, size: int) -> np.ndarray:
    """``size`` example indices (sorted) at evenly spaced ranks of the examples sorted by
    length (ties in test-set order): every length stratum in proportion. All of them when
    the test set is not larger than ``size``."""
    order = np.argsort(np.asarray(lengths), kind="stable")
    if size >= len(order):
        return np.sort(order)
    ranks = ((np.arange(size) + 0.5) * len(order) / size).astype(np.int64)
    return np.sort(order[ranks])


def warmup_indices(lengths: np.ndarray, sample: np.ndarray, count: int) -> np.ndarray:
    """``count`` examples outside ``sample``, spread over the lengths as the sample is (the
    sample itself when nothing is left outside it: a test set smaller than the sample)."""
    rest = np.setdiff1d(np.arange(len(lengths)), sample)
    pool = rest if len(rest) else sample
    picked = stratified_sample(np.asarray(lengths)[pool], min(count, len(pool)))
    return pool[picked]


def measured_sample(test_set: TestSet, options: MeasureOptions) -> tuple[np.ndarray,
                                                                          np.ndarray]:
    """The single-stream sample and the warm-up examples of ``test_set``."""
    lengths = text_lengths(test_set)
    sample = stratified_sample(lengths, options.sample_size)
    return sample, warmup_indices(lengths, sample, options.warmup)
