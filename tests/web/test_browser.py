"""The site in a real browser (Debian's Chromium, headless) against a live server with a real
Celery worker on a private Redis and the real ELUE data: what a researcher does every day.

Each test saves screenshots under ``var/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from leaderboard.models import Entry, Submission
from tests.conftest import REPO_DIR
from tests.pipeline.bundles import declared_bundle, malformed_bundle

pytestmark = [pytest.mark.slow,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
SCREENSHOTS = REPO_DIR / "var" / "screenshots"
SCORED_TIMEOUT_MS = 120_000  # a five-task declared-cost evaluation takes about a second


@pytest.fixture
def browser(live_stack):
    """Chromium, started after the database is set up: while Playwright's sync API runs, its
    event loop gives Django's ORM other connection objects, without the state that
    ``serialized_rollback`` needs to restore the tasks after the test."""
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


class Visit:
    """A browser tab on the live server that records every request it makes."""

    def __init__(self, browser, base_url: str, **context_options):
        self.base_url = base_url
        self.context = browser.new_context(base_url=base_url, **context_options)
        self.page = self.context.new_page()
        self.page.set_default_timeout(20_000)
        self.requests: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))

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


@pytest.fixture
def visit(browser, live_stack):
    opened = []

    def open_tab(**options) -> Visit:
        opened.append(Visit(browser, live_stack.url, **options))
        return opened[-1]

    yield open_tab
    for tab in opened:
        tab.close()


def sign_up(tab: Visit, username: str) -> None:
    page = tab.go("/accounts/signup/")
    page.fill("#id_username", username)
    page.fill("#id_email", f"{username}@example.org")
    page.fill("#id_password1", "a-long-pass-123")
    page.fill("#id_password2", "a-long-pass-123")
    tab.shot("signup")
    page.click("form.narrow button[type=submit]")
    page.wait_for_url("**/submit/")


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


def test_a_researcher_submits_and_finds_the_entry_everywhere(visit, tmp_path):
    tab = visit()
    sign_up(tab, "dora")
    page = tab.page
    tab.shot("submit-empty")
    page.set_input_files("#id_files", str(declared_bundle(tmp_path / "dora.zip")))
    page.wait_for_selector("#check-results .ok")  # the live check, before sending
    assert "5 operating point(s)" in page.inner_text("#check-results")
    page.fill("#id_name", "Dora-BERT-6L")
    page.fill("#id_paper_url", "https://example.org/dora")
    tab.shot("submit-checked")
    page.click("#submit-form button[type=submit]")
    page.wait_for_url("**/me/submissions/")

    # The status reaches "scored" through the poller: the page is never reloaded.
    page.evaluate("window.__notReloaded = true")
    card = page.locator("article.submission").first
    card.locator("xpath=self::*[@data-status='scored']").wait_for(timeout=SCORED_TIMEOUT_MS)
    assert page.evaluate("window.__notReloaded") is True
    assert "Scored" in card.inner_text() and "Dora-BERT-6L" in card.inner_text()
    tab.shot("my-submissions-scored")

    page = tab.go("/")
    row = page.locator('tr[data-entry="Dora-BERT-6L"]')
    assert row.count() == 1 and "Declared cost" in row.inner_text()
    assert row.locator("td.coverage").inner_text() == "5/6"
    tab.shot("leaderboard")

    page = tab.go("/tasks/sst-2/")
    assert "Dora-BERT-6L" in chart_traces(page)
    assert "ElasticBERT-BASE (reference)" in chart_traces(page)
    tab.shot("task-sst-2")
    page.click("button[data-axis=mparams]")
    page.wait_for_function("document.getElementById('task-chart').dataset.axis === 'mparams'")
    assert page.evaluate("document.getElementById('task-chart').layout.xaxis.title.text"
                         ).startswith("MParams")
    tab.shot("task-sst-2-mparams")

    page.click('tr[data-entry="Dora-BERT-6L"] a')
    page.wait_for_url(re.compile(r".*/entries/\d+/$"))
    text = page.inner_text("main")
    assert "against reference curve v1" in text and "SciTail" in text
    assert "run: scored by ELUE from the predictions" in text
    tab.shot("entry")

    page.click("text=Make private")
    page.wait_for_selector(".badge.private")
    assert Entry.objects.get(name="Dora-BERT-6L").visibility == "private"
    assert tab.go("/").locator('tr[data-entry="Dora-BERT-6L"]').count() == 0
    assert tab.foreign_requests() == []


def test_a_broken_bundle_shows_its_errors_on_the_form(visit, tmp_path, django_user_model):
    django_user_model.objects.create_user("erin", "erin@example.org", "pw-erin-123")
    tab = visit()
    log_in(tab, "erin", "pw-erin-123")
    page = tab.go("/submit/")
    page.set_input_files("#id_files", str(malformed_bundle(tmp_path / "broken.zip")))
    page.wait_for_selector('#check-results .problem-group[data-file="mrpc.tsv"]')
    live = page.inner_text('#check-results .problem-group[data-file="mrpc.tsv"]')
    assert "line 3" in live and "line 6" in live
    tab.shot("submit-live-check-errors")
    page.fill("#id_name", "Broken")
    page.click("#submit-form button[type=submit]")
    page.wait_for_load_state()
    sent = page.inner_text('#check-results .problem-group[data-file="snli.tsv"]')
    assert "9,824" in sent
    tab.shot("submit-errors")
    assert not Submission.objects.exists()
    assert tab.foreign_requests() == []


def test_the_published_form_shows_a_bad_row_error_next_to_the_row(visit, django_user_model):
    django_user_model.objects.create_user("finn", "finn@example.org", "pw-finn-123")
    tab = visit()
    log_in(tab, "finn", "pw-finn-123")
    page = tab.go("/submit/published/")
    page.fill("#id_entry-name", "Finn-Net")
    for row, (task, mflops, perf) in enumerate([("sst-2", "1500", "88"),
                                                ("mrpc", "-3", "85")]):
        page.select_option(f"#id_points-{row}-task", task)
        page.fill(f"#id_points-{row}-name", "6L")
        page.fill(f"#id_points-{row}-mflops", mflops)
        page.fill(f"#id_points-{row}-performance", perf)
    page.click("#add-row")
    assert page.locator("tr.point-row").count() == 7
    page.click("#published-form button[type=submit]")
    page.wait_for_load_state()
    cell = page.locator('tr[data-row="1"] td[data-field="mflops"] .error')
    assert "mflops must be a positive number" in cell.inner_text()
    assert page.locator('tr[data-row="0"] .error').count() == 0
    tab.shot("published-form-errors")
    page.fill("#id_points-1-mflops", "1200")
    page.click("#published-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/entries/\d+/$"))
    assert "Finn-Net" in page.inner_text("h1")
    tab.shot("published-entry")


def test_cancel_and_visibility_from_my_submissions(visit, django_user_model):
    gail = django_user_model.objects.create_user("gail", "gail@example.org", "pw-gail-123")
    # Not sent to the broker: it stays queued until cancelled.
    waiting = Submission.objects.create(owner=gail, name="Waiting", kind=Entry.Kind.DECLARED,
                                        bundle="none.zip", status=Submission.Status.QUEUED)
    waiting.record_event(Submission.Status.QUEUED, "files valid")
    tab = visit()
    log_in(tab, "gail", "pw-gail-123")
    page = tab.page
    card = page.locator(f"#submission-{waiting.pk}")
    card.locator("text=Make private").click()
    page.wait_for_selector(f"#submission-{waiting.pk} .badge.private")
    card.locator("text=Cancel").click()
    page.wait_for_selector(f"#submission-{waiting.pk}[data-status=cancelled]")
    waiting.refresh_from_db()
    assert (waiting.status, waiting.visibility) == ("cancelled", "private")
    tab.shot("my-submissions-cancelled")


def test_the_leaderboard_fits_a_phone(visit):
    tab = visit(viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True)
    page = tab.go("/")
    assert page.locator("tr.entry").count() == 16
    # The page itself does not scroll sideways; the wide table scrolls inside its box.
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    tab.shot("leaderboard-phone")
    page = tab.go("/tasks/mrpc/")
    assert len(chart_traces(page)) > 5
    tab.shot("task-mrpc-phone")
    assert tab.foreign_requests() == []


def test_the_about_page_draws_the_score_from_the_reference_curve(visit):
    tab = visit()
    page = tab.go("/about/")
    page.wait_for_function("document.getElementById('score-chart').data !== undefined")
    names = page.evaluate("document.getElementById('score-chart').data.map(t => t.name)")
    assert names == ["ElasticBERT-BASE (reference)", "Perf − Ref(FLOPs)", "LayerDrop (example)"]
    tab.shot("about")
    assert tab.foreign_requests() == []



def test_the_task_chart_switches_to_measured_latency_and_energy(visit):
    from tests.measured import figures, measured_entry, profile, reference

    gpu, cpu = profile(), profile("fedcba9876543210", "AMD EPYC 9654 · 1 thread · fp32", "cpu")
    reference(gpu)
    measured_entry("Fast BERT", gpu, [("0.5", 1500.0, 88.0, figures(3.0)),
                                      ("0.9", 3000.0, 91.0, figures(6.0))])
    measured_entry("CPU BERT", cpu, [("static", 3000.0, 90.0, figures(60.0, energy=None))])
    tab = visit()
    page = tab.go("/tasks/sst-2/")
    assert page.locator(".profile-choice").is_hidden()
    page.click("button[data-axis=latency]")
    page.wait_for_function("document.getElementById('task-chart').dataset.axis === 'latency'")
    assert page.locator(".profile-choice").is_visible()
    assert "Fast BERT" in chart_traces(page) and "CPU BERT" not in chart_traces(page)
    assert page.evaluate("document.getElementById('task-chart').layout.xaxis.title.text"
                         ).startswith("Latency")
    tab.shot("task-sst-2-latency")
    page.select_option("#profile-select", "fedcba9876543210")
    page.wait_for_function("document.getElementById('task-chart').dataset.profile === "
                           "'fedcba9876543210'")
    assert chart_traces(page) == ["Pareto front", "CPU BERT"]
    page.click("button[data-axis=energy]")
    assert page.locator("#profile-empty").is_visible()  # no energy counter on that CPU
    page.select_option("#profile-select", "0123456789abcdef")
    page.wait_for_function("document.getElementById('task-chart').dataset.profile === "
                           "'0123456789abcdef'")
    assert "Fast BERT" in chart_traces(page)
    tab.shot("task-sst-2-energy")
    assert tab.foreign_requests() == []
