"""Error pages that say what was wrong: a bad query parameter (400) and an upload refused
before it was read (413, ``leaderboard.limits``)."""

from __future__ import annotations

from django.shortcuts import render

from leaderboard.params import BadParameter


def error_page(request, status: int, title: str, message: str):
    return render(request, "leaderboard/error.html", {"title": title, "message": message},
                  status=status)


def bad_request(request, exception=None):
    """Django's ``handler400``: a ``BadParameter`` says which parameter; other 400s (a
    disallowed host, a broken multipart body) keep their details to the log."""
    message = (str(exception) if isinstance(exception, BadParameter)
               else "the request could not be understood")
    return error_page(request, 400, "Bad request", message)
