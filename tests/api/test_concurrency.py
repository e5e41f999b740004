"""Concurrency over HTTP to a live server: the same request sent several times at once
creates one submission, and a slow upload holds up no one else."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from leaderboard.models import Entry, Submission
from leaderboard.tokens import create_token

pytestmark = [pytest.mark.slow,
              pytest.mark.django_db(transaction=True)]


def test_it_creates_one_submission_for_simultaneous_retries(live_server, alice, stored,
                                                            bundle_zip, enqueued):
    token = create_token(alice, "race").plaintext
    payload = bundle_zip.read_bytes()

    def send(_):
        return requests.post(f"{live_server.url}/api/v1/submissions/", timeout=60,
                             headers={"Authorization": f"Bearer {token}",
                                      "Idempotency-Key": "same-for-all"},
                             data={"name": "Raced"},
                             files={"bundle": ("bundle.zip", payload, "application/zip")})

    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(pool.map(send, range(4)))
    codes = sorted(r.status_code for r in responses)
    assert set(codes) <= {201, 409} and 201 in codes, [r.text for r in responses]
    created = {r.json()["id"] for r in responses if r.status_code == 201}
    assert created == set(Submission.objects.values_list("pk", flat=True))
    assert Submission.objects.count() == 1
    for conflict in (r for r in responses if r.status_code == 409):
        assert conflict.json()["errors"][0]["code"] == "idempotency_in_progress"


SLOW_CHECK = 4.0  # seconds an upload's check takes here, on purpose


def test_a_slow_upload_check_delays_no_other_users_api_calls(live_server, alice, bob, stored,
                                                             bundle_zip, enqueued, monkeypatch):
    """On SQLite there is one write lock: an upload checked inside a transaction held it
    for the whole check, and every other API call (each may write its token's last use) and
    the workers' heartbeats waited. The check now runs outside any transaction."""
    from leaderboard import submissions

    real_check, checking = submissions.validate_upload, threading.Event()

    def slow_check(path):
        checking.set()
        time.sleep(SLOW_CHECK)
        return real_check(path)

    monkeypatch.setattr(submissions, "validate_upload", slow_check)
    alice_auth = {"Authorization": f"Bearer {create_token(alice, 'slow').plaintext}"}
    bob_auth = {"Authorization": f"Bearer {create_token(bob, 'quick').plaintext}"}
    api = f"{live_server.url}/api/v1"

    def slow_upload():
        return requests.post(f"{api}/submissions/", timeout=60, data={"name": "Slow"},
                             headers={**alice_auth, "Idempotency-Key": "slow-1"},
                             files={"bundle": ("b.zip", bundle_zip.read_bytes(),
                                               "application/zip")})

    published = {"name": "Bob's model", "points": [
        {"task": "sst-2", "name": "6L", "mflops": 2000.0, "performance": 90.1}]}
    bobs_calls = [  # each writes: the token's first use, an entry, a visibility change
        lambda: requests.get(f"{api}/submissions/", headers=bob_auth, timeout=30),
        lambda: requests.post(f"{api}/entries/", json=published, timeout=30,
                              headers={**bob_auth, "Idempotency-Key": "bob-1"}),
        lambda: requests.patch(f"{api}/entries/{Entry.objects.get(owner=bob).pk}/",
                               json={"visibility": "private"}, headers=bob_auth, timeout=30),
    ]
    with ThreadPoolExecutor(max_workers=1) as pool:
        upload = pool.submit(slow_upload)
        assert checking.wait(30), "the upload's check never started"
        seconds = []
        for call in bobs_calls:
            started = time.monotonic()
            response = call()
            seconds.append(time.monotonic() - started)
            assert response.status_code in (200, 201), response.text
        assert max(seconds) < 1.0, seconds
        assert not upload.done(), "the upload finished first: nothing was measured"
        assert upload.result().status_code == 201, upload.result().text
    assert Submission.objects.get().name == "Slow"
    assert Entry.objects.get(owner=bob).visibility == "private"
