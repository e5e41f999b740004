"""Pareto status of an entry and owner actions on published entries."""

from __future__ import annotations

import pytest

from leaderboard.actions import delete_entry, set_entry_visibility
from leaderboard.models import Entry
from leaderboard.published import PublishedPoint, create_published_entry
from leaderboard.standing import pareto_status
from tests.reviews import approved

pytestmark = pytest.mark.django_db


def published(owner, name, *points, visibility="public"):
    return create_published_entry(owner, [PublishedPoint("sst-2", n, f, p) for n, f, p in points],
                                  name=name, visibility=visibility)


def test_a_point_beaten_at_no_more_cost_is_dominated_by_that_entry(alice, seeded):
    strong = approved(published(alice, "Strong", ("a", 100.0, 99.0)))
    weak = published(alice, "Weak", ("a", 200.0, 98.0), ("b", 50.0, 10.0))
    [status] = pareto_status(weak)
    by_name = {p.point.name: p for p in status.points}
    assert strong in by_name["a"].dominated_by and not by_name["b"].dominated_by
    assert status.on_front and strong in status.dominated_by
    [strong_status] = pareto_status(strong)
    assert strong_status.points[0].on_front


def test_private_entries_do_not_dominate_others(alice, seeded):
    approved(published(alice, "Hidden", ("a", 1.0, 100.0), visibility="private"))
    weak = published(alice, "Weak", ("a", 200.0, 98.0))
    [status] = pareto_status(weak)
    assert all(e.name != "Hidden" for e in status.dominated_by)


def test_its_own_points_never_dominate_each_other(alice, seeded):
    curve = published(alice, "Curve", ("a", 100.0, 90.0), ("b", 100.0, 80.0))
    [status] = pareto_status(curve)
    assert all(curve not in p.dominated_by for p in status.points)


def test_visibility_and_delete_of_a_published_entry(alice, seeded):
    entry = approved(published(alice, "Mine", ("a", 100.0, 90.0)))
    assert Entry.objects.public().filter(pk=entry.pk).exists()
    set_entry_visibility(entry, "private")
    assert not Entry.objects.public().filter(pk=entry.pk).exists()
    assert Entry.objects.visible_to(alice).filter(pk=entry.pk).exists()
    delete_entry(entry)
    assert not Entry.objects.filter(pk=entry.pk).exists()
