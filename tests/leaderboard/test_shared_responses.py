"""Whole responses replayed to anonymous readers (``leaderboard.shared_responses``): the same
bytes and headers the whole stack gives, without running it; never to anyone with a session
or a token; one per scheme, host and Accept header; never a response that sets a cookie; and
the API's replays still counted by its throttles."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.urls.resolvers import URLResolver

from leaderboard.board_cache import board_version, mark_shared
from leaderboard.shared_responses import SharedResponseMiddleware, response_key
from leaderboard.tokens import create_token

pytestmark = pytest.mark.django_db

URLS = ["/", "/tasks/sst-2/", "/api/v1/leaderboard/", "/api/v1/leaderboard/?format=csv"]


def no_resolving(self, path):
    raise AssertionError(f"the whole stack ran for {path}")


@pytest.mark.parametrize("url", URLS)
def test_a_second_anonymous_read_is_the_first_response_without_the_stack(client, probe, url,
                                                                         monkeypatch):
    first = client.get(url)
    assert first.status_code == 200 and b"Probe" in first.content
    monkeypatch.setattr(URLResolver, "resolve", no_resolving)
    second = client.get(url)
    assert second.status_code == 200 and second.content == first.content
    assert dict(second.items()) == dict(first.items())
    assert "Content-Security-Policy" in second and second["X-Frame-Options"] == "DENY"


def test_a_logged_in_visitor_or_a_token_goes_down_the_whole_stack(client, probe, alice,
                                                                  monkeypatch):
    client.get("/")
    client.get("/api/v1/leaderboard/")
    monkeypatch.setattr(URLResolver, "resolve", no_resolving)
    client.force_login(alice)
    with pytest.raises(AssertionError, match="whole stack ran for /"):
        client.get("/")
    client.logout()
    token = create_token(alice, "ci").plaintext
    with pytest.raises(AssertionError, match="whole stack ran"):
        client.get("/api/v1/leaderboard/", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_a_board_change_is_not_answered_from_a_kept_response(client, probe):
    before = client.get("/api/v1/leaderboard/").content
    probe.name = "Renamed probe"
    probe.save()
    after = client.get("/api/v1/leaderboard/").content
    assert b"Renamed probe" in after and after != before


def test_the_throttle_counts_every_replay(client, probe, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"anon": "3/minute",
                                                               "user": "3/minute"})
    codes = [client.get("/api/v1/leaderboard/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert 0 < int(client.get("/api/v1/leaderboard/")["Retry-After"]) <= 60


def test_each_scheme_host_query_and_accept_has_its_own_response(rf):
    plain = response_key(rf.get("/api/v1/leaderboard/"), 7)
    others = [rf.get("/api/v1/leaderboard/", secure=True),
              rf.get("/api/v1/leaderboard/", HTTP_HOST="localhost"),
              rf.get("/api/v1/leaderboard/?task=sst-2"),
              rf.get("/api/v1/leaderboard/", HTTP_ACCEPT="text/csv")]
    keys = {plain, *(response_key(request, 7) for request in others)}
    assert len(keys) == 5 and response_key(rf.get("/api/v1/leaderboard/"), 8) != plain
    assert response_key(rf.get("/", HTTP_HOST="evil.example"), 7) is None


def serve_twice(rf, respond) -> int:
    """How many times the stack ran for two reads of a URL of its own."""
    calls, path = [], f"/shared/{respond.__name__}/"

    def view(request):
        calls.append(request)
        board_version(request)  # as the shared views do before computing
        return respond()

    middleware = SharedResponseMiddleware(view)
    for _ in range(2):
        assert middleware(rf.get(path)).status_code == 200
    return len(calls)


def test_only_a_plain_marked_response_is_kept(rf):
    def marked():
        return mark_shared(HttpResponse("everyone"))

    def unmarked():
        return HttpResponse("not marked")

    def with_cookie():
        response = mark_shared(HttpResponse("personal"))
        response.set_cookie("theme", "dark")
        return response

    assert serve_twice(rf, marked) == 1
    assert serve_twice(rf, unmarked) == 2
    assert serve_twice(rf, with_cookie) == 2


def test_it_is_off_with_the_page_cache(rf, settings):
    settings.ELUE_CACHE_PAGES = False
    assert serve_twice(rf, lambda: mark_shared(HttpResponse("everyone"))) == 2


def test_a_request_for_any_other_path_costs_no_query(rf, django_assert_num_queries):
    middleware = SharedResponseMiddleware(lambda request: HttpResponse("healthy"))
    with django_assert_num_queries(0):
        for _ in range(2):
            assert middleware(rf.get("/healthz")).status_code == 200


def test_a_response_computed_without_reading_the_version_is_not_kept(rf):
    calls = []

    def view(request):
        calls.append(request)
        return mark_shared(HttpResponse("no version read"))

    middleware = SharedResponseMiddleware(view)
    for _ in range(2):
        middleware(rf.get("/shared/unversioned/"))
    assert len(calls) == 2


def test_kept_responses_stay_in_the_process_not_the_shared_cache(client, probe, rf):
    """A new Accept header or query string per request must not store a whole page in
    Redis each time: the views' own entries are shared, the whole responses are not."""
    from django.core.cache import cache

    from leaderboard.board_cache import board_version, recent

    for accept in ("text/html", "text/html;v=1", "text/html;v=2"):
        client.get("/", HTTP_ACCEPT=accept)
        key = response_key(rf.get("/", HTTP_ACCEPT=accept), board_version())
        assert recent.get(key) is not None and cache.get(key) is None
