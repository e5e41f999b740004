"""Where an entry stands (leaderboard.standing): the one-sweep answer equals the definition
(every point against every other), and an entry page's queries do not grow with its points
(issue 13, finding 6: 8,000 points took 23 s per view)."""

from __future__ import annotations

import random

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from evaluator.pareto import Point, dominators
from leaderboard.models import Basis, Entry, OperatingPoint, Task
from leaderboard.standing import pareto_status, task_status

pytestmark = pytest.mark.django_db


def quadratic_task_status(entry: Entry, task: Task) -> list[tuple[int, list[int]]]:
    """The former definition: ``dominators`` for each point of the entry, other entries'
    dominators kept, by name. (point id, dominating entry ids) in order of cost."""
    points = list(OperatingPoint.objects.filter(task=task).filter(
        Entry.shown_publicly("entry__") | Q(entry=entry)).select_related("entry"))
    coords = [Point(p.mflops, p.performance) for p in points]
    rows = []
    for index, point in enumerate(points):
        if point.entry_id != entry.pk:
            continue
        others = {points[i].entry_id: points[i].entry for i in dominators(coords, index)
                  if points[i].entry_id != entry.pk}
        rows.append((point, sorted(others.values(), key=lambda e: e.name.lower())))
    rows.sort(key=lambda row: (row[0].mflops, row[0].pk))  # ties: the database's order before
    return [(point.pk, [e.pk for e in others]) for point, others in rows]


def add_entry(name: str, points: list[tuple[float, float]], task: Task, **fields) -> Entry:
    entry = Entry.objects.create(name=name, kind=Entry.Kind.PUBLISHED, **fields)
    OperatingPoint.objects.bulk_create(
        OperatingPoint(entry=entry, task=task, name=f"p{i}", mflops=mflops, performance=perf,
                       mflops_basis=Basis.DECLARED)
        for i, (mflops, perf) in enumerate(points))
    return entry


def random_points(rng: random.Random, n: int) -> list[tuple[float, float]]:
    # Few distinct values: ties on either axis, within an entry and across entries.
    return [(rng.choice([100.0, 150.0, 200.0, 400.0, 800.0]),
             rng.choice([60.0, 70.0, 70.5, 80.0, 90.0])) for _ in range(n)]


@pytest.mark.parametrize("seed", range(8))
def test_one_sweep_gives_what_the_quadratic_definition_gave(seed):
    rng = random.Random(seed)
    task = Task.objects.get(slug="sst-2")
    entries = [add_entry(f"Entry {i} {rng.choice('AbC')}", random_points(rng, rng.randint(1, 8)),
                         task, visibility=rng.choice(["public", "public", "private"]))
               for i in range(12)]
    for entry in entries:
        got = [(s.point.pk, [e.pk for e in s.dominated_by])
               for s in task_status(entry, task).points]
        assert got == quadratic_task_status(entry, task)


def test_a_private_entry_is_compared_with_public_ones_but_dominates_none():
    task = Task.objects.get(slug="sst-2")
    mine = add_entry("Mine", [(100, 80), (200, 70)], task)
    hidden = add_entry("Hidden", [(50, 90)], task, visibility="private")
    better = add_entry("Better", [(100, 85)], task)
    [cheap, dear] = task_status(mine, task).points
    assert cheap.dominated_by == [better] and dear.dominated_by == [better]
    assert task_status(hidden, task).points[0].on_front


def entry_page_queries(client, entry: Entry) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/entries/{entry.pk}/").status_code == 200
    return len(queries)


def test_an_entry_page_costs_the_same_queries_for_any_number_of_points(client):
    task, rng = Task.objects.get(slug="sst-2"), random.Random(0)
    for i in range(10):
        add_entry(f"Other {i}", random_points(rng, 5), task)
    # Both dominated by some of the others (performance below theirs, at no less cost).
    small = add_entry("Small", [(900, 50), (950, 51), (990, 55)], task)
    large = add_entry("Large", [(900 + i, 50 + i / 100) for i in range(600)], task)
    assert entry_page_queries(client, large) == entry_page_queries(client, small)
    with CaptureQueriesContext(connection) as queries:
        statuses = pareto_status(large)
    assert len(statuses[0].points) == 600 and all(not p.on_front for p in statuses[0].points)
    assert len(queries) == 4  # tasks; then the entry's points, the others', the dominating
