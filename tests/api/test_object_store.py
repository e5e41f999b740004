"""Submissions with an S3-compatible store (SeaweedFS on loopback): the upload is stored in
the bucket, not on this machine; the owner's actions (resubmit, delete) work from there; a
failed upload leaves nothing behind; the task inputs download from it."""

from __future__ import annotations

import pytest

from evaluator.benchmark import TASKS
from leaderboard.models import Submission
from leaderboard.testdata import import_test_data
from tests.api.conftest import errors
from tests.api.test_submissions import upload
from tests.conftest import ELUE_DATA_DIR

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_bucket(object_store, s3_server, seeded, settings, tmp_path):
    """The S3 store with SST-2 and MRPC stored in it, and no local upload or data folder:
    a key lister for this test's prefix."""
    settings.MEDIA_ROOT = tmp_path / "no-uploads-here"
    settings.ELUE_DATA_ROOT = tmp_path / "no-data-here"
    import_test_data(ELUE_DATA_DIR, [TASKS["sst-2"], TASKS["mrpc"]])
    prefix = object_store.rsplit("/", 1)[1]
    return lambda folder: s3_server.object_keys(f"{prefix}/{folder}/")


def test_an_upload_is_stored_in_the_bucket_and_deleted_from_it(as_alice, in_bucket,
                                                               bundle_zip, enqueued, tmp_path):
    response = upload(as_alice, bundle_zip)
    assert response.status_code == 201, response.content
    stored = Submission.objects.get().bundle
    [key] = in_bucket("uploads")
    assert key.endswith(f"/uploads/{stored}")
    assert not (tmp_path / "no-uploads-here").exists()
    submission = Submission.objects.get()
    as_alice.post(f"/api/v1/submissions/{submission.pk}/cancel/")
    again = as_alice.post(f"/api/v1/submissions/{submission.pk}/resubmit/")
    assert again.status_code == 201, again.content
    assert len(in_bucket("uploads")) == 2
    assert as_alice.delete(f"/api/v1/submissions/{submission.pk}/").status_code == 204
    assert len(in_bucket("uploads")) == 1


def test_a_refused_upload_stores_nothing(as_alice, in_bucket, tmp_path):
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"not a zip")
    response = upload(as_alice, broken)
    assert response.status_code == 400 and errors(response)
    assert in_bucket("uploads") == []


def test_a_submission_that_cannot_be_created_removes_its_upload(as_alice, in_bucket,
                                                                bundle_zip, monkeypatch):
    from django.db import OperationalError

    from leaderboard.api.views import submissions as views

    def database_gone(*args, **kwargs):
        raise OperationalError("connection to server was lost")

    monkeypatch.setattr(views, "create_submission", database_gone)
    assert upload(as_alice, bundle_zip, key="gone").status_code == 503
    assert in_bucket("uploads") == []


def test_the_task_inputs_come_from_the_bucket_and_the_labels_never(anon, in_bucket):
    assert sorted(k.rsplit("/data/", 1)[1] for k in in_bucket("data")) == [
        "MRPC/test.tsv", "MRPC/test_full.tsv", "SST-2/test.tsv", "SST-2/test_full.tsv"]
    response = anon.get("/api/v1/tasks/sst-2/inputs/")
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body == (ELUE_DATA_DIR / "SST-2" / "test.tsv").read_bytes()
    assert anon.get("/tasks/sst-2/test-inputs.tsv").status_code == 200
