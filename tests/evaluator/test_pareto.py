"""Pareto fronts and dominance: evaluator.pareto."""

from hypothesis import given, settings
from hypothesis import strategies as st

from evaluator.pareto import Point, dominating_groups, dominators, pareto_front


def test_it_finds_the_pareto_front():
    points = [Point(100, 80), Point(200, 85), Point(150, 79), Point(300, 84), Point(50, 70)]
    assert pareto_front(points) == [4, 0, 1]


def test_it_keeps_identical_points_on_the_front():
    points = [Point(100, 80), Point(100, 80), Point(200, 79)]
    assert sorted(pareto_front(points)) == [0, 1]


def test_it_names_the_dominators_of_a_point():
    points = [Point(100, 80), Point(200, 85), Point(300, 84)]
    assert dominators(points, 2) == [1]
    assert dominators(points, 1) == []


def quadratic_dominating_groups(targets, others):
    """The definition, one target at a time (what the entry page used to do)."""
    points = [*targets, *(point for point, _ in others)]
    groups = [None] * len(targets) + [group for _, group in others]
    return [{groups[j] for j in dominators(points, i) if groups[j] is not None}
            for i in range(len(targets))]


def test_one_sweep_finds_the_dominating_groups_with_ties_on_either_axis():
    targets = [Point(100, 80), Point(100, 80), Point(200, 85), Point(50, 10)]
    others = [(Point(100, 80), "twin"), (Point(100, 81), "same cost, better"),
              (Point(90, 80), "cheaper, same"), (Point(200, 85), "twin of the second"),
              (Point(150, 79), "worse"), (Point(10, 9), "cheap but worse")]
    assert dominating_groups(targets, others) == [
        {"same cost, better", "cheaper, same"}, {"same cost, better", "cheaper, same"},
        set(), set()]


# Few distinct values, so that ties on cost and on performance are common.
coordinates = st.builds(Point, st.sampled_from([1.0, 2.0, 2.5, 3.0, 10.0, 1e6]),
                        st.sampled_from([0.0, 50.0, 50.5, 70.0, 100.0]))


@settings(max_examples=400, deadline=None)
@given(targets=st.lists(coordinates, max_size=12),
       others=st.lists(st.tuples(coordinates, st.integers(0, 4)), max_size=20))
def test_one_sweep_agrees_with_the_definition(targets, others):
    assert dominating_groups(targets, others) == quadratic_dominating_groups(targets, others)
