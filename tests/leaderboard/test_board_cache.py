"""The cached read path: the leaderboard page, a task page and the leaderboard API (JSON and
CSV) come from the cache until a change, and after every kind of change (a score, a
visibility, a deletion, a new point, a new reference curve) they are exactly what an empty
cache would compute. Pages with a user's name are never shared."""

from __future__ import annotations

import csv

import pytest
from django.core.cache import cache
from django.db.models import F

from leaderboard.actions import delete_entry, set_entry_visibility
from leaderboard.board_cache import board_version
from leaderboard.models import Basis, Entry, OperatingPoint, Task, TaskScore
from leaderboard.scoring import rescore_all, score_entry
from leaderboard.seeding import load_reference

pytestmark = pytest.mark.django_db

URLS = ["/", "/?sort=name&dir=asc", "/tasks/sst-2/", "/api/v1/leaderboard/",
        "/api/v1/leaderboard/?task=sst-2", "/api/v1/leaderboard/?format=csv"]


def new_reference(tmp_path):
    """A reference curve one point lower everywhere: every score changes."""
    from evaluator.score import REFERENCE_CSV

    with open(REFERENCE_CSV, newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        row["performance"] = f"{float(row['performance']) - 1:.2f}"
    path = tmp_path / "reference.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    version, created = load_reference(path)
    assert created
    rescore_all(version)


EVENTS = {
    "score": lambda entry, tmp: TaskScore.objects.filter(entry=entry).update(
        score=F("score") + 1.25),
    "visibility": lambda entry, tmp: set_entry_visibility(entry, Entry.Visibility.PRIVATE),
    "deletion": lambda entry, tmp: delete_entry(entry),
    "new point": lambda entry, tmp: (OperatingPoint.objects.create(
        entry=entry, task=Task.objects.get(slug="sst-2"), name="q", mflops=900.0,
        performance=86.0, mparams=40.0, mflops_basis=Basis.DECLARED),
        score_entry(entry, entry.scores.first().reference_version)),
    "reference": lambda entry, tmp: new_reference(tmp),
}


def fetch(client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return response.content


@pytest.mark.parametrize("event", EVENTS)
@pytest.mark.parametrize("url", URLS)
def test_a_change_is_never_served_stale(client, probe, url, event, tmp_path):
    before = fetch(client, url)
    assert b"Probe" in before
    version = board_version()
    assert fetch(client, url) == before  # from the cache
    EVENTS[event](probe, tmp_path)
    assert board_version() > version
    after = fetch(client, url)
    assert after != before, f"{event} changed nothing on {url}"
    cache.clear()
    assert fetch(client, url) == after, f"{url} was served stale after the {event}"


@pytest.mark.parametrize("url", ["/", "/tasks/sst-2/", "/api/v1/leaderboard/"])
def test_a_cached_read_costs_one_query(client, probe, url, django_assert_num_queries):
    fetch(client, url)
    with django_assert_num_queries(1):  # the board version
        fetch(client, url)


def test_every_query_string_has_its_own_entry(client, probe):
    everyone = fetch(client, "/")
    small = fetch(client, "/?track=55")
    assert small != everyone and fetch(client, "/") == everyone
    assert fetch(client, "/?track=55&budget=1") != everyone


def test_a_logged_in_user_never_gets_another_users_page(client, probe, alice, bob):
    anonymous = client.get("/")
    assert b"Log out" not in anonymous.content and "Cookie" in anonymous["Vary"]
    client.force_login(alice)
    assert b"Log out alice" in fetch(client, "/")
    client.force_login(bob)
    page = fetch(client, "/")
    assert b"Log out bob" in page and b"alice" not in page.replace(b"Probe", b"")
    client.logout()
    assert b"Log out" not in fetch(client, "/")


def test_a_changed_entry_name_and_a_new_entry_show_at_once(client, probe, alice):
    fetch(client, "/")
    Entry.objects.filter(pk=probe.pk).update(name="Renamed probe")
    assert b"Renamed probe" in fetch(client, "/")
    Entry.objects.create(owner=alice, name="Newcomer", kind=Entry.Kind.DECLARED)
    assert b"Newcomer" in fetch(client, "/api/v1/leaderboard/")


def test_a_failing_cache_only_costs_speed(client, probe, monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("cache server gone")

    monkeypatch.setattr(cache, "get", down)
    monkeypatch.setattr(cache, "set", down)
    assert b"Probe" in fetch(client, "/") and b"Probe" in fetch(client, "/api/v1/leaderboard/")


def test_it_can_be_turned_off_to_measure_it(client, probe, settings,
                                           django_assert_max_num_queries):
    settings.ELUE_CACHE_PAGES = False
    fetch(client, "/")
    with pytest.raises(pytest.fail.Exception), django_assert_max_num_queries(1):
        fetch(client, "/")


@pytest.mark.parametrize("personal", ["csrf token", "session", "cookie"])
def test_a_page_with_anything_personal_is_never_shared(rf, personal):
    """A page that embeds a CSRF token, starts a session or sets a cookie differs per
    visitor even without a session: it is rendered each time."""
    from django.contrib.sessions.backends.db import SessionStore
    from django.http import HttpResponse
    from django.middleware.csrf import get_token

    from leaderboard.board_cache import shared_page

    calls = []

    @shared_page
    def view(request):
        calls.append(1)
        response = HttpResponse(f"page {len(calls)}")
        if personal == "csrf token":
            get_token(request)
        elif personal == "session":
            request.session["seen"] = True
        else:
            response.set_cookie("theme", "dark")
        return response

    for _ in range(2):
        request = rf.get("/somewhere/")
        request.session = SessionStore()
        view(request)
    assert len(calls) == 2


@pytest.mark.django_db(transaction=True)
def test_the_version_query_is_the_kept_connections_health_check(monkeypatch):
    """On a kept connection, Django sends ``SELECT 1`` before a request's first query; a
    cached read makes its one query the check instead, and a connection the server dropped
    (a restart) costs a reconnection, not a failed request."""
    import psycopg
    from django.db import connection

    from leaderboard.board_cache import read_version

    if connection.vendor != "postgresql":
        pytest.skip("SQLite has no server to drop a connection (Django never checks it)")
    expected = read_version()  # opens the connection, kept as between requests
    checks = []
    monkeypatch.setattr(connection, "is_usable", lambda: checks.append(1) or True)
    connection.health_check_done = False  # what Django does at the start of every request
    assert read_version() == expected and checks == []

    connection.health_check_done = False
    dropped = connection.connection.info.backend_pid
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [dropped])
    assert read_version() == expected
    assert connection.connection.info.backend_pid != dropped and checks == []
