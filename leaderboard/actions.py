"""What an owner does to a submission or an entry once it exists: cancel, show or hide,
delete, submit again, and the refusals when an action does not apply.

One module for the site's pages, the REST API and the management commands alike; no HTTP
here (views turn ``ActionRefused`` into a message or a 409).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from leaderboard.models import Entry, Submission
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
