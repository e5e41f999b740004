"""The ELUE score (SPEC §4): evaluator.score."""

import pytest

from evaluator.pareto import Point
from evaluator.score import overall_score, point_differences, reference_at, task_score

# SPEC §4 worked example: the SST-2 reference and LayerDrop's points.
SST2_REFERENCE = [Point(1060.33, 84.1), Point(1413.36, 85.7), Point(2119.41, 87.0),
                  Point(4237.56, 88.6)]
LAYERDROP = [Point(1041, 81.9), Point(1387, 84.3), Point(2082, 86.3), Point(4164, 87.9)]


def test_it_reproduces_the_worked_example_differences():
    differences = point_differences(LAYERDROP, SST2_REFERENCE)
    assert differences == pytest.approx([-2.113, -1.281, -0.631, -0.644], abs=1e-3)


def test_it_reproduces_the_worked_example_score():
    assert round(task_score(LAYERDROP, SST2_REFERENCE), 2) == -1.17


def test_it_scores_the_reference_itself_zero():
    assert task_score(SST2_REFERENCE, SST2_REFERENCE) == pytest.approx(0.0, abs=1e-12)


def test_it_interpolates_between_reference_points():
    assert reference_at(SST2_REFERENCE, (1413.36 + 2119.41) / 2) == pytest.approx(86.35)


def test_it_extrapolates_linearly_below_the_first_point():
    slope = (85.7 - 84.1) / (1413.36 - 1060.33)
    assert reference_at(SST2_REFERENCE, 500) == pytest.approx(84.1 + slope * (500 - 1060.33))


def test_it_extrapolates_linearly_above_the_last_point():
    slope = (88.6 - 87.0) / (4237.56 - 2119.41)
    assert reference_at(SST2_REFERENCE, 8000) == pytest.approx(88.6 + slope * (8000 - 4237.56))


def test_it_ignores_the_order_of_reference_points():
    shuffled = [SST2_REFERENCE[2], SST2_REFERENCE[0], SST2_REFERENCE[3], SST2_REFERENCE[1]]
    assert reference_at(shuffled, 1800) == reference_at(SST2_REFERENCE, 1800)


def test_it_scores_tinybert_on_sst2():
    # A seeded single-point entry: TinyBERT-6L, 85.3 at 2119.41 MFLOPs.
    assert round(task_score([Point(2119.41, 85.3)], SST2_REFERENCE), 2) == -1.70


def test_it_averages_task_scores_plainly():
    assert overall_score({"sst-2": -1.7, "mrpc": -2.6, "snli": -0.8}) == pytest.approx(-1.7)
    assert overall_score({}) is None


def test_it_refuses_a_degenerate_reference():
    with pytest.raises(ValueError, match="at least two"):
        reference_at([Point(1, 1)], 5)
    with pytest.raises(ValueError, match="distinct"):
        reference_at([Point(1, 1), Point(1, 2)], 5)
