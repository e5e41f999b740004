"""The claim guard and the reaper: no submission lost, none scored twice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from elue.worker import threads_per_process
from evaluator.evaluate import Report
from leaderboard import actions, pipeline, reaper, tasks
from leaderboard.models import Entry, Submission
from leaderboard.pipeline import Busy, claim, record_report

pytestmark = pytest.mark.django_db
Status = Submission.Status


@pytest.fixture
def queued(alice):
    return Submission.objects.create(owner=alice, name="M", kind=Entry.Kind.DECLARED,
                                     bundle="x.zip", status=Status.QUEUED,
                                     enqueued_at=timezone.now())


def age(submission, **fields_seconds):
    """Move timestamps of ``submission`` into the past by the given seconds."""
    past = {field: timezone.now() - timedelta(seconds=s) for field, s in fields_seconds.items()}
    Submission.objects.filter(pk=submission.pk).update(**past)


def test_only_one_attempt_claims_a_submission(queued):
    first = claim(queued.pk)
    assert first.attempt == 1
    with pytest.raises(Busy):
        claim(queued.pk)


def test_a_stale_attempt_is_taken_over_and_cannot_record(queued, settings):
    first = claim(queued.pk)
    age(queued, heartbeat_at=settings.ELUE_STALE_AFTER + 1)
    second = claim(queued.pk)
    assert second.attempt == 2
    assert record_report(first, Report([], None), None) is False
    assert record_report(second, Report([], None), None) is True
    assert claim(queued.pk) is None  # scored: a late delivery has nothing to do
    assert Entry.objects.filter(submission=queued).count() == 1


def test_a_stopped_attempt_notices_at_its_next_step(queued):
    attempt = claim(queued.pk)
    actions.cancel(queued)
    with pytest.raises(pipeline.Stop):
        pipeline.progress(attempt, "next step")


def test_a_cancel_is_seen_by_the_stop_check_within_its_period(queued,
                                                            django_assert_num_queries):
    attempt = claim(queued.pk)
    check = pipeline.stop_check(attempt, every=3600)
    check()  # looks: still running
    actions.cancel(queued)
    with django_assert_num_queries(0):  # polled five times a second, it looks once a period
        check()
    with pytest.raises(pipeline.Stop):
        pipeline.stop_check(attempt, every=0)()


def test_the_reaper_requeues_a_submission_whose_message_was_lost(
        queued, settings, enqueued, django_capture_on_commit_callbacks):
    age(queued, enqueued_at=settings.ELUE_REQUEUE_AFTER + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert reaper.reap(tasks.enqueue_evaluation).requeued == 1
    assert enqueued == [queued.pk]
    with django_capture_on_commit_callbacks(execute=True):
        # Just enqueued again: not yet overdue.
        assert reaper.reap(tasks.enqueue_evaluation).requeued == 0


def test_the_reaper_backs_off_per_submission(queued, alice, settings,
                                             django_capture_on_commit_callbacks):
    """A message still waiting behind a backlog is not lost: re-sending it every reap would
    only add duplicates. Each submission's wait doubles after each re-send, up to
    ELUE_REQUEUE_MAX_AFTER, and a lost worker starts the count again."""
    settings.ELUE_REQUEUE_AFTER, settings.ELUE_REQUEUE_MAX_AFTER = 100, 400
    start = timezone.now()
    later = Submission.objects.create(owner=alice, name="L", kind=Entry.Kind.DECLARED,
                                      bundle="y.zip", status=Status.QUEUED,
                                      enqueued_at=start + timedelta(seconds=250))
    Submission.objects.filter(pk=queued.pk).update(enqueued_at=start)
    sent: list[tuple[int, int]] = []
    for second in range(0, 2001, 10):
        with django_capture_on_commit_callbacks(execute=True):
            reaper.reap(lambda pk, second=second: sent.append((second, pk)),
                        start + timedelta(seconds=second))
    assert [s for s, pk in sent if pk == queued.pk] == [110, 320, 730, 1140, 1550, 1960]
    assert [s for s, pk in sent if pk == later.pk] == [360, 570, 980, 1390, 1800]
    assert Submission.objects.get(pk=queued.pk).requeues == 6

    claim(queued.pk)
    age(queued, heartbeat_at=settings.ELUE_STALE_AFTER + 1)
    reaper.reap(lambda pk: None)
    assert Submission.objects.get(pk=queued.pk).requeues == 0


def test_the_reaper_restarts_a_submission_whose_worker_died(
        queued, settings, enqueued, django_capture_on_commit_callbacks):
    claim(queued.pk)
    age(queued, heartbeat_at=settings.ELUE_STALE_AFTER + 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert reaper.reap(tasks.enqueue_evaluation).restarted == 1
    queued.refresh_from_db()
    assert queued.status == Status.QUEUED and enqueued == [queued.pk]
    assert queued.events.last().message == "worker lost; queued again"


def test_the_reaper_gives_up_after_repeated_worker_losses(queued, settings, enqueued):
    settings.ELUE_MAX_ATTEMPTS = 1
    claim(queued.pk)
    age(queued, heartbeat_at=settings.ELUE_STALE_AFTER + 1)
    assert reaper.reap(tasks.enqueue_evaluation).failed == 1
    queued.refresh_from_db()
    assert queued.status == Status.FAILED and queued.platform_fault
    assert "lost 1 times" in queued.failure_reason


def test_the_reaper_fails_a_submission_past_the_hard_limit(queued, settings, enqueued):
    claim(queued.pk)
    age(queued, started_at=settings.CELERY_TASK_TIME_LIMIT + 1)
    assert reaper.reap(tasks.enqueue_evaluation).failed == 1
    queued.refresh_from_db()
    assert queued.status == Status.FAILED and "hard limit" in queued.failure_reason


def test_the_reaper_leaves_healthy_submissions_alone(queued, enqueued):
    claim(queued.pk)
    assert reaper.reap(tasks.enqueue_evaluation) == reaper.ReapResult(0, 0, 0)


def test_torch_threads_share_the_cores_between_worker_processes():
    assert threads_per_process(8, 2) == 4
    assert threads_per_process(2, 4) == 1
    assert threads_per_process(None, 1) == 1


def test_a_failed_heartbeat_write_does_not_stop_the_heartbeat(monkeypatch, settings):
    """SQLite answers "database is locked" while another process writes: that beat is lost,
    the next ones are written (a dead heartbeat thread would let the reaper take the
    evaluation back while it still runs)."""
    from django.db import OperationalError

    beats: list[str] = []

    class Rows:
        def update(self, **fields):
            beats.append("written" if beats else "locked")
            if len(beats) == 1:
                raise OperationalError("database is locked")
            return 1

    monkeypatch.setattr(pipeline, "holding", lambda claim: Rows())
    settings.ELUE_HEARTBEAT_SECONDS = 0.01
    with pipeline.Heartbeat(pipeline.Claim(submission_id=1, attempt=1)) as heartbeat:
        for _ in range(500):
            if beats.count("written") >= 2:
                break
            heartbeat.stopped.wait(0.01)
        alive = heartbeat.thread.is_alive()
    assert beats[0] == "locked" and beats.count("written") >= 2 and alive
