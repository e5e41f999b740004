"""Idempotency under concurrency: the same request sent several times at once, over HTTP to
a live server, creates one submission."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from leaderboard.models import Submission
from leaderboard.tokens import create_token

pytestmark = [pytest.mark.slow,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]


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
