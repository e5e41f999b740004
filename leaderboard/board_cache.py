"""The cached read path: the leaderboard page, the task pages and the leaderboard API are
computed once per *board version* and then served from the configured Django cache (Redis
with ``ELUE_CACHE_URL``, else per-process memory).

The board version (``BoardVersion``) is bumped by database triggers in the transaction of
every change to what these pages show (a score, a visibility, a deletion, a reference
curve, test data), so a cache key holding it can never serve a score older than the last
committed change: once a change commits, every reader sees the new number, misses the cache
and computes again. Old keys are never read again and expire (``KEEP_SECONDS``).

What is cached is what is the same for everyone:

- ``cached(request, name, compute)``: a value (rows, a rendered table, chart data) under
  the version, ``name`` and the request's whole query string (sorting, tracks, filters,
  pages: every parameter, also ones added later, makes its own key);
- ``cached_response``: likewise a whole rendered response (the API's JSON and CSV);
- ``shared_page``: for a visitor with no session (no cookie: not logged in, no pending
  message), the whole page. Anyone else gets the page rendered around the cached parts,
  since the navigation shows their name and a logout form with their CSRF token.

Each process also keeps its last few entries in memory (``recent``), saving the transfer of
a whole page from Redis on every request; they are keyed by the version like the shared ones.
The cache is an optimisation only: if it fails (Redis down), pages are computed as without
it, and the failure is logged. ``ELUE_CACHE_PAGES=false`` turns it off (to measure it).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import InterfaceError, OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from leaderboard.models import BoardVersion

logger = logging.getLogger(__name__)
T = TypeVar("T")
KEEP_SECONDS = 600  # a version's entries are read until the next change, then never again
RECENT_ENTRIES = 32  # per process (``RecentEntries``)
MESSAGES_COOKIE = "messages"  # django.contrib.messages' cookie storage
SHARED_ATTRIBUTE = "elue_shared_throttles"  # leaderboard.shared_responses
VERSION_QUERY = f'SELECT "number" FROM "{BoardVersion._meta.db_table}" ORDER BY "id" LIMIT 1'


def board_version(request: HttpRequest | None = None) -> int:
    """The current board version (read once per request when ``request`` is given)."""
    if request is None:
        return read_version()
    # On Django's request under DRF's, which the middleware (shared_responses) sees.
    request = getattr(request, "_request", request)
    if not hasattr(request, "_elue_board_version"):
        request._elue_board_version = read_version()
    return request._elue_board_version


def version_read(request: HttpRequest) -> int | None:
    """The board version this request has read (``board_version``), if it has."""
    return getattr(request, "_elue_board_version", None)


def _query_version() -> int:
    # Plain SQL: every cached read runs it, and the ORM's compiler cost more than the query.
    with connection.cursor() as cursor:
        cursor.execute(VERSION_QUERY)
        row = cursor.fetchone()
    return row[0] if row else 0


def read_version() -> int:
    """The version from the database. On a kept connection (``DATABASE_CONN_MAX_AGE``) this
    query is also the health check Django would otherwise make first (a ``SELECT 1``, a
    second round trip on every cached read): a connection the database dropped fails it, is
    closed, and the query runs once more on a new one, so a database restart still costs no
    failed request."""
    checks = (connection.health_check_enabled and not connection.health_check_done
              and connection.connection is not None and not connection.in_atomic_block)
    if not checks:
        return _query_version()
    connection.health_check_done = True
    try:
        return _query_version()
    except (InterfaceError, OperationalError):
        logger.info("kept database connection unusable; reconnecting", exc_info=True)
        connection.close()
        return _query_version()


def cache_key(request: HttpRequest, name: str, *, path: bool = False) -> str:
    """``name`` at the current version, for this request's query string (and path)."""
    query = request.META.get("QUERY_STRING", "")
    place = f"{request.path}?{query}" if path else query
    digest = hashlib.sha256(place.encode()).hexdigest()[:32]
    return f"elue:board:{board_version(request)}:{name}:{digest}"


class RecentEntries:
    """The last few entries this process read or wrote, in front of the shared cache: a
    whole page is a few hundred KB, which costs more to fetch from Redis than to serve. As
    fresh as the shared cache, since every key holds the board version."""

    def __init__(self, size: int):
        self.size, self.entries, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key: str):
        with self.lock:
            value = self.entries.get(key)
            if value is not None:
                self.entries.move_to_end(key)
            return value

    def put(self, key: str, value) -> None:
        with self.lock:
            self.entries[key] = value
            self.entries.move_to_end(key)
            while len(self.entries) > self.size:
                self.entries.popitem(last=False)

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()


recent = RecentEntries(RECENT_ENTRIES)


def fetch_entry(key: str):
    """The entry under ``key``: this process's copy, else the shared cache's; None if neither."""
    value = recent.get(key)
    if value is not None:
        return value
    try:
        value = cache.get(key)
    except Exception:  # an unreachable cache server: serve without it
        logger.warning("cache unavailable; computing %s", key, exc_info=True)
        return None
    if value is not None:
        recent.put(key, value)
    return value


def keep_entry(key: str, value) -> None:
    """Keep ``value`` under ``key`` here and in the shared cache (for ``KEEP_SECONDS``)."""
    recent.put(key, value)
    try:
        cache.set(key, value, KEEP_SECONDS)
    except Exception:
        logger.warning("cache unavailable; not keeping %s", key, exc_info=True)


def cached(request: HttpRequest, name: str, compute: Callable[[], T]) -> T:
    """``compute()``'s value, from the cache when this version already has it."""
    if not settings.ELUE_CACHE_PAGES:
        return compute()
    key = cache_key(request, name)
    value = fetch_entry(key)
    if value is None:
        value = compute()
        keep_entry(key, value)
    return value


def cached_response(request: HttpRequest, name: str,
                    compute: Callable[[], HttpResponse]) -> HttpResponse:
    """A rendered response that is the same for every client (the API's public rows), from
    the cache when this version already has it for this query string; only a 200 is kept."""
    if not settings.ELUE_CACHE_PAGES:
        return compute()
    key = cache_key(request, name)
    hit = fetch_entry(key)
    if hit is not None:
        content, headers = hit
        response = HttpResponse(content)
        for header, value in headers:
            response[header] = value
        return response
    response = compute()
    if response.status_code == 200 and not response.cookies:
        keep_entry(key, (response.content, list(response.items())))
    return response


def mark_shared(response: HttpResponse, throttles: Iterable[type] = ()) -> HttpResponse:
    """Declare ``response`` what any anonymous visitor gets for this URL, with the throttle
    classes that count such a request (the API's; none for a page): the whole response is
    then kept and replayed by ``leaderboard.shared_responses``."""
    setattr(response, SHARED_ATTRIBUTE,
            tuple(f"{throttle.__module__}.{throttle.__qualname__}" for throttle in throttles))
    return response


def is_anonymous_visitor(request: HttpRequest) -> bool:
    """No session and no pending message: the page is the one every such visitor gets."""
    return (request.method in ("GET", "HEAD")
            and not request.COOKIES.get(settings.SESSION_COOKIE_NAME)
            and MESSAGES_COOKIE not in request.COOKIES)


def _shareable(request: HttpRequest, response: HttpResponse) -> bool:
    """A plain 200 page that sets no cookie, starts no session and embeds no CSRF token."""
    session = getattr(request, "session", None)
    return (response.status_code == 200 and not response.streaming and not response.cookies
            and "CSRF_COOKIE_NEEDS_UPDATE" not in request.META
            and not (session is not None and session.modified))


def shared_page(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Serve the whole page from the cache to visitors without a session."""

    @functools.wraps(view)
    def serve(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not settings.ELUE_CACHE_PAGES or not is_anonymous_visitor(request):
            response = view(request, *args, **kwargs)
        else:
            key = cache_key(request, f"page:{view.__module__}.{view.__name__}", path=True)
            hit = fetch_entry(key)
            if hit is not None:
                content, content_type = hit
                response = mark_shared(HttpResponse(content, content_type=content_type))
            else:
                response = view(request, *args, **kwargs)
                if _shareable(request, response):
                    keep_entry(key, (response.content, response["Content-Type"]))
                    mark_shared(response)
        # Whoever has a session cookie gets another page: no shared cache may mix them.
        patch_vary_headers(response, ["Cookie"])
        return response

    return serve
