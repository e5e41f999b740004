"""Refusing work before doing it: request bodies over the upload limit are answered 413
from their ``Content-Length`` before a byte is read, on every path (the site's forms, the
live check, the API); and the live check is throttled per user.

``RefuseOversizedBodies`` sits before the CSRF middleware, which would otherwise read the
whole multipart body to find its token. A body without ``Content-Length`` (chunked) is
read by Django as empty, so the header is the one thing to check.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from rest_framework.throttling import UserRateThrottle

from evaluator.errors import Problem
from leaderboard.client_address import client_address
from leaderboard.uploads import MIB

# Room for the form fields and multipart framing on top of the files themselves.
FORM_OVERHEAD = MIB
LIVE_CHECK_PATH = "/submit/check/"


def body_too_large(request) -> Problem | None:
    """Why the request's declared body is too large to read, or ``None``."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None  # Django reads a body of unknown length as empty
    limit = settings.ELUE_UPLOAD_MAX_MB
    if length <= limit * MIB + FORM_OVERHEAD:
        return None
    return Problem("upload_too_large", f"the upload is {length / MIB:,.1f} MiB; this server "
                   f"accepts at most {limit} MiB", field="files")


class RefuseOversizedBodies:
    """Answer 413 to a request whose ``Content-Length`` is over the upload limit, in the
    shape its caller reads: the API's error list, the live check's problems, or a page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        problem = body_too_large(request)
        if problem is None:
            return self.get_response(request)
        return too_large_response(request, problem)


def too_large_response(request, problem: Problem) -> HttpResponse:
    if request.path.startswith("/api/"):
        return JsonResponse({"errors": [problem.as_dict()]}, status=413)
    if request.path == LIVE_CHECK_PATH:
        return JsonResponse({"ok": False, "problems": [problem.as_dict()]}, status=413)
    return render(request, "leaderboard/error.html",
                  {"title": "Upload too large", "message": problem.message}, status=413)


class LiveCheckThrottle(UserRateThrottle):
    """The live check unpacks and checks an upload like a submission does, but costs no
    quota: ``ELUE_LIVE_CHECK_RATE`` checks per user (default 30 a minute)."""

    scope = "live_check"

    def get_rate(self) -> str:
        return settings.ELUE_LIVE_CHECK_RATE

    def get_ident(self, request) -> str:
        return client_address(request.META)


def live_check_refused(request) -> JsonResponse | None:
    """A 429 in the live check's shape when ``request.user`` checked too often."""
    throttle = LiveCheckThrottle()
    if throttle.allow_request(request, None):
        return None
    wait = int(throttle.wait() or 1)
    problem = Problem("throttled", f"too many checks in a short time; the next is possible "
                      f"in {wait} s (the files are still checked when you submit)")
    return JsonResponse({"ok": False, "problems": [problem.as_dict()]}, status=429,
                        headers={"Retry-After": str(wait)})
