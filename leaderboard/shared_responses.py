"""Whole responses given back to anonymous readers before the middleware stack runs.

``leaderboard.board_cache`` keeps what the leaderboard views compute, per board version. A
request for a cached page still went through eleven middleware, URL resolution and, for the
API, DRF's request, authentication, content negotiation and query validation: one to two ms
of CPU for bytes already known, which kept the read path under 500 requests/s on 2 cores.
This middleware, first in ``MIDDLEWARE``, keeps the *final* response (with every header the
other middleware added) of a request whose view declared it the same for every anonymous
visitor (``mark_shared``), and gives it back to the next anonymous request for the same
scheme, host, path, query string and ``Accept`` header under the same board version: a
change to the board (a new version) is never answered from an older response. Any other
request (another page, a static file, ``/healthz``) passes straight through without a query:
only the paths a view has marked in this process (``shared_paths``) are looked up.

Kept responses stay in this process's recent entries (``board_cache.recent``, a few dozen),
not in the shared cache: the views' own entries are already shared, so a process's first
request for a URL is cheap, and a client sending a new query string or ``Accept`` header on
every request cannot fill Redis with a whole page per variant.

Only requests that carry nothing personal take this path: GET, no session or messages
cookie, no ``Authorization`` header. A response that sets a cookie or is not a 200 is never
kept. API responses keep their throttles: the entry names the throttle classes the view
applied, and each counts the request before a replay; a client over its rate goes down the
whole stack, which answers DRF's 429 (that request is counted twice, past the limit anyway).
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from types import SimpleNamespace

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string

from leaderboard.board_cache import (
    SHARED_ATTRIBUTE,
    board_version,
    is_anonymous_visitor,
    recent,
    version_read,
)

# The paths whose views have marked a response shared in this process: only their requests
# read the board version here, not every other page, static file and health check. Bounded
# by the shared views' real URLs (a 404 is never marked).
shared_paths: set[str] = set()


def takes_shared_path(request: HttpRequest) -> bool:
    """A request that carries nothing personal (nor a way to change anything)."""
    return (settings.ELUE_CACHE_PAGES and request.method == "GET"
            and "HTTP_AUTHORIZATION" not in request.META and is_anonymous_visitor(request))


def response_key(request: HttpRequest, version: int) -> str | None:
    """The key of this request's response at board ``version``; None for a host Django
    refuses (the whole stack answers that)."""
    try:
        host = request.get_host()
    except DisallowedHost:
        return None
    place = "\n".join([request.scheme or "", host, request.path,
                       request.META.get("QUERY_STRING", ""), request.META.get("HTTP_ACCEPT", "")])
    digest = hashlib.sha256(place.encode()).hexdigest()[:32]
    return f"elue:board:{version}:response:{digest}"


@functools.cache
def _throttle_class(path: str) -> type:
    return import_string(path)


def throttles_allow(request: HttpRequest, throttles: tuple[str, ...]) -> bool:
    """Whether every throttle lets this anonymous request through (and counts it)."""
    anonymous = SimpleNamespace(user=AnonymousUser(), META=request.META)
    return all(_throttle_class(path)().allow_request(anonymous, None) for path in throttles)


def replay(status: int, headers: list[tuple[str, str]], content: bytes) -> HttpResponse:
    response = HttpResponse(content, status=status)
    for header, value in headers:
        response[header] = value
    return response


def keepable(response: HttpResponse) -> bool:
    return (getattr(response, SHARED_ATTRIBUTE, None) is not None
            and response.status_code == 200 and not response.streaming
            and not response.cookies)


class SharedResponseMiddleware:
    """First in ``MIDDLEWARE``: answers anonymous reads of shared pages from the cache."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        anonymous = takes_shared_path(request)
        if anonymous and request.path in shared_paths:
            replayed = self.replay_kept(request)
            if replayed is not None:
                return replayed
        response = self.get_response(request)
        # Kept under the version the view read before computing it (``board_cache``), so a
        # change committed meanwhile makes a new version, never a stale entry.
        version = version_read(request)
        if anonymous and version is not None and keepable(response):
            key = response_key(request, version)
            if key is not None:
                shared_paths.add(request.path)
                recent.put(key, (response.status_code, list(response.items()),
                                 response.content, getattr(response, SHARED_ATTRIBUTE)))
        return response

    @staticmethod
    def replay_kept(request: HttpRequest) -> HttpResponse | None:
        """The kept response for this request at the current version, once its throttles
        let it through; None to go down the whole stack."""
        key = response_key(request, board_version(request))
        entry = recent.get(key) if key is not None else None
        if entry is None:
            return None
        status, headers, content, throttles = entry
        if not throttles_allow(request, throttles):
            return None  # the whole stack answers DRF's 429
        return replay(status, headers, content)
