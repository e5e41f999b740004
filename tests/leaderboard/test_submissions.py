"""Receiving submissions, and the worker's evaluation run in-process (no broker)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from evaluator.checker import check
from evaluator.errors import SubmissionInvalid
from leaderboard.actions import cancel
from leaderboard.models import Entry, Submission, TestData
from leaderboard.submissions import QuotaExceeded, submit_bundle
from leaderboard.tasks import evaluate_submission
from leaderboard.testdata import import_test_data
from tests.conftest import ELUE_DATA_DIR
from tests.evaluator.builders import (
    PREDICTION_HEADER,
    declared_folder,
    true_labels,
    tsv,
    write,
)

pytestmark = pytest.mark.django_db
Status = Submission.Status





def submit(owner, folder, **kwargs):
    return submit_bundle(owner, folder, name=kwargs.pop("name", "Tiny"), **kwargs)


def test_it_queues_a_valid_upload(alice, stored, tmp_path, enqueued,
                                  django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        submission = submit(alice, declared_folder(tmp_path / "b"))
    assert submission.status == Status.QUEUED and submission.kind == Entry.Kind.DECLARED
    assert enqueued == [submission.pk]
    assert [e.status for e in submission.events.all()] == ["received", "validating", "queued"]
    assert (stored / submission.bundle).is_file()


def test_it_refuses_a_broken_upload_and_stores_nothing(alice, stored, tmp_path, enqueued):
    folder = declared_folder(tmp_path / "b")
    labels = list(true_labels("mrpc"))
    labels[1] = "yes"
    write(folder, "mrpc.tsv", tsv(PREDICTION_HEADER, labels))
    with pytest.raises(SubmissionInvalid) as error:
        submit(alice, folder)
    assert 'mrpc.tsv line 3: prediction "yes" is not one of 0, 1' in str(error.value)
    assert not Submission.objects.exists() and enqueued == []
    assert not (stored / "submissions").exists() or not any((stored / "submissions").iterdir())


def test_it_refuses_tasks_without_test_data_on_the_server(alice, stored, tmp_path):
    with pytest.raises(SubmissionInvalid) as error:
        submit(alice, declared_folder(tmp_path / "b", ("sst-2", "snli")))
    [problem] = error.value.problems
    assert (problem.code, problem.file) == ("task_not_available", "snli.tsv")


def test_it_enforces_the_daily_quota(alice, stored, tmp_path, settings, enqueued):
    settings.ELUE_DAILY_SUBMISSIONS = 2
    folder = declared_folder(tmp_path / "b")
    first = submit(alice, folder)
    submit(alice, folder)
    with pytest.raises(QuotaExceeded) as error:
        submit(alice, folder)
    assert error.value.resets_at == first.created_at + timedelta(days=1)
    # A failure that was the platform's fault gives the submission back.
    Submission.objects.filter(pk=first.pk).update(status=Status.FAILED, platform_fault=True)
    submit(alice, folder)


def test_the_worker_scores_it_like_the_offline_checker(alice, stored, tmp_path, enqueued):
    folder = declared_folder(tmp_path / "b")
    submission = submit(alice, folder)
    assert evaluate_submission.apply(args=[submission.pk]).get() == "scored"
    submission.refresh_from_db()
    expected = check(folder, ELUE_DATA_DIR)
    assert submission.status == Status.SCORED and submission.attempts == 1
    scores = {s.task.slug: s.score for s in submission.entry.scores.select_related("task")}
    assert scores == {t.task: pytest.approx(t.score) for t in expected.tasks}
    point = submission.entry.points.get(task__slug="sst-2")
    assert (point.performance, point.mflops, point.mflops_basis) == (100.0, 2000.0, "declared")
    assert submission.events.last().message.startswith("scored on 2 task(s): ELUE score")


def test_a_second_delivery_does_nothing(alice, stored, tmp_path, enqueued):
    submission = submit(alice, declared_folder(tmp_path / "b"))
    evaluate_submission.apply(args=[submission.pk])
    assert evaluate_submission.apply(args=[submission.pk]).get() == "nothing to do"
    assert Entry.objects.filter(owner=alice).count() == 1


def test_a_cancelled_submission_is_not_evaluated(alice, stored, tmp_path, enqueued):
    submission = submit(alice, declared_folder(tmp_path / "b"))
    assert cancel(submission)
    assert evaluate_submission.apply(args=[submission.pk]).get() == "nothing to do"
    submission.refresh_from_db()
    assert submission.status == Status.CANCELLED and submission.entry is None
    assert not cancel(submission)  # final states stay final


def test_missing_server_data_fails_as_the_platforms_fault(alice, stored, tmp_path, enqueued):
    submission = submit(alice, declared_folder(tmp_path / "b"))
    TestData.objects.all().delete()
    (stored.parent / "hidden-data" / "MRPC" / "test_full.tsv").unlink()
    assert evaluate_submission.apply(args=[submission.pk]).get() == "failed"
    submission.refresh_from_db()
    assert submission.status == Status.FAILED and submission.platform_fault
    assert "server's test data for this task is unavailable" in submission.failure_reason
    assert str(stored.parent) not in submission.failure_reason  # no server paths leak


def test_constant_stsb_predictions_fail_with_a_reason(alice, stored, tmp_path, enqueued):
    from evaluator.benchmark import TASKS

    import_test_data(ELUE_DATA_DIR, [TASKS["sts-b"]])
    folder = tmp_path / "b"
    write(folder, "sts-b.tsv", tsv(PREDICTION_HEADER, ["3.0"] * 1379))
    write(folder, "costs.json", json.dumps({"sts-b": {"mflops": 900, "mparams": 10}}))
    submission = submit(alice, folder)
    evaluate_submission.apply(args=[submission.pk])
    submission.refresh_from_db()
    assert submission.status == Status.FAILED
    assert "all 1,379 predictions are the same value" in submission.failure_reason


def test_unexpected_errors_fail_as_the_platforms_fault(alice, stored, tmp_path, enqueued,
                                                       monkeypatch):
    from leaderboard import tasks

    submission = submit(alice, declared_folder(tmp_path / "b"))
    monkeypatch.setattr(tasks, "run_evaluation", lambda *a: 1 / 0)
    assert evaluate_submission.apply(args=[submission.pk]).get() == "error"
    submission.refresh_from_db()
    assert submission.status == Status.FAILED and submission.platform_fault
    assert "does not count against your quota" in submission.failure_reason


def test_it_logs_how_the_evaluation_went(alice, stored, tmp_path, enqueued):
    submission = submit(alice, declared_folder(tmp_path / "b"))
    evaluate_submission.apply(args=[submission.pk])
    messages = [e.message for e in submission.events.all()]
    assert messages[3:] == ["attempt 1 started", "SST-2: scoring", "MRPC: scoring",
                            messages[-1]]
    times = [e.at for e in submission.events.all()]
    assert times == sorted(times) and times[-1] - times[0] < timedelta(minutes=1)
    assert timezone.now() - times[-1] < timedelta(minutes=1)


def test_a_failing_save_is_retried_then_failed_with_the_real_reason(alice, stored, tmp_path,
                                                                    enqueued, monkeypatch):
    from django.db import OperationalError

    from leaderboard import pipeline, tasks

    calls = []

    def locked(claim, report, scored_against, rerun_seed=None):
        calls.append(claim)
        raise OperationalError("database is locked")

    monkeypatch.setattr(pipeline, "record_report", locked)
    monkeypatch.setattr(tasks.time, "sleep", lambda seconds: None)
    submission = submit(alice, declared_folder(tmp_path / "b"))
    assert evaluate_submission.apply(args=[submission.pk]).get() == "error"
    submission.refresh_from_db()
    assert len(calls) == 3
    assert submission.status == Status.FAILED and submission.platform_fault
    assert "while saving the result" in submission.failure_reason


def test_delete_hides_the_submission_removes_its_entry_and_files_but_keeps_the_quota(
        alice, stored, tmp_path, enqueued, settings):
    from leaderboard.actions import delete_submission

    settings.ELUE_DAILY_SUBMISSIONS = 1
    submission = submit(alice, declared_folder(tmp_path / "b"))
    evaluate_submission.run(submission.pk)
    submission.refresh_from_db()
    entry_id = submission.entry_id
    delete_submission(submission)
    assert not Entry.objects.filter(pk=entry_id).exists()
    assert not (stored / submission.bundle).exists()
    assert not Submission.objects.visible_to(alice).exists()
    with pytest.raises(QuotaExceeded):
        submit(alice, declared_folder(tmp_path / "c"))


def test_delete_cancels_a_submission_still_queued(alice, stored, tmp_path, enqueued):
    from leaderboard.actions import delete_submission

    submission = submit(alice, declared_folder(tmp_path / "b"))
    delete_submission(submission)
    submission.refresh_from_db()
    assert submission.status == Status.CANCELLED and submission.deleted_at is not None
    evaluate_submission.run(submission.pk)  # a late message finds nothing to do
    assert not Entry.objects.filter(owner=alice).exists()


def test_visibility_follows_from_submission_to_entry(alice, stored, tmp_path, enqueued):
    from leaderboard.actions import set_visibility

    submission = submit(alice, declared_folder(tmp_path / "b"))
    evaluate_submission.run(submission.pk)
    submission.refresh_from_db()
    set_visibility(submission, Entry.Visibility.PRIVATE)
    assert Entry.objects.get(owner=alice).visibility == "private"
    assert not Entry.objects.public().filter(owner=alice).exists()


def test_resubmit_makes_a_new_submission_of_the_same_files(alice, stored, tmp_path, enqueued):
    from leaderboard.actions import ActionRefused, resubmit

    first = submit(alice, declared_folder(tmp_path / "b"), name="Again")
    with pytest.raises(ActionRefused, match="still queued"):
        resubmit(first)
    cancel(first)
    first.refresh_from_db()
    second = resubmit(first)
    assert second.pk != first.pk and second.name == "Again" and second.bundle != first.bundle
    evaluate_submission.run(second.pk)
    second.refresh_from_db()
    assert second.status == Status.SCORED


def test_a_limit_of_zero_closes_submissions_with_a_reset_time(alice, stored, tmp_path, enqueued,
                                                             settings):
    settings.ELUE_DAILY_SUBMISSIONS = 0
    with pytest.raises(QuotaExceeded) as error:
        submit(alice, declared_folder(tmp_path / "b"))
    assert error.value.limit == 0 and error.value.resets_at > timezone.now()
