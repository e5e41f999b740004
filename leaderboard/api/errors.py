"""One error shape for every API error: ``{"errors": [{"code", "message", "file", "line",
"field"}]}``, plus ``resets_at`` (and a ``Retry-After`` header) on a 429.

DRF's own errors (validation, authentication, permission, not found, method, parse, throttle)
and the domain errors of the service layer all come through ``exception_handler``.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from evaluator.errors import InvalidInput, Problem
from leaderboard.accounts import EmailNotConfirmed
from leaderboard.actions import ActionRefused
from leaderboard.submissions import QuotaExceeded

logger = logging.getLogger("leaderboard.api")


def error(code: str, message: str, *, file: str | None = None, line: int | None = None,
          field: str | None = None) -> dict:
    return Problem(code, message, file, line, field).as_dict()


def _join(path: str, key) -> str:
    if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
        return f"{path}[{key}]"
    if key in ("non_field_errors", "detail"):
        return path
    return f"{path}.{key}" if path else str(key)


def flatten(detail, path: str = "") -> list[dict]:
    """DRF's nested error detail as a flat list, each with its field path
    (``points[0].mflops``); the message names the field too, for people."""
    if isinstance(detail, dict):
        return [e for key, value in detail.items() for e in flatten(value, _join(path, key))]
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return [e for item in detail for e in flatten(item, path)]
        return [e for i, item in enumerate(detail) for e in flatten(item, _join(path, i))]
    message = str(detail)
    return [error(getattr(detail, "code", None) or "invalid",
                  f"{path}: {message}" if path else message, field=path or None)]


def _from_api_exception(exc: exceptions.APIException) -> list[dict]:
    if isinstance(exc, exceptions.ValidationError):
        return flatten(exc.detail)
    detail = exc.detail
    if isinstance(detail, dict | list):
        return flatten(detail)
    return [error(getattr(detail, "code", None) or exc.default_code, str(detail))]


def quota_response(exc: QuotaExceeded) -> Response:
    return too_many(error("quota_exceeded", str(exc)), exc.resets_at)


def too_many(problem: dict, resets_at: datetime | None) -> Response:
    """A 429 saying when to try again, in the body and in ``Retry-After`` (seconds);
    ``resets_at`` is ``None`` when waiting does not help (the request alone is too big)."""
    if resets_at is None:
        return Response({"errors": [problem], "resets_at": None},
                        status=status.HTTP_429_TOO_MANY_REQUESTS)
    wait = max(0, math.ceil((resets_at - timezone.now()).total_seconds()))
    return Response({"errors": [problem], "resets_at": resets_at.isoformat()},
                    status=status.HTTP_429_TOO_MANY_REQUESTS, headers={"Retry-After": str(wait)})


def domain_response(exc: Exception) -> Response | None:
    """The response for an error of the service layer, or ``None`` if it is not one."""
    if isinstance(exc, InvalidInput):
        return Response({"errors": [p.as_dict() for p in exc.problems]},
                        status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, QuotaExceeded):
        return quota_response(exc)
    if isinstance(exc, EmailNotConfirmed):
        return Response({"errors": [error("email_unconfirmed", str(exc))]},
                        status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, ActionRefused):
        return Response({"errors": [error("action_refused", str(exc))]},
                        status=status.HTTP_409_CONFLICT)
    if isinstance(exc, RequestDataTooBig):
        return Response({"errors": [error("too_large", str(exc))]},
                        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, SuspiciousOperation | BadRequest):
        return Response({"errors": [error("bad_request", str(exc))]},
                        status=status.HTTP_400_BAD_REQUEST)
    return None


def server_error(exc: Exception, context: dict) -> Response:
    request = context.get("request")
    logger.error("API request %s %s failed", getattr(request, "method", "?"),
                 getattr(request, "path", "?"), exc_info=exc)
    set_rollback()
    return Response({"errors": [error("server_error", "the server failed to handle this "
                                      "request; the error is logged. Try again later")]},
                    status=status.HTTP_500_INTERNAL_SERVER_ERROR)


# Seconds a client should wait after the database went away (a restart takes about one).
DATABASE_RETRY_AFTER = 5


def database_unavailable(exc: Exception, context: dict) -> Response:
    """A lost database connection is a 503 to retry (with the same Idempotency-Key), not a
    500: nothing the request did was kept."""
    request = context.get("request")
    logger.warning("API request %s %s: database unavailable: %s",
                   getattr(request, "method", "?"), getattr(request, "path", "?"), exc)
    set_rollback()
    return Response({"errors": [error("database_unavailable", "the database is unavailable "
                                      "for a moment; nothing was saved. Retry in a few "
                                      "seconds (with the same Idempotency-Key)")]},
                    status=status.HTTP_503_SERVICE_UNAVAILABLE,
                    headers={"Retry-After": str(DATABASE_RETRY_AFTER)})


def exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's ``EXCEPTION_HANDLER``: every error in the one shape, an unexpected one as a 500
    whose traceback goes to the log (not to the client)."""
    response = domain_response(exc)
    if response is not None:
        return response
    if isinstance(exc, OperationalError | InterfaceError):
        return database_unavailable(exc, context)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or "not found")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    response = drf_exception_handler(exc, context)
    if response is None:
        return server_error(exc, context)
    response.data = {"errors": _from_api_exception(exc)}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        resets_at = timezone.now() + timedelta(seconds=math.ceil(exc.wait))
        response.data["resets_at"] = resets_at.isoformat()
    return response


@csrf_exempt  # a POST to a wrong address is a 404, not a CSRF failure page
def not_found(request, *args, **kwargs) -> JsonResponse:
    """Any ``/api/`` address that matches nothing: a 404 in the API's shape, not HTML."""
    return JsonResponse({"errors": [error("not_found", f"no API endpoint at {request.path}; "
                                          "see /api/docs/")]}, status=404)
