from datetime import timedelta

import pytest
from django.utils import timezone

from evaluator.errors import SubmissionInvalid
from leaderboard.actions import delete_entry
from leaderboard.models import Entry, PublishedEntryRecord
from leaderboard.published import PublishedPoint, create_published_entry
from leaderboard.submissions import QuotaExceeded

pytestmark = pytest.mark.django_db


def test_it_scores_a_published_entry_at_once(alice, seeded):
    entry = create_published_entry(alice, [
        PublishedPoint("sst-2", "6L", 2119.41, 85.3, 66.96, "computed"),
        PublishedPoint("mrpc", "6L", 4559.04, 84.7, 66.96, "computed"),
    ], name="My TinyBERT")
    scores = {s.task.slug: round(s.score, 2) for s in entry.scores.select_related("task")}
    assert scores == {"sst-2": -1.70, "mrpc": -2.60}  # as the seeded TinyBERT-6L
    assert entry.kind == Entry.Kind.PUBLISHED and not entry.is_dynamic


def test_a_curve_makes_a_dynamic_entry(alice, seeded):
    entry = create_published_entry(alice, [
        PublishedPoint("sst-2", "p1", 1000, 84), PublishedPoint("sst-2", "p2", 2000, 87),
    ], name="Curve")
    assert entry.is_dynamic and entry.points.count() == 2


def test_it_reports_every_problem_with_its_field(alice, seeded):
    with pytest.raises(SubmissionInvalid) as error:
        create_published_entry(alice, [
            PublishedPoint("sst2", "a", -5, 85),
            PublishedPoint("mrpc", "b", 100, 185, mflops_basis="guessed"),
            PublishedPoint("mrpc", "b", 100, 85, mparams=float("nan")),
        ], name="Broken")
    messages = [p.message for p in error.value.problems]
    known = "sst-2, imdb, snli, scitail, mrpc, sts-b"
    assert f"point 1: unknown task 'sst2'; one of {known}" in messages
    assert {p.field for p in error.value.problems} >= {
        "points[0].task", "points[0].mflops", "points[1].performance", "points[1].mflops_basis",
        "points[2].mparams", "points[2].name"}
    assert all(p.file is None for p in error.value.problems)
    assert "point 1: mflops must be a positive number, got -5" in messages
    assert any(m.startswith("point 2: performance must be between 0 and 100") for m in messages)
    assert any(m.startswith("point 2: mflops_basis must be one of") for m in messages)
    assert "point 3: mparams must be a positive number, got nan" in messages
    assert "point 3: mrpc 'b' appears twice" in messages
    assert not Entry.objects.filter(owner=alice).exists()


def test_the_log_says_how_long_each_step_took(alice):
    from datetime import timedelta

    from django.utils import timezone

    from leaderboard.models import Submission, SubmissionEvent

    submission = Submission.objects.create(owner=alice, name="M", kind="declared", bundle="b")
    start = timezone.now()
    for offset, status in ((0, "received"), (2, "queued"), (7, "running")):
        SubmissionEvent.objects.create(submission=submission, status=status,
                                       at=start + timedelta(seconds=offset))
    assert [gap for _, gap in submission.log()] == [None, 2.0, 5.0]


def points_on(task: str, n: int, start: float = 100.0) -> list[PublishedPoint]:
    return [PublishedPoint(task, f"p{i}", start + i, 80.0) for i in range(n)]


def test_it_caps_the_points_per_task(alice, seeded, settings):
    assert settings.ELUE_PUBLISHED_MAX_POINTS_PER_TASK == 24
    create_published_entry(alice, points_on("sst-2", 24), name="Dozens")
    with pytest.raises(SubmissionInvalid) as error:
        create_published_entry(alice, points_on("sst-2", 25) + points_on("mrpc", 3),
                               name="Too many")
    [problem] = error.value.problems
    assert (problem.code, problem.field) == ("too_many_task_points", "points")
    assert problem.message == ("sst-2: a published entry may have at most 24 points per task; "
                               "this one has 25")
    assert not Entry.objects.filter(name="Too many").exists()


def test_it_caps_the_points_per_entry_before_checking_each(alice, seeded, settings):
    """The attack of finding 6 in miniature: one entry of 20,000 points is refused with one
    problem, not scored (148 s) and not answered point by point (30 MB)."""
    assert settings.ELUE_PUBLISHED_MAX_POINTS == 72
    tasks = ("sst-2", "mrpc", "snli")
    fits = [p for task in tasks for p in points_on(task, 24)]
    assert len(create_published_entry(alice, fits, name="Full").points.all()) == 72
    flood = [PublishedPoint("sst-2", f"p{i}", -1.0, 80.0) for i in range(20_000)]
    for points in (fits + points_on("scitail", 1), flood):
        with pytest.raises(SubmissionInvalid) as error:
            create_published_entry(alice, points, name="Flood")
        [problem] = error.value.problems
        assert problem.code == "too_many_points" and problem.message == (
            f"a published entry may have at most 72 points; this one has {len(points)}")
    assert not Entry.objects.filter(name="Flood").exists()


def test_it_limits_published_entries_per_day_and_deleting_buys_none(alice, bob, seeded,
                                                                    settings):
    settings.ELUE_DAILY_PUBLISHED = 2
    first = create_published_entry(alice, points_on("sst-2", 1), name="One")
    create_published_entry(alice, points_on("sst-2", 1), name="Two")
    delete_entry(first)
    with pytest.raises(QuotaExceeded) as error:
        create_published_entry(alice, points_on("sst-2", 1), name="Three")
    record = PublishedEntryRecord.objects.filter(owner=alice).earliest("created_at")
    assert error.value.resets_at == record.created_at + timedelta(days=1)
    assert str(error.value).startswith("daily limit of 2 published entries reached")
    assert not Entry.objects.filter(name="Three").exists()
    create_published_entry(bob, points_on("sst-2", 1), name="Bob's")  # per user
    PublishedEntryRecord.objects.filter(owner=alice).update(
        created_at=timezone.now() - timedelta(days=1, seconds=1))
    create_published_entry(alice, points_on("sst-2", 1), name="Three")  # a day later
