"""python manage.py elue_seed: the reference curve and the published entries (with the scores
the papers printed), idempotently."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from leaderboard.models import ReferenceVersion
from leaderboard.scoring import rescore_all
from leaderboard.seeding import load_published, load_reference


class Command(BaseCommand):
    help = "Load the ElasticBERT-BASE reference curve and the published entries, then score."

    def handle(self, **options):
        version, new_version = load_reference()
        published = load_published()
        scored = rescore_all(ReferenceVersion.objects.current())
        state = "new" if new_version else "unchanged"
        self.stdout.write(
            f"reference v{version.number} ({state}); published entries: {published.created} "
            f"created, {published.updated} already present, {published.removed} removed (no "
            f"longer in the seed file); {published.scores} published scores; {scored} entries "
            "scored"
        )
