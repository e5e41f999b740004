"""Whose fault a failed evaluation is (issue "Benchmark integrity", finding 3), and the
secret seed of the re-run sample (finding 4), with the worker's task run in-process."""

from __future__ import annotations

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from evaluator.running.agreement import sample_indices
from leaderboard import tasks
from leaderboard.models import Entry, Submission
from leaderboard.submissions import submit_bundle
from leaderboard.tasks import evaluate_submission
from tests.api.conftest import client_for
from tests.evaluator.builders import declared_folder

pytestmark = pytest.mark.django_db
Status = Submission.Status


def submit(owner, folder):
    return submit_bundle(owner, folder, name="Tiny")


def time_out(ran_code: bool):
    """A stand-in evaluation that hits the soft limit, after running submitted code or not."""
    def run(claim, submission, reference, options):
        options.budget.ran_code = ran_code
        raise SoftTimeLimitExceeded()
    return run


@pytest.mark.parametrize("ran_code, refunded", [(False, True), (True, False)])
def test_a_time_out_counts_against_the_quota_once_submitted_code_ran(
        alice, stored, tmp_path, enqueued, monkeypatch, ran_code, refunded):
    submission = submit(alice, declared_folder(tmp_path / "b"))
    monkeypatch.setattr(tasks, "run_evaluation", time_out(ran_code))
    assert evaluate_submission.apply(args=[submission.pk]).get() == "timed out"
    submission.refresh_from_db()
    assert submission.status == Status.FAILED and submission.platform_fault is refunded
    counted = Submission.objects.counted_for_quota(alice, submission.created_at)
    assert (submission in counted) is not refunded


def test_every_evaluation_has_a_sandbox_budget_below_the_soft_limit(settings):
    options = tasks.model_run_options(seed=1)
    assert options.budget.total == settings.ELUE_SANDBOX_BUDGET_SECONDS
    assert options.budget.total + 60 <= settings.CELERY_TASK_SOFT_TIME_LIMIT
    assert tasks.model_run_options().budget is not options.budget  # one per evaluation


def evaluate_again(submission: Submission) -> None:
    """Put a scored submission back in the queue, as a re-evaluation would."""
    Entry.objects.filter(pk=submission.entry_id).delete()
    Submission.objects.filter(pk=submission.pk).update(status=Status.QUEUED)
    assert evaluate_submission.apply(args=[submission.pk]).get() == "scored"


def test_each_evaluation_draws_a_secret_seed_kept_and_never_shown(alice, stored, tmp_path,
                                                                  enqueued, monkeypatch):
    used = []
    real = tasks.run_evaluation

    def spy(claim, submission, reference, options):
        used.append(options.seed)
        return real(claim, submission, reference, options)

    monkeypatch.setattr(tasks, "run_evaluation", spy)
    submission = submit(alice, declared_folder(tmp_path / "b"))
    assert evaluate_submission.apply(args=[submission.pk]).get() == "scored"
    submission.refresh_from_db()
    assert submission.rerun_seed == used[0]
    evaluate_again(submission)
    submission.refresh_from_db()
    assert submission.rerun_seed == used[1] != used[0]
    # Neither the submission id nor anything a submitter sees predicts the sample.
    assert used[0] != submission.pk and used[0] > 2 ** 32
    assert list(sample_indices(1725, 200, used[0])) != list(sample_indices(1725, 200, used[1]))
    owner = client_for(alice)
    shown = [owner.get(f"/api/v1/submissions/{submission.pk}/"),
             owner.get(f"/api/v1/entries/{submission.entry_id}/"),
             owner.get(f"/entries/{submission.entry_id}/"),
             owner.get("/api/v1/submissions/")]
    for response in shown:
        assert response.status_code == 200
        body = response.content.decode()
        assert str(used[0]) not in body and str(used[1]) not in body
        assert "rerun_seed" not in body
