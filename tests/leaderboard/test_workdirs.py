"""Working directories of evaluation attempts: named per submission and attempt, swept once
the attempt no longer runs (a killed worker cannot remove its own)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from leaderboard import reaper, tasks, workdirs
from leaderboard.models import Entry, Submission
from leaderboard.pipeline import claim

pytestmark = pytest.mark.django_db
Status = Submission.Status


@pytest.fixture(autouse=True)
def own_work_root(settings, tmp_path):
    settings.ELUE_WORK_DIR = tmp_path / "work"


def submission(owner) -> Submission:
    return Submission.objects.create(owner=owner, name="M", kind=Entry.Kind.DECLARED,
                                     bundle="x.zip", status=Status.QUEUED,
                                     enqueued_at=timezone.now())


def left_behind(submission_id: int, attempt: int):
    """What a worker killed mid-attempt leaves: its directory, with files in it."""
    with workdirs.attempt_directory(submission_id, attempt) as path:
        kept = path.with_name(path.name + "kept")
        path.rename(kept)
    (kept / "bundle").mkdir()
    (kept / "bundle" / "sst-2.tsv").write_text("index\tprediction\n")
    return kept


def test_an_attempt_works_in_a_directory_named_for_it_and_removes_it(alice):
    with workdirs.attempt_directory(42, 3) as path:
        assert path.parent == workdirs.work_root() and path.name.startswith("elue-sub-42-a3-")
    assert not path.exists()


def test_the_sweep_keeps_running_attempts_and_removes_the_rest(alice):
    running, finished = submission(alice), submission(alice)
    attempt = claim(running.pk)
    live = left_behind(running.pk, attempt.attempt)
    superseded = left_behind(running.pk, attempt.attempt - 1 or 99)
    done = left_behind(finished.pk, 1)
    Submission.objects.filter(pk=finished.pk).update(status=Status.SCORED)
    gone = left_behind(987654, 1)  # its submission was deleted
    other = workdirs.work_root() / "not-ours"
    other.mkdir()
    assert workdirs.sweep() == 3
    assert live.is_dir() and other.is_dir()
    assert not superseded.exists() and not done.exists() and not gone.exists()


def test_the_reaper_and_a_starting_worker_sweep(alice):
    orphan = left_behind(submission(alice).pk, 1)
    assert reaper.reap(tasks.enqueue_evaluation).swept == 1 and not orphan.exists()
    orphan = left_behind(submission(alice).pk, 1)
    tasks.sweep_on_start()
    assert not orphan.exists()
