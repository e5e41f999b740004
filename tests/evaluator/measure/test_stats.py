"""Percentiles of latencies, and the median and coefficient of variation of repetitions."""

import pytest

from evaluator.measure.stats import Repeated, coefficient_of_variation, latency_percentiles


def test_percentiles_are_in_milliseconds():
    found = latency_percentiles([0.001 * n for n in range(1, 101)])  # 1..100 ms
    assert found["p50"] == pytest.approx(50.5)
    assert found["p90"] == pytest.approx(90.1)
    assert found["p99"] == pytest.approx(99.01)


def test_the_cv_is_the_spread_relative_to_the_mean():
    assert coefficient_of_variation([10.0, 10.0, 10.0]) == 0.0
    assert coefficient_of_variation([9.0, 10.0, 11.0]) == pytest.approx((2 / 3) ** 0.5 / 10)
    assert coefficient_of_variation([0.0, 0.0]) == 0.0


def test_repetitions_report_their_median():
    repeated = Repeated.of([3.0, 1.0, 2.0])
    assert repeated.median == 2.0 and repeated.values == (3.0, 1.0, 2.0)
