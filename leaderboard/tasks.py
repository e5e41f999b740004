"""Light site tasks (the ``site`` queue). Heavy evaluation lives in ``evaluator.tasks``."""

from __future__ import annotations

from celery import shared_task

from leaderboard.models import ReferenceVersion
from leaderboard.scoring import rescore_all


@shared_task
def rescore_entries(version_id: int) -> int:
    """Re-score every entry against reference version ``version_id``."""
    return rescore_all(ReferenceVersion.objects.get(pk=version_id))


@shared_task
def reap_submissions() -> dict:
    """Celery beat runs this: see ``leaderboard.reaper``."""
    from dataclasses import asdict

    from leaderboard.reaper import reap

    return asdict(reap())
