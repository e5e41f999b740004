"""The budget explorer's pure logic: reading a budget, each entry's best point within it, and
the order of entries."""

from __future__ import annotations

import pytest

from evaluator.pareto import Point
from leaderboard.budget import (
    Budget,
    BudgetInvalid,
    Candidate,
    best_choice,
    budget_sort_key,
    parse_budget,
    standing,
)

SST2 = [Point(1060.33, 84.1), Point(1413.36, 85.7), Point(2119.41, 87.0), Point(4237.56, 88.6)]
CURVES = {"sst-2": SST2, "mrpc": SST2}


def point(name: str, mflops: float, performance: float, mparams: float | None = 50.0,
          task: str = "sst-2") -> Candidate:
    return Candidate(1, task, name, mflops, performance, mparams)


def test_it_reads_a_budget_and_writes_it_back_for_links():
    budget = parse_budget({"max_mflops": "1500", "max_mparams": "66.96", "track": "40"})
    assert budget.maxima == {"max_mflops": 1500.0, "max_mparams": 66.96}
    assert budget.query() == [("max_mflops", "1500"), ("max_mparams", "66.96")]
    assert budget.describe() == "at most 1500 MFLOPs and 66.96 M params"
    assert Budget({"max_mflops": 1e-7}).query() == [("max_mflops", "0.0000001")]


def test_no_budget_is_falsy_and_admits_everything():
    budget = parse_budget({"max_mflops": "", "max_mparams": " "})
    assert not budget and budget.admits(point("x", 1e9, 1, None))


def test_it_names_every_unreadable_parameter():
    with pytest.raises(BudgetInvalid) as invalid:
        parse_budget({"max_mflops": "²", "max_mparams": "-3"})
    assert [p.name for p in invalid.value.problems] == ["max_mflops", "max_mparams"]


def test_a_point_without_a_parameter_count_is_never_within_a_parameter_limit():
    assert not Budget({"max_mparams": 100}).admits(point("x", 10, 90, None))
    assert Budget({"max_mflops": 100}).admits(point("x", 10, 90, None))


def test_the_best_point_is_the_most_accurate_within_every_limit():
    points = [point("12L", 4237.56, 88.6, 109.5), point("6L", 2119.41, 87.0, 67.0),
              point("3L", 1060.33, 84.1, 45.7)]
    assert best_choice(points, Budget({"max_mflops": 3000}), SST2).point.name == "6L"
    assert best_choice(points, Budget({"max_mparams": 50}), SST2).point.name == "3L"
    assert best_choice(points, Budget({"max_mflops": 1000}), SST2) is None
    # A limit is inclusive: exactly at it is within it.
    assert best_choice(points, Budget({"max_mflops": 2119.41}), SST2).point.name == "6L"


def test_a_tie_goes_to_the_cheaper_point_then_the_name():
    tied = [point("b", 2000, 87.0), point("a", 1500, 87.0), point("c", 1500, 87.0)]
    assert best_choice(tied, Budget({"max_mflops": 5000}), SST2).point.name == "a"


def test_the_difference_is_from_the_reference_at_the_same_mflops():
    choice = best_choice([point("p", 1236.845, 86.0)], Budget({"max_mflops": 2000}), SST2)
    assert choice.difference == pytest.approx(86.0 - 84.9)
    assert best_choice([point("p", 1200, 86.0)], Budget({"max_mflops": 2000}), None
                       ).difference is None


def test_an_entry_without_any_point_within_the_budget_drops_out():
    points = [point("6L", 2119.41, 87.0), point("6L", 4000, 80.0, task="mrpc")]
    assert standing(points, Budget({"max_mflops": 1000}), CURVES) is None
    within = standing(points, Budget({"max_mflops": 3000}), CURVES)
    assert list(within.choices) == ["sst-2"] and within.coverage == 1


def test_a_standing_averages_the_chosen_points():
    points = [point("6L", 2119.41, 88.0), point("6L", 2119.41, 86.0, 60.0, task="mrpc")]
    within = standing(points, Budget({"max_mflops": 3000}), CURVES)
    assert within.performance == pytest.approx(87.0)
    assert within.difference == pytest.approx(((88.0 - 87.0) + (86.0 - 87.0)) / 2)
    assert within.mparams == 60.0


def test_full_coverage_within_the_budget_ranks_first_then_performance():
    def key(name, tasks, performance):
        points = [Candidate(1, t, "p", 1000, performance, 10) for t in tasks]
        return budget_sort_key(standing(points, Budget({"max_mflops": 2000}), CURVES), name)

    six = ["sst-2", "imdb", "snli", "scitail", "mrpc", "sts-b"]
    ranked = sorted([key("partial-best", ["sst-2"], 99), key("full-low", six, 70),
                     key("full-high", six, 80)])
    assert [k[-1] for k in ranked] == ["full-high", "full-low", "partial-best"]
