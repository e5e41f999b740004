import pytest

from evaluator.errors import SubmissionInvalid
from leaderboard.models import Entry
from leaderboard.published import PublishedPoint, create_published_entry

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
