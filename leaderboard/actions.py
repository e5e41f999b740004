"""What an owner does to a submission or an entry once it exists: cancel, show or hide,
delete, submit again, and the refusals when an action does not apply; and staff's review of
a published entry (approve or reject, with a notice to its owner).

One module for the site's pages, the REST API and the management commands alike; no HTTP
here (views turn ``ActionRefused`` into a message or a 409).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from leaderboard.models import Entry, Submission
from leaderboard.notices import send_review_notice
from leaderboard.submissions import submit_bundle
from leaderboard.uploads import discard_upload, fetch_upload

Status = Submission.Status


class ActionRefused(Exception):
    """An owner action that does not apply to the submission in its current state."""


def cancel(submission: Submission) -> bool:
    """Cancel a submission that has not finished; a running worker stops at its next step."""
    changed = Submission.objects.filter(pk=submission.pk).exclude(
        status__in=Submission.FINAL).update(status=Status.CANCELLED, finished_at=timezone.now())
    if changed:
        submission.record_event(Status.CANCELLED, "cancelled by the owner")
    return bool(changed)


def set_visibility(submission: Submission, visibility: str) -> None:
    """Make the submission, and its entry once scored, public or private."""
    if visibility not in Entry.Visibility.values:
        raise ActionRefused(f"visibility must be one of {', '.join(Entry.Visibility.values)}")
    Submission.objects.filter(pk=submission.pk).update(visibility=visibility)
    submission.visibility = visibility
    if submission.entry_id is not None:
        set_entry_visibility(submission.entry, visibility)


def set_entry_visibility(entry: Entry, visibility: str) -> None:
    """Show the entry on the public leaderboard, or hide it from everyone but its owner."""
    Entry.objects.filter(pk=entry.pk).update(visibility=visibility)
    Submission.objects.filter(entry=entry).update(visibility=visibility)
    entry.visibility = visibility


def review_entry(entry: Entry, decision: str, reviewer, reason: str = "",
                 link: str = "") -> None:
    """Record staff's decision on a published entry (approved: it becomes public if its owner
    made it so; rejected: it stays visible to its owner alone) and, once that is committed,
    e-mail the owner the decision and ``reason`` (``link``: the entry's address)."""
    if entry.kind != Entry.Kind.PUBLISHED:
        raise ActionRefused(f"{entry.name} is not a published entry; only those are reviewed")
    if decision not in (Entry.Review.APPROVED, Entry.Review.REJECTED):
        raise ActionRefused(f"a review approves or rejects, not {decision!r}")
    reason = reason.strip()
    if decision == Entry.Review.REJECTED and not reason:
        raise ActionRefused("a rejection needs a reason: the submitter is told it")
    fields = {"review": decision, "review_reason": reason, "reviewed_at": timezone.now(),
              "reviewed_by": reviewer}
    with transaction.atomic():
        Entry.objects.filter(pk=entry.pk).update(**fields)
        for name, value in fields.items():
            setattr(entry, name, value)
        if entry.owner_id is not None:
            transaction.on_commit(lambda: send_review_notice(entry, link))


def delete_submission(submission: Submission) -> None:
    """Delete a submission: cancel it if it has not finished, remove its entry from the
    leaderboard and its stored files. The row stays, hidden, so the quota still counts it."""
    cancel(submission)
    with transaction.atomic():
        if submission.entry_id is not None:
            Entry.objects.filter(pk=submission.entry_id).delete()
        Submission.objects.filter(pk=submission.pk).update(deleted_at=timezone.now(),
                                                           entry=None)
    if submission.bundle:
        discard_upload(submission.bundle)


def delete_entry(entry: Entry) -> None:
    """Delete an entry, its points and scores; a submission that produced it goes too."""
    submission = Submission.objects.filter(entry=entry).first()
    if submission is not None:
        delete_submission(submission)
    else:
        entry.delete()


def resubmit(submission: Submission) -> Submission:
    """Submit the same files and metadata again, as a new submission (quota applies).

    Only a finished submission can be resubmitted: a running one would count twice.
    """
    if not submission.is_final:
        raise ActionRefused(f"submission {submission.pk} is still {submission.status}; "
                            "cancel it or wait for it to finish before resubmitting")
    with tempfile.TemporaryDirectory(prefix="elue-resubmit-") as scratch:
        try:
            stored = fetch_upload(submission.bundle, Path(scratch))
        except FileNotFoundError:
            raise ActionRefused(f"the files of submission {submission.pk} are no longer "
                                "stored") from None
        return submit_bundle(
            submission.owner, stored, name=submission.name, description=submission.description,
            affiliation=submission.affiliation, paper_url=submission.paper_url,
            code_url=submission.code_url, visibility=submission.visibility)
