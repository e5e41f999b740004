"""Driving the site in Debian's Chromium (headless) with Playwright: a tab that records
its requests and console errors, and the steps every browser test shares. The fixtures that
start the browser are in ``tests/web/conftest.py``."""

from __future__ import annotations

import re

from django.core import mail

from tests.conftest import REPO_DIR

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = REPO_DIR / "var" / "screenshots"


class Visit:
    """A browser tab on the live server that records every request it makes."""

    def __init__(self, browser, base_url: str, **context_options):
        self.base_url = base_url
        self.context = browser.new_context(base_url=base_url, **context_options)
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.requests: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.errors: list[str] = []  # console errors, Content-Security-Policy refusals among them
        self.page.on("console", lambda message: self.errors.append(message.text)
                     if message.type == "error" else None)

    def go(self, path: str):
        response = self.page.goto(path)
        assert response.ok, f"{path}: HTTP {response.status}"
        return self.page

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    def foreign_requests(self) -> list[str]:
        return [u for u in self.requests
                if not u.startswith(self.base_url) and not u.startswith(("data:", "blob:"))]

    def close(self) -> None:
        self.context.close()


def sign_up(tab: Visit, username: str) -> None:
    """Sign up, then confirm the address with the link from the mail, as a researcher
    would before the first submission; ends on the submit page."""
    page = tab.go("/accounts/signup/")
    page.fill("#id_username", username)
    page.fill("#id_email", f"{username}@example.org")
    page.fill("#id_password1", "a-long-pass-123")
    page.fill("#id_password2", "a-long-pass-123")
    tab.shot("signup")
    page.click("form.narrow button[type=submit]")
    page.wait_for_url("**/submit/")
    assert "Confirm your e-mail address before your first submission" in page.inner_text("main")
    tab.shot("submit-unconfirmed")
    [sent] = [m for m in mail.outbox if m.to == [f"{username}@example.org"]]
    link = re.search(r"https?://\S+(/accounts/confirm/\S+/)", sent.body)[1]
    assert "is confirmed" in tab.go(link).inner_text("#confirm-done")
    tab.shot("email-confirmed")
    tab.go("/submit/")


def log_in(tab: Visit, username: str, password: str) -> None:
    page = tab.go("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    tab.shot("login")
    page.click("form.narrow button[type=submit]")
    page.wait_for_url("**/me/submissions/")


def chart_traces(page) -> list[str]:
    page.wait_for_function("document.getElementById('task-chart').data !== undefined")
    return page.evaluate("document.getElementById('task-chart').data.map(t => t.name)")


def board_order(page) -> list[str]:
    return page.eval_on_selector_all("tr.entry", "rows => rows.map(r => r.dataset.entry)")


def api_order(tab: Visit, query: str) -> list[str]:
    response = tab.context.request.get(f"/api/v1/leaderboard/?page_size=200&{query}")
    assert response.ok, response.text()
    return [row["entry"]["name"] for row in response.json()["results"]]
