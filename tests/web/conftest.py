"""Fixtures for the site's pages (actors and the seeded benchmark: tests/actors.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.web.browser import CHROMIUM, CHROMIUM_ARGS, Visit

# Playwright's sync API runs an event loop in the test thread; Django would then refuse the
# test's own ORM calls (SynchronousOnlyOperation) although nothing here is asynchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def alice_client(client, alice):
    client.force_login(alice)
    return client


@pytest.fixture
def browser(live_stack):
    """Chromium, started after the database is set up: while Playwright's sync API runs, its
    event loop gives Django's ORM other connection objects than the test database's."""
    if not Path(CHROMIUM).exists():
        # A fail, not a skip: CI must not pass without having driven a browser.
        pytest.fail(f"{CHROMIUM} is not installed: `make test` installs it "
                    "(scripts/system-deps.sh), or apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def visit(browser, live_stack):
    opened = []

    def open_tab(**options) -> Visit:
        opened.append(Visit(browser, live_stack.url, **options))
        return opened[-1]

    yield open_tab
    for tab in opened:
        tab.close()
