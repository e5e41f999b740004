"""python manage.py elue_seed: the reference curve and the published entries, idempotently."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from leaderboard.models import ReferenceVersion
from leaderboard.scoring import rescore_all
from leaderboard.seeding import load_published, load_reference


class Command(BaseCommand):
    help = "Load the ElasticBERT-BASE reference curve and the published entries, then score."

    def handle(self, **options):
        version, new_version = load_reference()
        created, updated = load_published()
        scored = rescore_all(ReferenceVersion.objects.current())
        state = "new" if new_version else "unchanged"
        self.stdout.write(
            f"reference v{version.number} ({state}); published entries: {created} created, "
            f"{updated} already present; {scored} entries scored"
        )
