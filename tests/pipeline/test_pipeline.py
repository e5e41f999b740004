"""The submission pipeline end to end with real components: uploads checked in this process,
a private Redis (or the embedded filesystem broker), real Celery worker processes killed with
``kill -9``, and the test database they share (SQLite file or PostgreSQL)."""

from __future__ import annotations

import re
import time

import pytest

from evaluator.checker import check
from evaluator.errors import SubmissionInvalid
from leaderboard.board import public_rows
from leaderboard.models import Entry, ReferenceVersion, Submission, SubmissionEvent, TaskScore
from leaderboard.reaper import reap
from leaderboard.submissions import submit_bundle
from leaderboard.tasks import enqueue_evaluation, rescore_entries
from tests.conftest import ELUE_DATA_DIR
from tests.pipeline.bundles import declared_bundle, malformed_bundle, verified_bundle
from tests.pipeline.harness import wait_for
from tests.stack import describe, finished

pytestmark = [pytest.mark.slow,
              pytest.mark.django_db(transaction=True)]

Status = Submission.Status
# A BERT-base definition over three tasks with three label counts: three cost models to fit,
# several seconds of a worker's time.
VERIFIED_TASKS = ("sst-2", "mrpc", "snli")
# ElasticBERT-BASE at 12 layers (docs/benchmarks.md): what the platform must count.
BERT_BASE_MFLOPS = {"sst-2": 4237.56, "mrpc": 9116.74, "snli": 4694.90}


def leaderboard_row(entry: Entry):
    rows = [r for r in public_rows() if r.entry.pk == entry.pk]
    assert len(rows) == 1, f"{entry} is not on the leaderboard once: {rows}"
    return rows[0]


def is_running(submission: Submission) -> bool:
    submission.refresh_from_db()
    return submission.status == Status.RUNNING


def assert_scored_once(submission: Submission) -> None:
    assert submission.status == Status.SCORED, describe(submission)
    assert submission.entry_id is not None
    assert Entry.objects.filter(owner=submission.owner, name=submission.name).count() == 1


def test_the_test_process_and_a_worker_share_the_broker_and_database(redis_stack, workers):
    """The harness itself: a light task enqueued here runs in a worker process, on the
    test database."""
    scores = TaskScore.objects.count()
    assert scores > 0
    TaskScore.objects.all().delete()
    rescore_entries.delay(ReferenceVersion.objects.current().pk)
    workers.start()
    wait_for(lambda: TaskScore.objects.count() == scores, 60,
             what=lambda: f"{TaskScore.objects.count()} of {scores} scores back")


@pytest.mark.parametrize("broker", ["redis_stack", "filesystem_stack"])
def test_a_declared_cost_submission_is_scored_as_the_checker_scores_it(
        broker, request, workers, alice, client, tmp_path):
    stack = request.getfixturevalue(broker)
    bundle = declared_bundle(tmp_path / "distilled-6l.zip")
    workers.start()

    submission = submit_bundle(alice, bundle, name="Distilled-6L", affiliation="Example Lab")
    assert submission.status == Status.QUEUED
    assert len(stack.uploaded_files()) == 1
    submission = finished(submission, workers=workers)

    assert_scored_once(submission)
    assert submission.attempts == 1 and submission.finished_at is not None
    expected = check(bundle, ELUE_DATA_DIR)
    entry = submission.entry
    assert (entry.kind, entry.owner, entry.affiliation) == ("declared", alice, "Example Lab")
    stored = {(p.task.slug, p.name): p for p in entry.points.select_related("task")}
    assert len(stored) == sum(len(t.points) for t in expected.tasks) == 5
    for task in expected.tasks:
        for point in task.points:
            got = stored[task.task, point.point or "static"]
            assert got.performance == pytest.approx(point.performance, abs=1e-9)
            assert 80 < got.performance < 100  # every 7th prediction is wrong
            assert (got.mflops, got.mparams, got.mflops_basis) == (point.mflops, 66.96,
                                                                    "declared")
    row = leaderboard_row(entry)
    assert row.task_scores == pytest.approx({t.task: t.score for t in expected.tasks})
    assert row.overall == pytest.approx(expected.overall)
    assert {s.reference_version for s in entry.scores.all()} == {
        ReferenceVersion.objects.current()}
    html = client.get("/").content.decode()
    assert 'data-entry="Distilled-6L"' in html
    statuses = [e.status for e in submission.events.all()]
    assert statuses[:4] == ["received", "validating", "queued", "running"], statuses
    assert statuses[-1] == "scored" and set(statuses[4:-1]) <= {"running"}, statuses


def test_a_malformed_upload_is_refused_before_queueing(redis_stack, redis_server, alice,
                                                       tmp_path):
    with pytest.raises(SubmissionInvalid) as refused:
        submit_bundle(alice, malformed_bundle(tmp_path / "broken.zip"), name="Broken")

    found = {(p.file, p.line, p.code) for p in refused.value.problems}
    messages = [str(p) for p in refused.value.problems]
    assert 'mrpc.tsv line 3: prediction "yes" is not one of 0, 1' in messages
    assert "mrpc.tsv line 6: index 3 appears twice (first on line 5)" in messages
    assert any(m.startswith("snli.tsv: 9,820 rows, expected 9,824") for m in messages), messages
    assert all(file in ("mrpc.tsv", "snli.tsv") for file, _, _ in found)
    assert Submission.objects.count() == 0 and SubmissionEvent.objects.count() == 0
    assert Entry.objects.filter(owner=alice).count() == 0
    assert redis_stack.uploaded_files() == []
    assert redis_server.queue_length("evaluation") == 0


def test_killing_the_pool_process_mid_evaluation_loses_nothing(redis_stack, workers, alice,
                                                               tmp_path):
    bundle = verified_bundle(tmp_path / "bert-base.zip", VERIFIED_TASKS)
    worker = workers.start()
    submission = submit_bundle(alice, bundle, name="BERT-base")
    wait_for(lambda: is_running(submission), 60, 0.1, lambda: describe(submission))
    time.sleep(1)  # well into the evaluation (tokenising, fitting the cost models)

    killed = worker.kill_pool_child()
    submission.refresh_from_db()
    assert submission.status == Status.RUNNING, describe(submission)
    submission = finished(submission, 150, workers)

    assert_scored_once(submission)
    assert killed not in worker.pool_children()  # the pool replaced the killed process
    # The redelivered message found a fresh heartbeat, waited for it to go stale, claimed.
    assert submission.attempts == 2, describe(submission)
    assert submission.events.filter(message__contains="attempt 2 started").count() == 1
    points = {p.task.slug: p for p in submission.entry.points.select_related("task")}
    assert submission.entry.points.count() == len(VERIFIED_TASKS)
    assert {slug: round(p.mflops, 2) for slug, p in points.items()} == BERT_BASE_MFLOPS
    assert {p.mflops_basis for p in points.values()} == {"counted"}


def test_killing_the_worker_mid_evaluation_then_starting_another_loses_nothing(
        redis_stack, workers, alice, tmp_path):
    bundle = verified_bundle(tmp_path / "bert-base.zip", VERIFIED_TASKS)
    first = workers.start()
    submission = submit_bundle(alice, bundle, name="BERT-base")
    wait_for(lambda: is_running(submission), 60, 0.1, lambda: describe(submission))
    time.sleep(1)

    first.kill()
    assert first.process.returncode == -9
    workers.start()
    # Redis keeps the dead worker's message unacknowledged for the visibility timeout (half
    # an hour); the reaper sees the silent heartbeat (ELUE_STALE_AFTER = 4 s) and queues the
    # submission again.
    wait_for(lambda: reap(enqueue_evaluation).restarted == 1, 30, 0.5, lambda: describe(submission))
    submission = finished(submission, 150, workers)

    assert_scored_once(submission)
    assert submission.attempts == 2, describe(submission)
    assert submission.events.filter(message="worker lost; queued again").count() == 1
    assert reap(enqueue_evaluation).restarted == 0
    # The killed attempt's working directory (the unpacked bundle) did not outlive it.
    assert redis_stack.attempt_directories() == []


def test_a_submission_made_while_redis_is_down_is_scored_once_it_is_back(
        redis_stack, redis_server, workers, alice, tmp_path):
    bundle = declared_bundle(tmp_path / "distilled-6l.zip")
    workers.start()
    redis_server.stop()

    submission = submit_bundle(alice, bundle, name="Distilled-6L")
    submission.refresh_from_db()
    assert submission.status == Status.QUEUED
    assert len(redis_stack.uploaded_files()) == 1

    redis_server.start()  # empty: the message never reached it
    assert redis_server.queue_length("evaluation") == 0
    time.sleep(3)
    submission.refresh_from_db()
    assert submission.status == Status.QUEUED  # nobody enqueued it but the reaper will
    # Queued longer than ELUE_REQUEUE_AFTER (2 s): the reaper enqueues it again.
    assert reap(enqueue_evaluation).requeued == 1
    submission = finished(submission, 60, workers)

    assert_scored_once(submission)
    assert submission.attempts == 1


def test_two_workers_drain_twenty_submissions_each_scored_exactly_once(
        redis_stack, redis_server, workers, alice, tmp_path):
    bundles = [declared_bundle(tmp_path / f"model-{seed}.zip", seed=seed) for seed in range(4)]
    submissions = [submit_bundle(alice, bundles[i % 4], name=f"Model {i:02d}")
                   for i in range(20)]
    assert redis_server.queue_length("evaluation") == 20

    pair = [workers.start(ready=False), workers.start(ready=False)]
    for worker in pair:
        worker.wait_ready()
    for submission in submissions:
        finished(submission, 120, workers)

    assert [s.status for s in submissions] == [Status.SCORED] * 20
    assert [s.attempts for s in submissions] == [1] * 20
    entries = Entry.objects.filter(owner=alice)
    assert entries.count() == 20
    assert sorted(s.entry_id for s in submissions) == sorted(entries.values_list("pk", flat=True))
    assert TaskScore.objects.filter(entry__owner=alice).count() == 20 * 5
    done = [len(re.findall(r"evaluate_submission\[[^\]]+\] succeeded in [\d.]+s: 'scored'",
                           w.output())) for w in pair]
    assert sum(done) == 20 and min(done) > 0, done  # both worked, no message ran twice


def test_two_worker_machines_share_only_the_database_redis_and_the_object_store(
        object_store, s3_server, redis_stack, workers, alice, tmp_path):
    """Each worker has its own ELUE_VAR_DIR, upload and data folders and temporary folder
    (another machine); uploads and the hidden test data are only in the S3 store. Each
    worker downloads what a submission needs into scratch space and removes it after."""
    machines = []
    for name in ("a", "b"):
        var = tmp_path / f"machine-{name}"
        (var / "tmp").mkdir(parents=True)
        redis_stack.env.update(ELUE_STORAGE_URL=object_store, ELUE_VAR_DIR=str(var),
                               ELUE_UPLOAD_DIR=str(var / "uploads"),
                               ELUE_DATA_ROOT=str(var / "data"), TMPDIR=str(var / "tmp"))
        machines.append((var, workers.start(ready=False)))
    for _, worker in machines:
        worker.wait_ready()
    bundles = [declared_bundle(tmp_path / f"model-{seed}.zip", seed=seed) for seed in range(4)]
    submissions = [submit_bundle(alice, bundles[i % 4], name=f"Model {i}") for i in range(8)]
    for submission in submissions:
        assert_scored_once(finished(submission, 120, workers))

    prefix = object_store.rsplit("/", 1)[1]
    assert len(s3_server.object_keys(f"{prefix}/uploads/")) == 8
    assert len(s3_server.object_keys(f"{prefix}/data/")) == 10  # five tasks, inputs and labels
    assert redis_stack.uploaded_files() == []  # nothing in the shared folder of old
    done = [len(re.findall(r"succeeded in [\d.]+s: 'scored'", w.output())) for _, w in machines]
    assert sum(done) == 8 and min(done) > 0, done
    for var, _ in machines:
        assert not (var / "uploads").exists() and not (var / "data").exists()
        assert list((var / "tmp").glob("elue-*")) == []  # scratch space removed
