"""Fixtures for the site's pages (actors and the seeded benchmark: tests/actors.py)."""

from __future__ import annotations

import os

import pytest

# Playwright's sync API runs an event loop in the test thread; Django would then refuse the
# test's own ORM calls (SynchronousOnlyOperation) although nothing here is asynchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client
