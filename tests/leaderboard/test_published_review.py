"""Staff review of published entries (issue 13, finding 6: public at once). Until approved, an
entry typed in by a user is seen by its owner and staff alone: not on the board, a task page,
the API's lists, the CSV or another entry's standing. Approving shows it everywhere; rejecting
keeps it hidden and tells the owner why. Seeded entries need no review."""

from __future__ import annotations

import csv
import importlib
import io

import pytest
from django.apps import apps
from django.core import mail

from leaderboard.actions import ActionRefused, review_entry
from leaderboard.models import Entry, PublishedEntryRecord
from leaderboard.published import PublishedPoint, create_published_entry
from leaderboard.seeding import load_published
from leaderboard.standing import pareto_status
from tests.actors import confirmed_user
from tests.api.conftest import client_for

pytestmark = pytest.mark.django_db

NAME = "Pending Wonder"  # best on SST-2 at almost no cost: first on any board that shows it


@pytest.fixture
def pending(alice, seeded) -> Entry:
    return create_published_entry(alice, [PublishedPoint("sst-2", "", 1.0, 99.9),
                                          PublishedPoint("mrpc", "", 1.0, 99.9)], name=NAME)


@pytest.fixture
def staff(django_user_model):
    return confirmed_user(django_user_model, "sam", "pw-sam-123", is_staff=True)


def shown_anywhere(entry: Entry) -> dict[str, bool]:
    """Where an anonymous visitor meets the entry: every public door of the site and API."""
    site, api = client_for(), client_for()
    rows = api.get("/api/v1/leaderboard/?page_size=500").json()["results"]
    listed = api.get("/api/v1/entries/?page_size=500").json()["results"]
    table = list(csv.DictReader(io.StringIO(
        api.get("/api/v1/leaderboard/?format=csv").content.decode())))
    weak = Entry.objects.get(name="DeeBERT (BERT)")
    return {
        "board": entry.name in site.get("/").content.decode(),
        "task page": entry.name in site.get("/tasks/sst-2/").content.decode(),
        "entry page": site.get(f"/entries/{entry.pk}/").status_code == 200,
        "api detail": api.get(f"/api/v1/entries/{entry.pk}/").status_code == 200,
        "api list": entry.name in {e["name"] for e in listed},
        "api leaderboard": entry.name in {r["entry"]["name"] for r in rows},
        "csv": entry.name in {r["name"] for r in table},
        "standing of others": any(entry in task.dominated_by for task in pareto_status(weak)),
    }


def test_a_pending_entry_is_shown_nowhere_but_to_its_owner_and_staff(pending, alice, bob,
                                                                       staff):
    assert pending.review == Entry.Review.PENDING and pending.visibility == "public"
    assert shown_anywhere(pending) == dict.fromkeys(shown_anywhere(pending), False)
    assert client_for(bob).get(f"/api/v1/entries/{pending.pk}/").status_code == 404
    for user in (alice, staff):
        assert client_for(user).get(f"/api/v1/entries/{pending.pk}/").json()[
            "review"] == "pending"
    # The owner sees where it would stand, against the public entries.
    [sst2, _] = pareto_status(pending)
    assert sst2.on_front


def test_approving_shows_it_everywhere_and_tells_the_owner(
        pending, staff, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        review_entry(pending, Entry.Review.APPROVED, staff, "matches Table 2",
                     "http://testserver/entries/1/")
    assert shown_anywhere(pending) == dict.fromkeys(shown_anywhere(pending), True)
    [notice] = mail.outbox
    assert notice.to == ["alice@example.org"] and notice.subject == f"ELUE: {NAME} was approved"
    assert "It is now on the public leaderboard." in notice.body
    assert "Reason: matches Table 2" in notice.body
    assert "The entry: http://testserver/entries/1/" in notice.body
    pending.refresh_from_db()
    assert (pending.reviewed_by, pending.review_reason) == (staff, "matches Table 2")


def test_rejecting_keeps_it_hidden_and_tells_the_owner_why(
        pending, staff, alice, django_capture_on_commit_callbacks):
    with pytest.raises(ActionRefused, match="a rejection needs a reason"):
        review_entry(pending, Entry.Review.REJECTED, staff, "  ")
    with django_capture_on_commit_callbacks(execute=True):
        review_entry(pending, Entry.Review.REJECTED, staff, "Table 2 says 91.2, not 99.9")
    assert not any(shown_anywhere(pending).values())
    [notice] = mail.outbox
    assert notice.subject == f"ELUE: {NAME} was not accepted"
    assert "Reason: Table 2 says 91.2, not 99.9" in notice.body
    owner = client_for(alice)
    assert owner.get(f"/api/v1/entries/{pending.pk}/").json()["review_reason"] == (
        "Table 2 says 91.2, not 99.9")


def test_only_published_entries_are_reviewed(seeded, staff, alice):
    entry = Entry.objects.create(owner=alice, name="Measured", kind=Entry.Kind.DECLARED)
    with pytest.raises(ActionRefused, match="not a published entry"):
        review_entry(entry, Entry.Review.REJECTED, staff, "no")
    with pytest.raises(ActionRefused, match="approves or rejects"):
        review_entry(Entry.objects.filter(kind="published").first(), "pending", staff)


def test_a_notice_that_cannot_be_sent_leaves_the_decision(pending, staff, settings, caplog,
                                                          django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    with django_capture_on_commit_callbacks(execute=True):
        review_entry(pending, Entry.Review.APPROVED, staff)
    pending.refresh_from_db()
    assert pending.review == Entry.Review.APPROVED
    assert "could not e-mail alice@example.org the review" in caplog.text


def test_staff_entries_need_no_review(seeded, staff):
    entry = create_published_entry(staff, [PublishedPoint("sst-2", "", 10, 80)], name="Staff")
    assert entry.review == Entry.Review.APPROVED and entry.reviewed_by == staff
    assert Entry.objects.public().filter(pk=entry.pk).exists()


def test_seeded_entries_are_already_reviewed(seeded):
    seeded_entries = Entry.objects.filter(owner=None)
    assert seeded_entries.count() == 16
    assert set(seeded_entries.values_list("review", flat=True)) == {Entry.Review.APPROVED}
    Entry.objects.filter(owner=None).update(review=Entry.Review.PENDING)
    load_published()  # seeding again marks them reviewed
    assert set(seeded_entries.values_list("review", flat=True)) == {Entry.Review.APPROVED}


def test_the_migration_queues_user_published_entries_and_counts_them(seeded, alice):
    migration = importlib.import_module("leaderboard.migrations.0008_published_review")
    typed_in = Entry.objects.create(owner=alice, name="Typed in", kind=Entry.Kind.PUBLISHED)
    measured = Entry.objects.create(owner=alice, name="Measured", kind=Entry.Kind.DECLARED)
    migration.queue_user_published_entries(apps, None)
    assert Entry.objects.get(pk=typed_in.pk).review == Entry.Review.PENDING
    assert Entry.objects.get(pk=measured.pk).review == Entry.Review.APPROVED
    assert set(Entry.objects.filter(owner=None).values_list("review", flat=True)) == {
        Entry.Review.APPROVED}
    [record] = PublishedEntryRecord.objects.all()
    assert (record.owner, record.entry, record.created_at) == (alice, typed_in,
                                                                typed_in.created_at)
