"""The site in a real browser (Debian's Chromium, headless) against a live server with a real
Celery worker on a private Redis and the real ELUE data: what a researcher does every day.

The fixtures and steps they share are in ``tests/web/conftest.py`` and
``tests/web/browser.py``; the budget explorer's tests in ``test_budget_browser.py``. Each
test saves screenshots under ``var/screenshots/`` for a person to look at.
"""

from __future__ import annotations

import re

import pytest

from leaderboard.models import (
    Entry,
    Submission,
)
from tests.actors import confirmed_user
from tests.pipeline.bundles import declared_bundle, malformed_bundle
from tests.web.browser import chart_traces, log_in, sign_up

pytestmark = [pytest.mark.slow,
              pytest.mark.django_db(transaction=True)]

SCORED_TIMEOUT_MS = 120_000  # a five-task declared-cost evaluation takes about a second


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
