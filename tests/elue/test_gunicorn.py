"""The web server as deployed (gunicorn with ``gunicorn.conf.py``): slow uploads do not stall
other requests."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO_DIR
from tests.pipeline.harness import base_env, free_port, wait_for

GUNICORN = Path(sys.executable).parent / "gunicorn"
SLOW_UPLOADS = 3


def answers(url: str, timeout: float) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def web(tmp_path):
    """gunicorn started as the image's entrypoint starts it (its settings file from the
    repository root), with a single process: the case where one stalled worker would be
    the whole server."""
    port = free_port()
    env = base_env(ELUE_VAR_DIR=tmp_path / "var", WEB_CONCURRENCY=1)
    with open(tmp_path / "gunicorn.log", "wb") as log:
        process = subprocess.Popen([str(GUNICORN), "elue.wsgi:application", "--bind",
                                    f"127.0.0.1:{port}"], cwd=REPO_DIR, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: answers(url + "/healthz", 2), 60, 0.2, "gunicorn")
        yield url, port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def start_slow_upload(port: int) -> socket.socket:
    """An upload that announces 10 MB and sends its first bytes only."""
    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall(b"POST /api/v1/submissions/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       b"Content-Type: multipart/form-data; boundary=x\r\n"
                       b"Content-Length: 10000000\r\n\r\n--x\r\n")
    return connection


def test_slow_uploads_leave_the_server_answering(web):
    url, port = web
    slow = [start_slow_upload(port) for _ in range(SLOW_UPLOADS)]
    try:
        time.sleep(1)  # each is now being read by the server
        started = time.monotonic()
        assert answers(url + "/healthz", timeout=5)
        assert time.monotonic() - started < 5
    finally:
        for connection in slow:
            connection.close()
