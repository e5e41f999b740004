"""python manage.py elue_reap: what the periodic reaper does, once, now."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from leaderboard.reaper import reap
from leaderboard.tasks import enqueue_evaluation


class Command(BaseCommand):
    help = ("Enqueue again submissions stuck in queued, queue again those whose worker was "
            "lost, fail those running past the hard time limit, and remove the working "
            "directories of attempts that no longer run.")

    def handle(self, **options):
        result = reap(enqueue_evaluation)
        self.stdout.write(f"requeued {result.requeued}, restarted {result.restarted}, "
                          f"failed {result.failed}, swept {result.swept} working directories")
