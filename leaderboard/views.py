from __future__ import annotations

from django.shortcuts import render

from evaluator.benchmark import GROUPS, TASKS
from leaderboard.models import Entry, ReferenceVersion
from leaderboard.ranking import PARAMETER_TRACKS, in_track, rank


def _task_columns() -> list[dict]:
    """Task columns grouped by family, in the ELUE order."""
    return [
        {"group": group, "tasks": [t for t in TASKS.values() if t.group == group]}
        for group in GROUPS
    ]


def _track(request) -> int | None:
    value = request.GET.get("track", "")
    return int(value) if value.isdigit() and int(value) in PARAMETER_TRACKS else None


def index(request):
    """The leaderboard: every public entry ranked by ELUE score (SPEC §4)."""
    track = _track(request)
    rows = [row for row in rank(Entry.objects.for_leaderboard()) if in_track(row, track)]
    return render(request, "leaderboard/index.html", {
        "rows": rows,
        "groups": _task_columns(),
        "tasks": list(TASKS.values()),
        "tracks": PARAMETER_TRACKS,
        "track": track,
        "reference": ReferenceVersion.objects.current(),
    })
