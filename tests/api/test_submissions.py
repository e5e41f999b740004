"""Submissions: upload in one request, idempotent retries, quota, and the owner's actions."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from leaderboard.models import IdempotencyRecord, Submission
from leaderboard.submissions import submit_bundle
from tests.api.conftest import errors
from tests.evaluator.builders import (
    declared_folder,
    predictions,
    with_bad_header_offset,
    write,
    zip_folder,
    zip_of_empty_entries,
)

pytestmark = pytest.mark.django_db
Status = Submission.Status


def upload(client, path, key: str | None = None, **fields):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    with open(path, "rb") as handle:
        return client.post("/api/v1/submissions/", {"name": "Tiny", "bundle": handle, **fields},
                           format="multipart", **headers)


def test_it_queues_a_bundle_sent_as_a_zip(as_alice, stored, bundle_zip, enqueued,
                                          django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(as_alice, bundle_zip, visibility="private", affiliation="Lab")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["status"], body["kind"], body["visibility"]) == ("queued", "declared",
                                                                  "private")
    assert [line["status"] for line in body["log"]] == ["received", "validating", "queued"]
    assert body["scores"] == [] and body["overall"] is None
    assert enqueued == [body["id"]]
    assert (stored / Submission.objects.get().bundle).is_file()


def test_it_queues_a_bundle_sent_as_files(as_alice, stored, tmp_path, enqueued):
    folder = declared_folder(tmp_path / "files")
    files = [SimpleUploadedFile(name, (folder / name).read_bytes())
             for name in ("sst-2.tsv", "mrpc.tsv", "costs.json")]
    response = as_alice.post("/api/v1/submissions/", {"name": "Files", "files": files},
                             format="multipart")
    assert response.status_code == 201, response.content
    assert Submission.objects.get().name == "Files"


def test_it_keeps_only_the_base_name_of_each_file(as_alice, stored, tmp_path, enqueued):
    import zipfile

    folder = declared_folder(tmp_path / "files")
    files = [SimpleUploadedFile(f"../../{name}", (folder / name).read_bytes())
             for name in ("sst-2.tsv", "mrpc.tsv", "costs.json")]
    response = as_alice.post("/api/v1/submissions/", {"name": "Up", "files": files},
                             format="multipart")
    assert response.status_code == 201, response.content
    with zipfile.ZipFile(stored / Submission.objects.get().bundle) as archive:
        assert sorted(archive.namelist()) == ["costs.json", "mrpc.tsv", "sst-2.tsv"]


def test_it_refuses_unsafe_or_repeated_file_names(as_alice, stored, tmp_path):
    files = [SimpleUploadedFile(".hidden", b"x"), SimpleUploadedFile("a.tsv", b"1"),
             SimpleUploadedFile("a.tsv", b"2")]
    response = as_alice.post("/api/v1/submissions/", {"name": "Bad", "files": files},
                             format="multipart")
    assert response.status_code == 400
    assert [(e["code"], e["field"]) for e in errors(response)] == [
        ("bad_file_name", "files[0]"), ("duplicate_file", "files[2]")]
    assert not Submission.objects.exists()


def test_it_needs_a_bundle_or_files(as_alice, stored):
    response = as_alice.post("/api/v1/submissions/", {"name": "Nothing"}, format="multipart")
    assert response.status_code == 400
    [problem] = errors(response)
    assert problem["field"] == "bundle" and "either one 'bundle' zip" in problem["message"]


def test_it_lists_every_problem_of_a_broken_bundle_with_file_and_line(as_alice, stored,
                                                                      tmp_path):
    folder = declared_folder(tmp_path / "b")
    rows = predictions("mrpc").splitlines()
    rows[2] = rows[2].split("\t")[0] + "\tyes"
    write(folder, "mrpc.tsv", "\n".join(rows) + "\n")
    write(folder, "snli.tsv", predictions("snli"))
    response = upload(as_alice, zip_folder(folder, tmp_path / "b.zip"), name="Broken")
    assert response.status_code == 400
    problems = errors(response)
    assert {"file": "mrpc.tsv", "line": 3} in [{"file": p["file"], "line": p["line"]}
                                               for p in problems]
    assert len(problems) >= 2 and not Submission.objects.exists()


def test_it_refuses_an_upload_over_the_size_limit(as_alice, stored, bundle_zip, settings):
    settings.ELUE_UPLOAD_MAX_MB = 0
    with open(bundle_zip, "rb") as handle:
        response = as_alice.post("/api/v1/submissions/", {"name": "Big", "bundle": handle},
                                 format="multipart", CONTENT_LENGTH=str(5 * 1024 * 1024))
    assert response.status_code == 413
    assert "at most 0 MiB" in errors(response)[0]["message"]


def test_it_answers_429_with_the_reset_time_over_quota(as_alice, alice, stored, bundle_zip,
                                                       settings, enqueued):
    settings.ELUE_DAILY_SUBMISSIONS = 1
    assert upload(as_alice, bundle_zip).status_code == 201
    response = upload(as_alice, bundle_zip)
    assert response.status_code == 429
    [problem] = errors(response)
    assert problem["code"] == "quota_exceeded" and "daily limit of 1" in problem["message"]
    first = Submission.objects.get()
    assert response.json()["resets_at"].startswith(
        (first.created_at + timezone.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"))
    assert 86000 < int(response["Retry-After"]) <= 86400


def test_a_point_budget_over_quota_says_which_and_when(as_alice, stored, bundle_zip, settings,
                                                       enqueued):
    settings.ELUE_DAILY_POINTS = 3  # the bundle has one point on SST-2 and one on MRPC
    assert upload(as_alice, bundle_zip).status_code == 201
    response = upload(as_alice, bundle_zip)
    assert response.status_code == 429
    [problem] = errors(response)
    assert problem["code"] == "quota_exceeded"
    assert problem["message"].startswith("daily limit of 3 scored points reached")
    assert response.json()["resets_at"] and int(response["Retry-After"]) > 86000


def test_a_token_of_an_unconfirmed_account_cannot_submit(carl, stored, bundle_zip, enqueued):
    from tests.api.conftest import client_for

    as_carl = client_for(carl)
    assert as_carl.get("/api/v1/submissions/").status_code == 200  # the token works
    response = upload(as_carl, bundle_zip)
    assert response.status_code == 403
    [problem] = errors(response)
    assert problem["code"] == "email_unconfirmed"
    assert "confirm your e-mail address before submitting" in problem["message"]
    published = as_carl.post("/api/v1/entries/", {
        "name": "Paper", "points": [{"task": "sst-2", "name": "6L", "mflops": 2000,
                                     "performance": 88.1}]}, format="json")
    assert published.status_code == 403
    assert errors(published)[0]["code"] == "email_unconfirmed"
    assert not Submission.objects.exists()


def test_it_refuses_points_near_the_accounts_earlier_ones(as_alice, stored, tmp_path,
                                                          enqueued):
    from tests.evaluator.builders import PREDICTION_HEADER, true_labels, tsv

    assert upload(as_alice, zip_folder(declared_folder(tmp_path / "a", ("sst-2",)),
                                       tmp_path / "a.zip")).status_code == 201
    labels = list(true_labels("sst-2"))
    labels[0] = "1" if labels[0] == "0" else "0"  # one example from the first
    folder = declared_folder(tmp_path / "b", ("sst-2",))
    write(folder, "sst-2.tsv", tsv(PREDICTION_HEADER, labels))
    response = upload(as_alice, zip_folder(folder, tmp_path / "b.zip"))
    assert response.status_code == 400
    [problem] = errors(response)
    assert (problem["code"], problem["file"]) == ("near_identical_points", "sst-2.tsv")


def test_it_creates_once_per_idempotency_key(as_alice, stored, bundle_zip, enqueued):
    first = upload(as_alice, bundle_zip, key="retry-1")
    again = upload(as_alice, bundle_zip, key="retry-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"] and again["Idempotent-Replayed"] == "true"
    assert Submission.objects.count() == 1
    assert IdempotencyRecord.objects.get().submission_id == first.json()["id"]


def test_it_refuses_a_reused_key_with_a_different_request(as_alice, as_bob, stored,
                                                          bundle_zip, enqueued):
    assert upload(as_alice, bundle_zip, key="k").status_code == 201
    response = upload(as_alice, bundle_zip, key="k", name="Other")
    assert response.status_code == 409
    [problem] = errors(response)
    assert (problem["code"], problem["field"]) == ("idempotency_key_reused", "Idempotency-Key")
    assert upload(as_bob, bundle_zip, key="k").status_code == 201  # keys are per user
    assert Submission.objects.count() == 2


def test_it_frees_the_key_when_the_request_failed(as_alice, stored, bundle_zip, enqueued):
    assert upload(as_alice, bundle_zip, key="k", visibility="nope").status_code == 400
    assert not IdempotencyRecord.objects.exists()
    assert upload(as_alice, bundle_zip, key="k").status_code == 201


def test_it_says_when_the_first_request_is_still_running(as_alice, stored, bundle_zip,
                                                        enqueued):
    assert upload(as_alice, bundle_zip, key="busy").status_code == 201
    IdempotencyRecord.objects.update(status=0, body=None)  # as while the first one runs
    response = upload(as_alice, bundle_zip, key="busy")
    assert response.status_code == 409
    assert errors(response)[0]["code"] == "idempotency_in_progress"
    assert Submission.objects.count() == 1


def test_it_frees_a_key_whose_request_was_abandoned(as_alice, stored, bundle_zip, enqueued):
    assert upload(as_alice, bundle_zip, key="lost").status_code == 201
    IdempotencyRecord.objects.update(status=0, body=None,
                                     created_at=timezone.now() - timezone.timedelta(hours=1))
    assert upload(as_alice, bundle_zip, key="lost").status_code == 201
    assert Submission.objects.count() == 2


def test_a_response_that_cannot_be_recorded_undoes_the_submission(
        as_alice, stored, bundle_zip, enqueued, monkeypatch):
    """Found by `make proof` (PostgreSQL restarted mid-request): the work and the record of
    its response commit together, so a retry can never create a second submission."""
    from django.db import DatabaseError

    from leaderboard.api import idempotency

    def database_gone(*args, **kwargs):
        raise DatabaseError("server closed the connection unexpectedly")

    monkeypatch.setattr(idempotency, "_record", database_gone)
    monkeypatch.setattr(IdempotencyRecord, "delete", database_gone)
    monkeypatch.setattr(idempotency, "RELEASE_PAUSES", (0.0, 0.0))
    assert upload(as_alice, bundle_zip, key="cut").status_code == 500
    assert not Submission.objects.exists() and enqueued == []
    monkeypatch.undo()
    assert upload(as_alice, bundle_zip, key="cut").status_code == 409  # not yet abandoned
    IdempotencyRecord.objects.update(created_at=timezone.now() - timezone.timedelta(
        seconds=idempotency.abandoned_after().total_seconds() + 1))
    assert upload(as_alice, bundle_zip, key="cut").status_code == 201
    assert Submission.objects.count() == 1


def test_a_lost_database_connection_is_a_503_to_retry(as_alice, stored, bundle_zip,
                                                      monkeypatch):
    from django.db import OperationalError

    from leaderboard.api.views import submissions as views

    def database_gone(*args, **kwargs):
        raise OperationalError("connection to server was lost")

    monkeypatch.setattr(views, "create_submission", database_gone)
    response = upload(as_alice, bundle_zip, key="503")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    assert errors(response)[0]["code"] == "database_unavailable"
    assert not IdempotencyRecord.objects.exists()  # the key is free for the retry


def test_it_refuses_an_unusable_idempotency_key(as_alice, stored, bundle_zip):
    response = upload(as_alice, bundle_zip, key="x" * 201)
    assert response.status_code == 400
    assert errors(response)[0]["field"] == "Idempotency-Key"


def test_it_shows_submissions_only_to_their_owner_and_staff(as_alice, as_bob, as_staff, anon,
                                                            alice, stored, tmp_path, enqueued):
    mine = submit_bundle(alice, declared_folder(tmp_path / "b"), name="Mine")
    for client, code in ((as_alice, 200), (as_staff, 200), (as_bob, 404), (anon, 401)):
        assert client.get(f"/api/v1/submissions/{mine.pk}/").status_code == code
    assert [s["id"] for s in as_alice.get("/api/v1/submissions/").json()["results"]] == [mine.pk]
    assert as_bob.get("/api/v1/submissions/").json()["results"] == []
    for method in (as_bob.delete, as_bob.patch):
        assert method(f"/api/v1/submissions/{mine.pk}/").status_code == 404
    assert as_bob.post(f"/api/v1/submissions/{mine.pk}/cancel/").status_code == 404


def test_it_shows_status_log_and_failure_reason(as_alice, alice, stored, tmp_path, enqueued):
    mine = submit_bundle(alice, declared_folder(tmp_path / "b"), name="Mine")
    Submission.objects.filter(pk=mine.pk).update(status=Status.FAILED,
                                                 failure_reason="STS-B predictions constant")
    body = as_alice.get(f"/api/v1/submissions/{mine.pk}/").json()
    assert (body["status"], body["failure_reason"]) == ("failed", "STS-B predictions constant")
    assert body["log"][0]["seconds"] is None and body["log"][1]["seconds"] >= 0


def test_it_cancels_once(as_alice, alice, stored, tmp_path, enqueued):
    mine = submit_bundle(alice, declared_folder(tmp_path / "b"), name="Mine")
    response = as_alice.post(f"/api/v1/submissions/{mine.pk}/cancel/")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    again = as_alice.post(f"/api/v1/submissions/{mine.pk}/cancel/")
    assert again.status_code == 409
    assert "already cancelled" in errors(again)[0]["message"]


def test_it_resubmits_a_finished_submission(as_alice, alice, stored, tmp_path, enqueued):
    mine = submit_bundle(alice, declared_folder(tmp_path / "b"), name="Mine")
    refused = as_alice.post(f"/api/v1/submissions/{mine.pk}/resubmit/")
    assert refused.status_code == 409 and "still queued" in errors(refused)[0]["message"]
    as_alice.post(f"/api/v1/submissions/{mine.pk}/cancel/")
    again = as_alice.post(f"/api/v1/submissions/{mine.pk}/resubmit/")
    assert again.status_code == 201 and again.json()["id"] != mine.pk


def test_it_changes_visibility_and_deletes(as_alice, alice, stored, tmp_path, enqueued):
    mine = submit_bundle(alice, declared_folder(tmp_path / "b"), name="Mine")
    response = as_alice.patch(f"/api/v1/submissions/{mine.pk}/", {"visibility": "private"},
                              format="json")
    assert response.status_code == 200 and response.json()["visibility"] == "private"
    assert as_alice.delete(f"/api/v1/submissions/{mine.pk}/").status_code == 204
    assert as_alice.get(f"/api/v1/submissions/{mine.pk}/").status_code == 404
    assert Submission.objects.get().deleted_at is not None


def test_it_forgets_responses_after_a_day(as_alice, stored, bundle_zip, enqueued):
    assert upload(as_alice, bundle_zip, key="old").status_code == 201
    IdempotencyRecord.objects.update(created_at=timezone.now() - timezone.timedelta(days=2))
    assert upload(as_alice, bundle_zip, key="old").status_code == 201
    assert Submission.objects.count() == 2 and IdempotencyRecord.objects.count() == 1


def test_a_zip_with_a_crafted_header_offset_is_archive_corrupt_not_a_500(as_alice, stored,
                                                                         tmp_path):
    bundle = with_bad_header_offset(zip_folder(declared_folder(tmp_path / "b"),
                                               tmp_path / "b.zip"))
    response = upload(as_alice, bundle)
    assert response.status_code == 400, response.content
    assert [e["code"] for e in errors(response)] == ["archive_corrupt"]


def test_a_zip_of_many_empty_entries_is_refused_by_its_end_record(as_alice, stored, tmp_path):
    response = upload(as_alice, zip_of_empty_entries(tmp_path / "many.zip", 5000))
    assert response.status_code == 400
    assert errors(response)[0]["message"] == "5,000 entries, at most 200 allowed"
