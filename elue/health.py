"""``/healthz``: is this web process able to do its job? For load balancers, compose and
monitoring. 200 when the database, the broker and the file store (uploads and hidden test
data: local folders or the S3 bucket) answer, 503 (with which one failed) when not.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from elue.celery import app
from elue.storage import check_stores

BROKER_TIMEOUT = 2.0  # seconds: a health probe must answer quickly even when Redis is gone


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def check_broker() -> None:
    """Connect to the broker (Redis: a round trip; filesystem: the folders are writable)."""
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=BROKER_TIMEOUT)
        if conn.transport_cls == "filesystem":
            queue = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
            probe = f"{queue}/.healthz"
            with open(probe, "w") as handle:
                handle.write("ok")


CHECKS: dict[str, Callable[[], None]] = {"database": check_database, "broker": check_broker,
                                         "store": check_stores}


def run_check(check: Callable[[], None]) -> dict:
    started = time.monotonic()
    try:
        check()
    except Exception as error:  # any failure means unhealthy; say which and why
        return {"status": "error", "error": f"{type(error).__name__}: {error}"[:300]}
    return {"status": "ok", "ms": round((time.monotonic() - started) * 1000, 1)}


@never_cache
@require_GET
def healthz(request):
    results = {name: run_check(check) for name, check in CHECKS.items()}
    healthy = all(r["status"] == "ok" for r in results.values())
    return JsonResponse({"status": "ok" if healthy else "error", "checks": results},
                        status=200 if healthy else 503)
