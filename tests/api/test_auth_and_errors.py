"""Authentication (tokens, sessions), the one error shape, and throttling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.http import HttpRequest
from django.utils import timezone
from rest_framework.test import APIClient

from leaderboard.models import ApiToken
from leaderboard.tokens import create_token, revoke_token
from tests.api.conftest import errors

pytestmark = pytest.mark.django_db

PUBLISHED = {"name": "Tiny", "points": [{"task": "sst-2", "mflops": 100, "performance": 80}]}


def test_it_accepts_a_bearer_token_and_a_token_keyword(alice, seeded):
    plaintext = create_token(alice, "CI").plaintext
    for keyword in ("Bearer", "Token"):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"{keyword} {plaintext}")
        response = client.get("/api/v1/submissions/")
        assert response.status_code == 200, response.content


def test_it_answers_401_without_credentials_on_a_write(anon):
    response = anon.post("/api/v1/entries/", PUBLISHED, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    [problem] = errors(response)
    assert problem["code"] == "not_authenticated"


def test_it_says_why_a_token_is_refused(alice):
    new = create_token(alice, "CI", expires_in_days=1)
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(days=2))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {new.plaintext}")
    response = client.get("/api/v1/tasks/")
    assert response.status_code == 401
    [problem] = errors(response)
    assert problem["code"] == "authentication_failed"
    assert "'CI' expired on" in problem["message"] and "create a new one" in problem["message"]


@pytest.mark.parametrize("header, message", [
    ("Bearer elue_nope_nope", "unknown or revoked API token"),
    ("Bearer nonsense", "malformed API token"),
    ("Bearer", "invalid Authorization header"),
    ("Bearer two parts", "invalid Authorization header"),
])
def test_it_refuses_a_wrong_token(db, header, message):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/tasks/")
    assert response.status_code == 401
    assert message in errors(response)[0]["message"]


def test_it_refuses_a_revoked_token(alice):
    new = create_token(alice, "CI")
    revoke_token(alice, new.token.pk)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {new.plaintext}")
    assert client.get("/api/v1/submissions/").status_code == 401


def test_it_accepts_the_site_session_with_csrf(alice, seeded):
    client = APIClient(enforce_csrf_checks=True)
    # django-axes checks every password log-in for a lockout, which needs the request.
    assert client.login(request=HttpRequest(), username="alice", password="pw-alice-123")
    assert client.get("/api/v1/submissions/").status_code == 200
    refused = client.post("/api/v1/entries/", PUBLISHED, format="json")
    assert refused.status_code == 403
    assert "CSRF" in errors(refused)[0]["message"]


def test_it_answers_unknown_addresses_in_the_error_shape(anon):
    response = anon.get("/api/v1/nothing-here/")
    assert response.status_code == 404
    [problem] = errors(response)
    assert problem["code"] == "not_found" and "/api/v1/nothing-here/" in problem["message"]


def test_it_answers_a_wrong_method_in_the_error_shape(as_alice):
    response = as_alice.put("/api/v1/tasks/sst-2/", {}, format="json")
    assert response.status_code == 405
    assert errors(response)[0]["code"] == "method_not_allowed"


def test_it_answers_malformed_json_in_the_error_shape(as_alice):
    response = as_alice.post("/api/v1/entries/", "{not json", content_type="application/json")
    assert response.status_code == 400
    [problem] = errors(response)
    assert problem["code"] == "parse_error" and "JSON parse error" in problem["message"]


def test_it_pages_every_list(anon, seeded):
    first = anon.get("/api/v1/entries/?page_size=3").json()
    assert len(first["results"]) == 3 and first["count"] > 3 and first["next"]
    second = anon.get(first["next"]).json()
    assert {e["id"] for e in second["results"]}.isdisjoint({e["id"] for e in first["results"]})
    beyond = anon.get("/api/v1/entries/?page=999")
    assert beyond.status_code == 404 and errors(beyond)[0]["code"] == "not_found"


def test_it_throttles_with_a_429_saying_when_to_retry(anon, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "2/minute",
                                                               "user": "2/minute"})
    assert [anon.get("/api/v1/tasks/").status_code for _ in range(2)] == [200, 200]
    response = anon.get("/api/v1/tasks/")
    assert response.status_code == 429
    [problem] = errors(response)
    assert problem["code"] == "throttled"
    assert 0 < int(response["Retry-After"]) <= 60
    assert response.json()["resets_at"] > timezone.now().isoformat()


def test_it_answers_an_unexpected_failure_in_the_error_shape_and_logs_it(anon, monkeypatch,
                                                                        caplog):
    def broken(**filters):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("leaderboard.api.views.benchmark.leaderboard_rows", broken)
    response = anon.get("/api/v1/leaderboard/")
    assert response.status_code == 500
    [problem] = errors(response)
    assert problem["code"] == "server_error" and "disk on fire" not in problem["message"]
    assert "disk on fire" in caplog.text


def test_it_answers_404_in_the_error_shape_for_any_character_in_a_path(anon):
    response = anon.get("/api/v1/reference/%5D%0Ag%0D/")
    assert response.status_code == 404 and errors(response)[0]["code"] == "not_found"


def test_a_throttle_keeps_one_counter_not_every_request(anon):
    """DRF's own throttles store every request's time and rewrite the list each request;
    at hundreds of requests per second that list was the slowest part of a cached read."""
    from django.core.cache import cache

    for _ in range(5):
        assert anon.get("/api/v1/tasks/").status_code == 200
    assert cache.get("throttle_anon_127.0.0.1") == 5


def test_a_counter_made_by_the_increment_itself_still_expires(anon, monkeypatch):
    """The counter can expire between the increment's check and the increment, which then
    makes one with no expiry: that client would stay throttled forever."""
    from django.core.cache import cache

    cache.set("throttle_anon_127.0.0.1", 0, None)  # as left by that race
    touched = []
    real_touch = cache.touch
    monkeypatch.setattr(cache, "touch", lambda key, timeout: touched.append(
        (key, timeout)) or real_touch(key, timeout))
    assert anon.get("/api/v1/tasks/").status_code == 200
    assert touched == [("throttle_anon_127.0.0.1", 60)]
def test_a_fresh_forwarded_for_per_request_does_not_escape_the_throttle(anon, monkeypatch,
                                                                         settings):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "2/minute",
                                                               "user": "2/minute"})
    settings.ELUE_TRUSTED_PROXIES = []
    statuses = [anon.get("/api/v1/tasks/", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code
                for i in range(3)]
    assert statuses == [200, 200, 429]
    # Behind a trusted proxy, the address it saw counts: another client is not throttled.
    settings.ELUE_TRUSTED_PROXIES = ["127.0.0.1"]
    other = anon.get("/api/v1/tasks/", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.200")
    assert other.status_code == 200
