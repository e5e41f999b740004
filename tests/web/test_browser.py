"""The site in a real browser (Debian's Chromium, headless) against a live server with a real
Celery worker on a private Redis and the real ELUE data: what a researcher does every day.

Each test saves screenshots under ``var/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core import mail

from leaderboard.models import (
    Basis,
    Entry,
    OperatingPoint,
    ReferenceVersion,
    Submission,
    Task,
)
from leaderboard.scoring import score_entry
from tests.actors import confirmed_user
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
    confirmed_user(django_user_model, "erin", "pw-erin-123")
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
    confirmed_user(django_user_model, "finn", "pw-finn-123")
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



def board_order(page) -> list[str]:
    return page.eval_on_selector_all("tr.entry", "rows => rows.map(r => r.dataset.entry)")


def api_order(tab: Visit, query: str) -> list[str]:
    response = tab.context.request.get(f"/api/v1/leaderboard/?page_size=200&{query}")
    assert response.ok, response.text()
    return [row["entry"]["name"] for row in response.json()["results"]]


def test_a_researcher_sets_a_budget_and_shares_the_view(visit):
    tab = visit()
    page = tab.go("/")
    everything = board_order(page)
    page.fill("#id_max_mflops", "30000")
    page.fill("#id_max_mparams", "70")
    # The table follows as one types (no submit), and the address bar carries the budget.
    page.wait_for_url(re.compile(r".*\?max_mflops=30000&max_mparams=70$"))
    page.wait_for_selector("table.within-budget")
    within = board_order(page)
    assert within != everything and set(within) < set(everything)
    assert "BERT-BASE" in within and "at most 30000 MFLOPs and 70 M params" in page.inner_text(
        ".budget-summary")
    assert within == api_order(tab, "max_mflops=30000&max_mparams=70")
    tab.shot("leaderboard-budget")

    page.reload()  # the shared link shows the same view
    assert board_order(page) == within
    assert page.input_value("#id_max_mflops") == "30000"
    page.click("a.budget-clear")
    page.wait_for_url(re.compile(r".*/$"))
    assert board_order(page) == everything
    assert tab.foreign_requests() == []


def test_the_budget_table_works_without_javascript(visit):
    tab = visit(java_script_enabled=False)
    page = tab.go("/?track=70")
    page.fill("#id_max_mflops", "1500")
    page.click("form.budget button[type=submit]")
    page.wait_for_url(re.compile(r".*\?track=70&max_mflops=1500&max_mparams=$"))
    assert board_order(page) == api_order(tab, "track=70&max_mflops=1500")
    response = page.goto("/?max_mflops=%C2%B2")  # a hand-edited link
    assert response.status == 400
    assert "Max MFLOPs per example: must be" in page.inner_text("#budget-errors")
    assert len(board_order(page)) == 16


def highlighted_on_hover(page, name: str) -> dict:
    """Move the real mouse onto the first point of ``name``'s curve; what the chart shows."""
    box = page.evaluate("""name => {
        const gd = document.getElementById('task-chart');
        const i = gd.data.findIndex(t => t.name === name);
        const size = gd._fullLayout._size, rect = gd.getBoundingClientRect();
        const x = gd._fullLayout.xaxis.l2p(Math.log10(gd.data[i].x[0])) + size.l;
        const y = gd._fullLayout.yaxis.l2p(gd.data[i].y[0]) + size.t;
        return {x: rect.left + x, y: rect.top + y};
    }""", name)
    page.mouse.move(box["x"], box["y"])
    page.wait_for_function("document.getElementById('task-chart').dataset.highlighted")
    return page.evaluate("""() => {
        const gd = document.getElementById('task-chart');
        return {name: gd.dataset.highlighted,
                faded: gd.data.filter(t => t.meta && t.meta.entry && t.opacity < 0.5).length,
                entries: gd.data.filter(t => t.meta && t.meta.entry).length};
    }""")


def add_entry(owner, name: str, kind: str, mflops: float, performance: float,
              mparams: float) -> Entry:
    """A scored entry of any kind with one SST-2 point, as a finished submission leaves it."""
    entry = Entry.objects.create(owner=owner, name=name, kind=kind)
    OperatingPoint.objects.create(entry=entry, task=Task.objects.get(slug="sst-2"), name="6L",
                                  mflops=mflops, performance=performance, mparams=mparams,
                                  mflops_basis=Basis.DECLARED)
    score_entry(entry, ReferenceVersion.objects.current())
    return entry


def test_a_task_page_with_a_budget_shades_the_chart_and_ranks_the_table(visit, alice):
    # Twenty entries on SST-2: the seeded sixteen (published) and four of the other kinds.
    for i, (kind, mflops, performance) in enumerate([
            ("declared", 900, 80.2), ("verified", 1300, 84.9), ("model", 1800, 86.1),
            ("declared", 3100, 88.0)]):
        add_entry(alice, f"Compact-{i + 1}", kind, mflops, performance, 30 + 10 * i)
    tab = visit(viewport={"width": 1400, "height": 900})
    page = tab.go("/tasks/sst-2/")
    assert len(chart_traces(page)) == 22  # the reference, the front, twenty entries
    groups = page.evaluate("document.getElementById('task-chart').data"
                           ".filter(t => t.legendgrouptitle).map(t => t.legendgrouptitle.text)")
    assert groups == ["Benchmark", "Benchmark", "Published", "Declared cost", "Verified cost",
                      "Model"]
    seen = highlighted_on_hover(page, "Compact-2")
    assert seen == {"name": "Compact-2", "faded": 19, "entries": 20}
    ticks = page.eval_on_selector_all(".xtick text", "ticks => ticks.map(t => t.textContent)")
    assert {"1k", "2k", "3k", "4k"} <= set(ticks)
    tab.shot("task-sst-2-twenty-entries")

    page.mouse.move(5, 5)
    page.fill("#id_max_mflops", "2000")
    page.wait_for_url(re.compile(r".*/tasks/sst-2/\?max_mflops=2000$"))
    page.wait_for_function("document.getElementById('task-chart').layout.shapes.length === 1")
    assert "Pareto front within budget" in chart_traces(page)
    order = board_order(page)
    assert order == api_order(tab, "task=sst-2&max_mflops=2000") and "Compact-3" in order
    assert "Compact-4" not in order  # its only point costs 3,100 MFLOPs
    tab.shot("task-sst-2-budget")

    page.reload()
    assert board_order(page) == order
    page.wait_for_function("document.getElementById('task-chart').layout.shapes.length === 1")
    assert tab.foreign_requests() == []


def test_a_published_entry_shows_the_printed_scores_and_why_they_differ(visit):
    tab = visit()
    page = tab.go("/")
    page.click('tr[data-entry="BERT-BASE"] td.model a')
    page.wait_for_url(re.compile(r".*/entries/\d+/$"))
    assert "the paper printed -3.70" in page.inner_text(".facts")
    mrpc = page.inner_text('#paper-scores tr[data-task="mrpc"]')
    assert "-5.88" in mrpc and "-5.53" in mrpc and "4L point on SST-2" in mrpc
    tab.shot("entry-published-printed-scores")
def test_pages_work_under_the_content_security_policy_and_names_stay_text(visit,
                                                                          django_user_model):
    from leaderboard.published import PublishedPoint, create_published_entry
    from tests.reviews import approved

    owner = confirmed_user(django_user_model, "mallory", "pw-mallory-1")
    approved(create_published_entry(owner, [PublishedPoint("sst-2", "", 900, 91.0)],
                                    name='<a href="https://evil.example/">Prize</a>'))
    tab = visit()
    for path in ("/", "/about/", "/accounts/login/", "/admin/login/"):
        tab.go(path)
    tab.go("/api/docs/").wait_for_selector(".swagger-ui .opblock")  # its script ran
    page = tab.go("/tasks/sst-2/")
    assert '&lt;a href="https://evil.example/"&gt;Prize&lt;/a&gt;' in chart_traces(page)
    assert page.locator('#task-chart a[href*="evil.example"]').count() == 0
    assert '<a href="https://evil.example/">Prize</a>' in page.inner_text("#task-chart")
    tab.shot("task-sst-2-html-name")
    log_in(tab, "mallory", "pw-mallory-1")
    tab.go("/submit/")
    assert [e for e in tab.errors if "Content Security Policy" in e] == []
    assert tab.foreign_requests() == []
