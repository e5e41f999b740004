"""The quota under real concurrency: uploads sent at the same moment by one account at its
limit minus one are counted and stored one at a time, so exactly one is accepted (issue 13,
finding 5: 24 accepted on a limit of 20). Runs on SQLite and, with ``DATABASE_URL``, on
PostgreSQL, through the service layer, the API (each with its own ``Idempotency-Key``) and the
site's form; and the same for the daily limit on published entries.

Each upload waits at a barrier once it has passed the cheap checks, so they all reach the
count at the same moment; the count then takes a pause before the insert, so an unlocked
count-then-insert would let every one through.
"""

from __future__ import annotations

import contextlib
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connection
from django.test import Client
from django.utils import timezone

from leaderboard import published, submissions
from leaderboard.models import Entry, PublishedEntryRecord, Submission
from leaderboard.published import PublishedPoint, create_published_entry
from leaderboard.submissions import QuotaExceeded, submit_bundle
from leaderboard.tokens import create_token
from tests.evaluator.builders import declared_folder, zip_folder

pytestmark = [pytest.mark.slow,
              pytest.mark.django_db(transaction=True)]

LIMIT = 5
CONCURRENT = 4
PAUSE = 0.3  # seconds between the count and the insert
BARRIER_WAIT = 5  # seconds an upload waits for the others after its cheap checks


@pytest.fixture
def at_limit_minus_one(alice, settings):
    """``alice`` has used all but one of her daily submissions."""
    settings.ELUE_DAILY_SUBMISSIONS = LIMIT
    Submission.objects.bulk_create(
        Submission(owner=alice, name=f"earlier {i}", kind="declared", bundle="gone",
                   status=Submission.Status.SCORED) for i in range(LIMIT - 1))
    return alice


@pytest.fixture
def all_at_once(monkeypatch):
    """Hold every upload after its cheap checks until all have passed them, then pause between
    the quota count and the insert."""
    barrier = threading.Barrier(CONCURRENT)
    validate, count = submissions.validate_upload, submissions.check_quota

    def validate_then_wait(upload):
        bundle = validate(upload)
        # Broken when the door already runs them one at a time (SQLite's write lock held
        # from an Idempotency-Key's transaction): then there is no race to set up.
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=BARRIER_WAIT)
        return bundle

    def count_then_pause(owner, now=None, points=None):
        count(owner, now, points)
        time.sleep(PAUSE)

    monkeypatch.setattr(submissions, "validate_upload", validate_then_wait)
    monkeypatch.setattr(submissions, "check_quota", count_then_pause)
    return barrier


def in_threads(send, n: int = CONCURRENT) -> list:
    """``send(i)`` for ``i`` in ``range(n)`` at once, each thread closing its connection."""
    def run(i):
        try:
            return send(i)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(run, range(n)))


def test_concurrent_uploads_at_the_limit_accept_exactly_one(at_limit_minus_one, stored,
                                                             tmp_path, enqueued, all_at_once):
    folder = declared_folder(tmp_path / "bundle")

    def send(i):
        try:
            return submit_bundle(at_limit_minus_one, folder, name=f"raced {i}")
        except QuotaExceeded as exc:
            return exc

    outcomes = in_threads(send)
    accepted = [o for o in outcomes if isinstance(o, Submission)]
    refused = [o for o in outcomes if isinstance(o, QuotaExceeded)]
    assert len(accepted) == 1 and len(refused) == CONCURRENT - 1, outcomes
    assert Submission.objects.filter(owner=at_limit_minus_one).count() == LIMIT
    # The refused uploads stored nothing: one stored bundle, the accepted one's.
    assert [p.name for p in (stored / "submissions").rglob("*") if p.is_file()] == [
        (stored / accepted[0].bundle).name]


def test_concurrent_api_uploads_with_their_own_keys_accept_exactly_one(
        live_server, at_limit_minus_one, stored, tmp_path, enqueued, all_at_once):
    token = create_token(at_limit_minus_one, "race").plaintext
    payload = zip_folder(declared_folder(tmp_path / "b"), tmp_path / "b.zip").read_bytes()

    def send(i):
        return requests.post(f"{live_server.url}/api/v1/submissions/", timeout=90,
                             headers={"Authorization": f"Bearer {token}",
                                      "Idempotency-Key": f"key-{i}"},
                             data={"name": f"raced {i}"},
                             files={"bundle": ("bundle.zip", payload, "application/zip")})

    responses = in_threads(send)
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [429] * (CONCURRENT - 1), [r.text for r in responses]
    assert {r.json()["errors"][0]["code"] for r in responses if r.status_code == 429} == {
        "quota_exceeded"}
    assert Submission.objects.filter(owner=at_limit_minus_one).count() == LIMIT


def test_concurrent_form_uploads_accept_exactly_one(live_server, at_limit_minus_one, stored,
                                                    tmp_path, enqueued, all_at_once):
    browser = Client()
    browser.force_login(at_limit_minus_one)
    csrf = "c" * 32  # any well-formed token: the cookie and the field must agree
    cookies = {"sessionid": browser.cookies["sessionid"].value, "csrftoken": csrf}
    payload = zip_folder(declared_folder(tmp_path / "b"), tmp_path / "b.zip").read_bytes()

    def send(i):
        return requests.post(f"{live_server.url}/submit/", timeout=90, cookies=cookies,
                             allow_redirects=False,
                             data={"csrfmiddlewaretoken": csrf, "name": f"raced {i}",
                                   "visibility": "public"},
                             files={"files": ("bundle.zip", payload, "application/zip")})

    responses = in_threads(send)
    codes = sorted(r.status_code for r in responses)
    assert codes == [302] + [400] * (CONCURRENT - 1), codes
    assert all(f"You have used your {LIMIT} submissions" in r.text
               for r in responses if r.status_code == 400)
    assert Submission.objects.filter(owner=at_limit_minus_one).count() == LIMIT


def test_the_quota_still_frees_a_slot_a_day_later(at_limit_minus_one, stored, tmp_path,
                                                  enqueued):
    """The lock changes nothing about the window: old submissions stop counting."""
    Submission.objects.filter(owner=at_limit_minus_one).update(
        created_at=timezone.now() - timezone.timedelta(days=1, seconds=1))
    for i in range(LIMIT):
        submit_bundle(at_limit_minus_one, declared_folder(tmp_path / f"b{i}"), name=f"n{i}")
    with pytest.raises(QuotaExceeded):
        submit_bundle(at_limit_minus_one, declared_folder(tmp_path / "last"), name="over")


def test_concurrent_published_entries_at_the_limit_accept_exactly_one(alice, seeded, settings,
                                                                      monkeypatch):
    settings.ELUE_DAILY_PUBLISHED = LIMIT
    PublishedEntryRecord.objects.bulk_create(
        PublishedEntryRecord(owner=alice) for _ in range(LIMIT - 1))
    barrier = threading.Barrier(CONCURRENT)
    check, count = published.check_points, published.check_published_quota

    def check_then_wait(points):
        problems = check(points)
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=BARRIER_WAIT)
        return problems

    def count_then_pause(owner, now=None):
        count(owner, now)
        time.sleep(PAUSE)

    monkeypatch.setattr(published, "check_points", check_then_wait)
    monkeypatch.setattr(published, "check_published_quota", count_then_pause)

    def send(i):
        try:
            return create_published_entry(alice, [PublishedPoint("sst-2", "", 100, 80)],
                                          name=f"raced {i}")
        except QuotaExceeded as exc:
            return exc

    outcomes = in_threads(send)
    assert sum(isinstance(o, Entry) for o in outcomes) == 1, outcomes
    assert sum(isinstance(o, QuotaExceeded) for o in outcomes) == CONCURRENT - 1
    assert Entry.objects.filter(owner=alice).count() == 1
    assert PublishedEntryRecord.objects.filter(owner=alice).count() == LIMIT
