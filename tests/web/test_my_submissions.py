"""My submissions: the list, the live status endpoint, and the owner's actions."""

from __future__ import annotations

import pytest

from leaderboard.models import Entry, Submission

pytestmark = pytest.mark.django_db
Status = Submission.Status


def make_submission(owner, status=Status.QUEUED, **fields) -> Submission:
    submission = Submission.objects.create(owner=owner, name=fields.pop("name", "Tiny"),
                                           kind=Entry.Kind.DECLARED, bundle="none.zip",
                                           status=status, **fields)
    submission.record_event(Status.RECEIVED, "upload received")
    submission.record_event(status, "files valid")
    return submission


def test_it_lists_only_my_submissions_with_their_log(alice_client, alice, bob):
    make_submission(alice, name="Mine")
    make_submission(bob, name="Bobs")
    html = alice_client.get("/me/submissions/").content.decode()
    assert "Mine" in html and "Bobs" not in html
    assert "upload received" in html and "files valid" in html


def test_it_shows_the_failure_reason(alice_client, alice):
    make_submission(alice, Status.FAILED, failure_reason="sts-b.tsv: constant predictions")
    assert "sts-b.tsv: constant predictions" in alice_client.get(
        "/me/submissions/").content.decode()


def test_the_status_endpoint_gives_my_submissions_only(alice_client, alice, bob):
    mine = make_submission(alice)
    make_submission(bob)
    body = alice_client.get("/me/submissions/status.json").json()
    assert [(s["id"], s["status"], s["final"], s["events"]) for s in body["submissions"]] == [
        (mine.pk, "queued", False, 2)]
    assert f'id="submission-{mine.pk}"' in body["submissions"][0]["html"]


def test_the_status_endpoint_gives_only_the_asked_submissions(alice_client, alice):
    first, second = make_submission(alice), make_submission(alice)
    body = alice_client.get(f"/me/submissions/status.json?ids={second.pk},").json()
    assert [s["id"] for s in body["submissions"]] == [second.pk] and first.pk != second.pk


@pytest.mark.parametrize("ids", ["1,²", "1,x", "-1"])
def test_the_status_endpoint_answers_400_to_ids_that_are_not_numbers(alice_client, alice, ids):
    response = alice_client.get(f"/me/submissions/status.json?ids={ids}")
    assert response.status_code == 400
    assert response.json()["error"].startswith("ids: must be a whole number")


def test_the_status_endpoint_needs_an_account(client, db):
    assert client.get("/me/submissions/status.json").status_code == 302


def test_it_cancels_and_refuses_to_cancel_twice(alice_client, alice):
    submission = make_submission(alice)
    alice_client.post(f"/me/submissions/{submission.pk}/cancel/")
    submission.refresh_from_db()
    assert submission.status == Status.CANCELLED
    html = alice_client.post(f"/me/submissions/{submission.pk}/cancel/", follow=True
                             ).content.decode()
    assert "nothing to cancel" in html


def test_it_changes_visibility_and_deletes(alice_client, alice):
    submission = make_submission(alice, Status.SCORED)
    alice_client.post(f"/me/submissions/{submission.pk}/make-private/")
    submission.refresh_from_db()
    assert submission.visibility == "private"
    alice_client.post(f"/me/submissions/{submission.pk}/delete/")
    submission.refresh_from_db()
    assert submission.deleted_at is not None
    page = alice_client.get("/me/submissions/").content.decode()
    assert f"submission-{submission.pk}" not in page


def test_it_refuses_to_resubmit_an_unfinished_submission(alice_client, alice):
    submission = make_submission(alice, Status.RUNNING)
    html = alice_client.post(f"/me/submissions/{submission.pk}/resubmit/", follow=True
                             ).content.decode()
    assert "still running" in html and Submission.objects.count() == 1


def test_someone_elses_submission_is_404(alice_client, bob):
    theirs = make_submission(bob)
    for action in ("cancel", "delete", "make-public", "resubmit"):
        assert alice_client.post(f"/me/submissions/{theirs.pk}/{action}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == Status.QUEUED and theirs.deleted_at is None


def test_an_unknown_action_is_404(alice_client, alice):
    submission = make_submission(alice)
    assert alice_client.post(f"/me/submissions/{submission.pk}/explode/").status_code == 404


def test_actions_need_post(alice_client, alice):
    submission = make_submission(alice)
    assert alice_client.get(f"/me/submissions/{submission.pk}/cancel/").status_code == 405
