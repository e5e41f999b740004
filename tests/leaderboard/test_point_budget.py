"""The quota counts scored points, not only submissions; points near-identical to the
account's earlier ones are refused; the records kept for that are never shown; scores are
stored at the paper's precision; and only a confirmed account submits, whichever way."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib import admin
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import F
from rest_framework.test import APIClient

from evaluator.benchmark import TASKS
from evaluator.bundle.point_rules import PredictionRecord, encode
from evaluator.errors import SubmissionInvalid
from leaderboard.accounts import EmailNotConfirmed
from leaderboard.actions import delete_submission
from leaderboard.models import Entry, OperatingPoint, PointRecord, Submission, TaskScore
from leaderboard.probing import record_model_points
from leaderboard.published import PublishedPoint, create_published_entry
from leaderboard.submissions import QuotaExceeded, submit_bundle
from leaderboard.tasks import evaluate_submission
from tests.evaluator.builders import PREDICTION_HEADER, true_labels, tsv, write

pytestmark = pytest.mark.django_db


def curve(folder, count: int, slug: str = "sst-2", shift: int = 0):
    """A declared-cost dynamic curve of ``count`` points on ``slug``, each 50 examples
    further from the labels than the last (far enough apart to be accepted)."""
    labels = list(true_labels(slug))
    costs = {}
    for i in range(count):
        values = list(labels)
        for j in range(shift, shift + 50 * (i + 1)):
            values[j] = TASKS[slug].labels[(TASKS[slug].labels.index(values[j]) + 1) % 2]
        write(folder, f"{slug}_0.{i + 10}.tsv", tsv(PREDICTION_HEADER, values))
        costs[f"{slug}_0.{i + 10}"] = {"mflops": 1000.0 + 10 * i, "mparams": 50.0}
    write(folder, "costs.json", json.dumps(costs))
    return folder


def submit(owner, folder, **kwargs):
    return submit_bundle(owner, folder, name=kwargs.pop("name", "Curve"), **kwargs)


def days_pass(owner, days: int) -> None:
    for model in (Submission, PointRecord):
        model.objects.filter(owner=owner).update(created_at=F("created_at") - timedelta(days))


def test_the_daily_budget_counts_points_and_says_when_it_frees(alice, stored, tmp_path,
                                                               settings, enqueued):
    settings.ELUE_DAILY_POINTS = 20
    first = submit(alice, curve(tmp_path / "a", 12))
    assert first.points_by_task == {"sst-2": 12}
    with pytest.raises(QuotaExceeded) as error:
        submit(alice, curve(tmp_path / "b", 9, shift=1000))
    assert error.value.name == "daily_points" and error.value.limit == 20
    assert str(error.value).startswith("daily limit of 20 scored points reached: this "
                                       "submission has 9 and your submissions of the last "
                                       "24 hours have 12")
    assert error.value.resets_at == first.created_at + timedelta(days=1)
    submit(alice, curve(tmp_path / "c", 8, shift=1000))  # 20 fit
    days_pass(alice, 1)
    submit(alice, curve(tmp_path / "d", 9, shift=1500))


def test_the_monthly_budget_counts_points_per_task(alice, stored, tmp_path, settings,
                                                   enqueued):
    settings.ELUE_MONTHLY_POINTS_PER_TASK = 20
    first = submit(alice, curve(tmp_path / "a", 16))
    days_pass(alice, 3)
    with pytest.raises(QuotaExceeded) as error:
        submit(alice, curve(tmp_path / "b", 5, shift=1000))
    assert error.value.name == "monthly_points"
    first.refresh_from_db()
    assert error.value.resets_at == first.created_at + timedelta(days=30)
    assert "limit of 20 scored points on SST-2 per 30 days reached" in str(error.value)
    submit(alice, curve(tmp_path / "c", 4, shift=1000, slug="mrpc"))  # another task's budget
    days_pass(alice, 27)
    submit(alice, curve(tmp_path / "d", 5, shift=1000))


def test_points_of_platform_faults_are_given_back(alice, stored, tmp_path, settings, enqueued):
    settings.ELUE_DAILY_POINTS = 16
    first = submit(alice, curve(tmp_path / "a", 16))
    Submission.objects.filter(pk=first.pk).update(status="failed", platform_fault=True)
    submit(alice, curve(tmp_path / "b", 16, shift=1000))


def test_a_submission_larger_than_a_budget_says_so(alice, stored, tmp_path, settings,
                                                  enqueued):
    settings.ELUE_DAILY_POINTS = 10
    with pytest.raises(QuotaExceeded) as error:
        submit(alice, curve(tmp_path / "a", 12))
    assert error.value.resets_at is None and "submit fewer points at once" in str(error.value)


def test_points_near_earlier_ones_are_refused_even_after_deleting(alice, stored, tmp_path,
                                                                  enqueued):
    first = submit(alice, curve(tmp_path / "a", 2))
    labels = list(true_labels("sst-2"))
    # 45 of the 50 examples the first point changed: 5 examples from it.
    write(tmp_path / "b", "sst-2.tsv", tsv(PREDICTION_HEADER, [
        "1" if v == "0" else "0" for v in labels[:45]] + labels[45:]))
    write(tmp_path / "b", "costs.json", json.dumps({"sst-2": {"mflops": 900, "mparams": 9}}))
    delete_submission(first)
    with pytest.raises(SubmissionInvalid) as error:
        submit(alice, tmp_path / "b")
    [problem] = error.value.problems
    assert (problem.code, problem.file) == ("near_identical_points", "sst-2.tsv")
    assert f"sst-2_0.10.tsv of your submission {first.pk}" in problem.message
    assert Submission.objects.filter(owner=alice).count() == 1  # nothing stored
    submit(alice, curve(tmp_path / "c", 2))  # identical predictions: nothing new, accepted


def test_another_account_or_a_month_later_is_not_compared(alice, bob, stored, tmp_path,
                                                         enqueued):
    submit(alice, curve(tmp_path / "a", 1))
    near = curve(tmp_path / "b", 1, shift=3)  # 3 examples from alice's point
    submit(bob, near)
    with pytest.raises(SubmissionInvalid):
        submit(alice, near)
    days_pass(alice, 30)
    submit(alice, near)


def test_a_model_run_is_compared_before_anything_is_recorded(alice, stored):
    submission = Submission.objects.create(owner=alice, name="Run", kind=Entry.Kind.MODEL,
                                           bundle="x.zip", status="running")
    labels = list(true_labels("mrpc"))
    record = PredictionRecord("mrpc", "0.5", "mrpc_0.5.tsv", encode(TASKS["mrpc"], labels))
    record_model_points(submission, [record])
    record_model_points(submission, [record])  # a redelivery replaces, never compares itself
    assert PointRecord.objects.filter(submission=submission).count() == 1
    later = Submission.objects.create(owner=alice, name="Run 2", kind=Entry.Kind.MODEL,
                                      bundle="y.zip", status="running")
    labels[0] = "1" if labels[0] == "0" else "0"
    with pytest.raises(SubmissionInvalid) as error:
        record_model_points(later, [PredictionRecord("mrpc", "0.6", "mrpc_0.6.tsv",
                                                     encode(TASKS["mrpc"], labels))])
    assert error.value.problems[0].code == "near_identical_points"
    assert not PointRecord.objects.filter(submission=later).exists()


def test_the_records_are_never_shown(alice, stored, tmp_path, enqueued):
    """Nor anything else per example: no answer holds a list as long as a test set."""
    submission = submit(alice, curve(tmp_path / "a", 2))
    evaluate_submission.run(submission.pk)
    assert PointRecord.objects.filter(submission=submission).count() == 2
    assert PointRecord not in admin.site._registry
    api = APIClient()
    api.force_authenticate(alice)
    submission.refresh_from_db()
    for body in (api.get(f"/api/v1/submissions/{submission.pk}/").json(),
                 api.get(f"/api/v1/entries/{submission.entry_id}/").json()):
        assert "predictions" not in json.dumps(body)
        assert max(list_lengths(body)) < 100


def list_lengths(value) -> list[int]:
    """The length of every list in a JSON value (0 for none)."""
    if isinstance(value, dict):
        return [0, *(n for item in value.values() for n in list_lengths(item))]
    if isinstance(value, list):
        return [len(value), *(n for item in value for n in list_lengths(item))]
    return [0]


def test_stored_numbers_have_the_papers_precision(alice, stored, tmp_path, enqueued):
    submission = submit(alice, curve(tmp_path / "a", 3))
    evaluate_submission.run(submission.pk)
    submission.refresh_from_db()
    performances = list(OperatingPoint.objects.filter(entry=submission.entry)
                        .values_list("performance", flat=True))
    assert performances == [round(p, 1) for p in performances]
    assert any(p != 100.0 for p in performances)
    [score] = TaskScore.objects.filter(entry=submission.entry)
    assert score.score == round(score.score, 2)
    log = " ".join(submission.events.values_list("message", flat=True))
    assert f"ELUE score {score.score:+.2f}" in log


# --- the door: a confirmed address before any submission ----------------------------------

def test_an_unconfirmed_account_cannot_submit_anything(carl, stored, tmp_path, enqueued):
    folder = curve(tmp_path / "a", 1)
    with pytest.raises(EmailNotConfirmed, match="confirm your e-mail address before "
                                                "submitting: open the link ELUE sent to "
                                                "carl@example.org"):
        submit(carl, folder)
    with pytest.raises(EmailNotConfirmed):
        create_published_entry(carl, [PublishedPoint("sst-2", "6L", 2000.0, 88.1, 60.0,
                                                     "declared", "")], name="Paper")
    with pytest.raises(CommandError, match="confirm your e-mail address"):
        call_command("elue_submit", str(folder), "--user", "carl", "--name", "X")
    assert not Submission.objects.exists() and not Entry.objects.filter(owner=carl).exists()


def test_an_operator_confirms_by_hand_and_a_changed_address_needs_confirming_again(
        carl, stored, tmp_path, enqueued):
    out = StringIO()
    call_command("elue_confirm_email", "carl", stdout=out)
    assert "carl@example.org confirmed" in out.getvalue()
    submit(carl, curve(tmp_path / "a", 1))
    carl.email = "carl@elsewhere.example.org"
    carl.save()
    with pytest.raises(EmailNotConfirmed):
        submit(carl, curve(tmp_path / "b", 1))
