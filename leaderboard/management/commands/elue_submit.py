"""python manage.py elue_submit BUNDLE --user NAME --name MODEL [--wait]

For operators and benchmarks: submit a bundle on behalf of a user, as an upload would.
"""

from __future__ import annotations

import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from evaluator.errors import SubmissionInvalid
from leaderboard.accounts import EmailNotConfirmed
from leaderboard.models import Submission
from leaderboard.submissions import QuotaExceeded, submit_bundle


class Command(BaseCommand):
    help = "Submit a bundle (zip or folder) for evaluation on behalf of a user."

    def add_arguments(self, parser):
        parser.add_argument("bundle", type=Path)
        parser.add_argument("--user", required=True, help="username of the owner")
        parser.add_argument("--name", required=True, help="model name on the leaderboard")
        parser.add_argument("--private", action="store_true")
        parser.add_argument("--wait", action="store_true", help="wait until it is final")
        parser.add_argument("--timeout", type=int, default=600)

    def handle(self, bundle: Path, user: str, name: str, private: bool, wait: bool,
               timeout: int, **options):
        owner = get_user_model().objects.filter(username=user).first()
        if owner is None:
            raise CommandError(f"no user named {user!r}")
        visibility = "private" if private else "public"
        try:
            submission = submit_bundle(owner, bundle, name=name, visibility=visibility)
        except SubmissionInvalid as exc:
            lines = "\n".join(f"  {p}  [{p.code}]" for p in exc.problems)
            raise CommandError(f"refused, nothing stored:\n{lines}") from None
        except (QuotaExceeded, EmailNotConfirmed) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"submission {submission.pk} queued")
        if wait:
            self._wait(submission, timeout)

    def _wait(self, submission: Submission, timeout: int) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            submission.refresh_from_db()
            if submission.is_final:
                break
            time.sleep(0.5)
        self.stdout.write(f"submission {submission.pk}: {submission.status}")
        if submission.status == Submission.Status.FAILED:
            raise CommandError(submission.failure_reason)
        if not submission.is_final:
            raise CommandError(f"not finished after {timeout} s")
