"""Pareto fronts and dominance: evaluator.pareto."""

from evaluator.pareto import Point, dominators, pareto_front


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
