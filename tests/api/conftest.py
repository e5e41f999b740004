"""Actors and data for the API tests: alice and bob (users), staff, API clients holding
their tokens, the seeded benchmark, and SST-2 and MRPC test data stored on the server."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from leaderboard.tokens import create_token
from tests.actors import confirmed_user
from tests.evaluator.builders import declared_folder, zip_folder

UNTHROTTLED = {"anon": "100000/minute", "user": "100000/minute"}


@pytest.fixture(autouse=True)
def unthrottled(monkeypatch):
    """No test trips the throttles by accident (their counters live in the shared cache);
    ``test_it_throttles`` sets its own rate."""
    from rest_framework.throttling import SimpleRateThrottle

    cache.clear()
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", dict(UNTHROTTLED))
    yield
    cache.clear()


@pytest.fixture
def staff(db, django_user_model):
    return confirmed_user(django_user_model, "sam", "pw-sam-123", is_staff=True)


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {create_token(user, 'test').plaintext}")
    return client


@pytest.fixture
def anon(db) -> APIClient:
    return client_for()


@pytest.fixture
def as_alice(alice) -> APIClient:
    return client_for(alice)


@pytest.fixture
def as_bob(bob) -> APIClient:
    return client_for(bob)


@pytest.fixture
def as_staff(staff) -> APIClient:
    return client_for(staff)





@pytest.fixture
def bundle_zip(tmp_path):
    return zip_folder(declared_folder(tmp_path / "bundle"), tmp_path / "bundle.zip")


def errors(response) -> list[dict]:
    """The errors of a response in the API's one shape (and check that shape)."""
    body = response.json()
    assert set(body) <= {"errors", "resets_at"}, body
    for item in body["errors"]:
        assert set(item) == {"code", "message", "file", "line", "field"}, item
    return body["errors"]
