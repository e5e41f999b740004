"""A small client of the ELUE REST API (``/api/v1/``, docs/api.md), on ``requests``.

Every failed call raises ``ApiError`` carrying the server's errors (code, message, file,
line, field), so callers can print them all or act on a code.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

from elue_cli import __version__

CONNECT_TIMEOUT = 10  # seconds
READ_TIMEOUT = 300  # seconds: the server checks an upload before answering
RETRIES = 3  # for a submission after a dropped connection or a 502/503/504 (same key)
RETRY_STATUSES = (502, 503, 504)


class ApiError(Exception):
    """The server refused a request (``status``) or could not be reached (``status`` 0)."""

    def __init__(self, status: int, errors: list[dict], resets_at: str | None = None):
        self.status, self.errors, self.resets_at = status, errors, resets_at
        super().__init__("; ".join(e.get("message", "") for e in errors))

    @property
    def codes(self) -> list[str]:
        return [e.get("code", "") for e in self.errors]


def _errors_of(response: requests.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("errors"), list):
        return ApiError(response.status_code, body["errors"], body.get("resets_at"))
    text = response.text.strip()[:200] or response.reason
    return ApiError(response.status_code, [{"code": "http_error", "message":
                                            f"HTTP {response.status_code} from "
                                            f"{response.url}: {text}"}])


class Client:
    def __init__(self, url: str, token: str | None = None,
                 session: requests.Session | None = None):
        self.url = url.rstrip("/")
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = f"elue-cli/{__version__}"
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def _request(self, method: str, path: str, **kwargs) -> requests.Response:
        url = path if path.startswith("http") else f"{self.url}/api/v1/{path.lstrip('/')}"
        try:
            response = self.session.request(method, url, timeout=(CONNECT_TIMEOUT,
                                                                  READ_TIMEOUT), **kwargs)
        except requests.ConnectionError as exc:
            raise ApiError(0, [{"code": "unreachable", "message": f"cannot reach the ELUE "
                                f"server at {self.url} ({exc.__class__.__name__}); check "
                                "ELUE_URL"}]) from None
        except requests.Timeout:
            raise ApiError(0, [{"code": "timeout", "message": f"{self.url} did not answer "
                                f"within {READ_TIMEOUT} s"}]) from None
        if response.status_code >= 400:
            raise _errors_of(response)
        return response

    def get(self, path: str, **params) -> Any:
        return self._request("GET", path, params=params).json()

    def submit(self, bundle: Path, fields: dict[str, str], key: str | None = None) -> dict:
        """Upload a zip; retried after a dropped connection with the same
        ``Idempotency-Key``, so the server creates one submission however often it runs."""
        headers = {"Idempotency-Key": key or str(uuid.uuid4())}
        for attempt in range(RETRIES + 1):
            try:
                with open(bundle, "rb") as handle:
                    return self._request("POST", "submissions/", data=fields, headers=headers,
                                         files={"bundle": (bundle.name, handle,
                                                           "application/zip")}).json()
            except ApiError as exc:
                retry = exc.status in (0, *RETRY_STATUSES) or "idempotency_in_progress" in (
                    exc.codes)
                if not retry or attempt == RETRIES:
                    raise
                time.sleep(2 ** attempt)
        raise AssertionError("unreachable")

    def submission(self, submission_id: int) -> dict:
        return self.get(f"submissions/{submission_id}/")

    def entry(self, entry_id: int) -> dict:
        return self.get(f"entries/{entry_id}/")

    def leaderboard(self, **filters) -> Iterator[dict]:
        """Every row, following the pages."""
        page: str | None = "leaderboard/"
        params = {k: v for k, v in filters.items() if v is not None} | {"page_size": 200}
        while page:
            body = self._request("GET", page, params=params).json()
            yield from body["results"]
            page, params = body.get("next"), {}

    def leaderboard_csv(self, **filters) -> str:
        params = {k: v for k, v in filters.items() if v is not None} | {"format": "csv"}
        return self._request("GET", "leaderboard/", params=params).text
