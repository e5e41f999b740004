"""The moderation queue of published entries in the admin, and what the submitter is told: on
the entry page, on My submissions and by e-mail; the form's limits."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client

from leaderboard.models import Entry
from leaderboard.published import PublishedPoint, create_published_entry
from tests.reviews import approved
from tests.web.test_submit_pages import ROW, published

pytestmark = pytest.mark.django_db

QUEUE = "/admin/leaderboard/entryawaitingreview/"


@pytest.fixture
def moderator(django_user_model) -> Client:
    staff = django_user_model.objects.create_superuser("sam", "sam@example.org", "pw-sam-123")
    client = Client()
    client.force_login(staff)
    return client


def entry_of(owner, name: str, **fields) -> Entry:
    return create_published_entry(owner, [PublishedPoint("sst-2", "", 100, 80)], name=name,
                                  **fields)


def test_the_queue_lists_what_waits_for_review_oldest_first(moderator, alice, bob, seeded):
    first = entry_of(alice, "First")
    entry_of(bob, "Second")
    entry_of(alice, "Kept private", visibility=Entry.Visibility.PRIVATE)
    approved(entry_of(bob, "Done"))
    html = moderator.get(QUEUE).content.decode()
    assert html.index("First") < html.index("Second")
    for absent in ("Kept private", "Done", "HashEE"):
        assert absent not in html
    assert "Approve the selected published entries" in html
    detail = moderator.get(f"{QUEUE}{first.pk}/change/")
    assert detail.status_code == 200 and "100.0" in detail.content.decode()  # its MFLOPs
    assert moderator.get(f"{QUEUE}add/").status_code == 403
    assert "Published entries awaiting review" in moderator.get("/admin/").content.decode()
    pending = moderator.get("/admin/leaderboard/entry/?review__exact=pending").content.decode()
    assert "First" in pending and "Kept private" in pending and "Done" not in pending


def review(moderator, entry: Entry, action: str, **form) -> object:
    return moderator.post(QUEUE, {"action": action, "_selected_action": [entry.pk], **form})


def test_approving_asks_for_a_reason_then_publishes_and_mails(
        moderator, alice, seeded, django_capture_on_commit_callbacks):
    entry = entry_of(alice, "Checked")
    page = review(moderator, entry, "approved_entries")
    assert page.status_code == 200 and 'name="reason"' in page.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = review(moderator, entry, "approved_entries", apply="Approve",
                      reason="numbers match Table 3")
    assert done.status_code == 302
    entry.refresh_from_db()
    assert entry.review == Entry.Review.APPROVED and entry.reviewed_by.username == "sam"
    assert Entry.objects.public().filter(pk=entry.pk).exists()
    [notice] = mail.outbox
    assert notice.to == ["alice@example.org"]
    assert f"http://testserver/entries/{entry.pk}/" in notice.body
    assert "Checked" not in moderator.get(QUEUE).content.decode()


def test_rejecting_needs_a_reason_which_the_owner_then_sees(
        moderator, alice, seeded, client, django_capture_on_commit_callbacks):
    entry = entry_of(alice, "Inflated")
    refused = review(moderator, entry, "rejected_entries", apply="Reject", reason=" ")
    assert "Say why: the submitter is told the reason." in refused.content.decode()
    entry.refresh_from_db()
    assert entry.review == Entry.Review.PENDING
    with django_capture_on_commit_callbacks(execute=True):
        review(moderator, entry, "rejected_entries", apply="Reject",
               reason="the paper reports 81.0")
    entry.refresh_from_db()
    assert entry.review == Entry.Review.REJECTED and len(mail.outbox) == 1
    client.force_login(alice)
    page = client.get(f"/entries/{entry.pk}/").content.decode()
    assert "Staff did not accept this entry" in page and "Reason: the paper reports 81.0" in page
    mine = client.get("/me/submissions/").content.decode()
    assert "rejected</span>): the paper reports 81.0" in mine


def test_the_owner_is_told_the_entry_waits_for_review(alice_client, alice, bob, seeded):
    response = alice_client.post("/submit/published/", published([ROW]), follow=True)
    html = response.content.decode()
    assert "Staff review it before it is public; you are e-mailed the decision." in html
    assert "Staff review every published entry before it is public" in html
    assert "awaiting review" in alice_client.get("/me/submissions/").content.decode()
    entry = Entry.objects.get(name="PaperNet")
    assert Client().get(f"/entries/{entry.pk}/").status_code == 404
    other = Client()
    other.force_login(bob)
    assert other.get(f"/entries/{entry.pk}/").status_code == 404


def test_the_form_states_the_limits_and_refuses_over_the_daily_one(alice_client, seeded,
                                                                   settings):
    settings.ELUE_DAILY_PUBLISHED = 1
    page = alice_client.get("/submit/published/").content.decode()
    assert "At most 24 points per task" in page and "1 published entries per 24 hours" in page
    alice_client.post("/submit/published/", published([ROW]))
    refused = alice_client.post("/submit/published/", published([ROW]) | {
        "entry-name": "Second"})
    assert refused.status_code == 400
    assert "You have entered your 1 published entries of the last 24 hours" in (
        refused.content.decode())
    assert not Entry.objects.filter(name="Second").exists()
