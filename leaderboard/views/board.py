"""The leaderboard (``/``): ranked public entries, parameter tracks, sortable columns."""

from __future__ import annotations

from django.shortcuts import render

from evaluator.benchmark import GROUPS, TASK_ORDER, TASKS
from leaderboard.board import public_rows
from leaderboard.models import ReferenceVersion
from leaderboard.params import optional_int
from leaderboard.ranking import PARAMETER_TRACKS, LeaderboardRow, in_track
from leaderboard.views.board_rows import rows_html

# Column -> the value it sorts by; None values always go last.
SORT_KEYS = {
    "rank": lambda row: row.rank,
    "name": lambda row: row.entry.name.lower(),
    "kind": lambda row: row.entry.kind,
    "params": lambda row: row.mparams,
    "coverage": lambda row: row.coverage,
    "overall": lambda row: row.overall,
} | {slug: (lambda row, slug=slug: row.task_scores.get(slug)) for slug in TASK_ORDER}
# A first click on a score column shows the best first; on rank, name, params: smallest.
DESCENDING_FIRST = {"overall", "coverage", *TASK_ORDER}


def task_columns(links: dict[str, dict] | None = None) -> list[dict]:
    """Task columns grouped by family, in the ELUE order, each with its sort link."""
    links = links or {}
    return [
        {"group": group, "tasks": [{"spec": t, "link": links.get(t.slug)}
                                   for t in TASKS.values() if t.group == group]}
        for group in GROUPS
    ]


def _track(request) -> int | None:
    return optional_int(request.GET, "track", PARAMETER_TRACKS)


def _sort(request) -> tuple[str, str]:
    column = request.GET.get("sort", "rank")
    if column not in SORT_KEYS:
        column = "rank"
    default = "desc" if column in DESCENDING_FIRST else "asc"
    direction = request.GET.get("dir", default)
    return column, direction if direction in ("asc", "desc") else default


def sort_rows(rows: list[LeaderboardRow], column: str, direction: str) -> list[LeaderboardRow]:
    """Rows ordered by ``column``; entries without a value stay at the bottom either way."""
    key = SORT_KEYS[column]
    known = [r for r in rows if key(r) is not None]
    unknown = [r for r in rows if key(r) is None]
    known.sort(key=key, reverse=direction == "desc")
    return known + unknown


def header_links(track: int | None, column: str, direction: str) -> dict[str, dict]:
    """For every column, the query string of its sort link and its aria-sort state."""
    links = {}
    for name in SORT_KEYS:
        first = "desc" if name in DESCENDING_FIRST else "asc"
        flipped = {"asc": "desc", "desc": "asc"}[direction]
        new_dir = flipped if name == column else first
        query = f"?sort={name}&dir={new_dir}" + (f"&track={track}" if track else "")
        state = {"asc": "ascending", "desc": "descending"}[direction] if name == column else ""
        links[name] = {"query": query, "aria": state}
    return links


def index(request):
    """The leaderboard: every public entry ranked by ELUE score (SPEC §4)."""
    track = _track(request)
    column, direction = _sort(request)
    rows = [row for row in public_rows() if in_track(row, track)]
    links = header_links(track, column, direction)
    return render(request, "leaderboard/index.html", {
        "rows": rows,
        "rows_html": rows_html(sort_rows(rows, column, direction)),
        "groups": task_columns(links),
        "tasks": list(TASKS.values()),
        "tracks": PARAMETER_TRACKS,
        "track": track,
        "sort_query": "" if column == "rank" else f"&sort={column}&dir={direction}",
        "sort": column,
        "dir": direction,
        "links": links,
        "reference": ReferenceVersion.objects.current(),
    })
