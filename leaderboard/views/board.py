"""The leaderboard (``/``): ranked public entries, parameter tracks, sortable columns, and the
budget explorer (``?max_mflops=…&max_mparams=…``: each entry shown by its best point within
the budget, ranked by it). Everything is in the URL and filtered on the server, so the page
works without JavaScript and a link shows the same view."""

from __future__ import annotations

from urllib.parse import urlencode

from django.shortcuts import render

from evaluator.benchmark import GROUPS, TASK_ORDER, TASKS
from leaderboard.board import public_rows
from leaderboard.board_cache import cached, shared_page
from leaderboard.budget import Budget
from leaderboard.forms import budget_form
from leaderboard.models import ReferenceVersion
from leaderboard.params import optional, parse_int
from leaderboard.ranking import PARAMETER_TRACKS, LeaderboardRow, in_track
from leaderboard.views.board_rows import budget_rows_html, rows_html

# Column -> the value it sorts by; None values always go last.
SORT_KEYS = {
    "rank": lambda row: row.rank,
    "name": lambda row: row.entry.name.lower(),
    "kind": lambda row: row.entry.kind,
    "params": lambda row: row.mparams,
    "coverage": lambda row: row.coverage,
    "overall": lambda row: row.overall,
} | {slug: (lambda row, slug=slug: row.task_scores.get(slug)) for slug in TASK_ORDER}


def _chosen(slug: str):
    def performance(row: LeaderboardRow) -> float | None:
        choice = row.budget.choices.get(slug)
        return choice.point.performance if choice else None
    return performance


# Within a budget the columns are the chosen points': a task sorts by its point's performance,
# "performance" by the mean over tasks, "overall" by the mean difference from the reference.
BUDGET_SORT_KEYS = SORT_KEYS | {
    "params": lambda row: row.budget.mparams,
    "coverage": lambda row: row.budget.coverage,
    "performance": lambda row: row.budget.performance,
    "overall": lambda row: row.budget.difference,
} | {slug: _chosen(slug) for slug in TASK_ORDER}
# A first click on a score column shows the best first; on rank, name, params: smallest.
DESCENDING_FIRST = {"overall", "coverage", "performance", *TASK_ORDER}


def task_columns(links: dict[str, dict] | None = None) -> list[dict]:
    """Task columns grouped by family, in the ELUE order, each with its sort link."""
    links = links or {}
    return [
        {"group": group, "tasks": [{"spec": t, "link": links.get(t.slug)}
                                   for t in TASKS.values() if t.group == group]}
        for group in GROUPS
    ]


def _track(request) -> int | None:
    """The parameter track asked for (``None``: all); anything but one of the tracks is a
    400 naming the parameter."""
    return optional(request.GET, "track", lambda text, name: parse_int(text, name,
                                                                         PARAMETER_TRACKS))


def _sort(request, keys: dict) -> tuple[str, str]:
    column = request.GET.get("sort", "rank")
    if column not in keys:
        column = "rank"
    default = "desc" if column in DESCENDING_FIRST else "asc"
    direction = request.GET.get("dir", default)
    return column, direction if direction in ("asc", "desc") else default


def sort_rows(rows: list[LeaderboardRow], column: str, direction: str,
              keys: dict | None = None) -> list[LeaderboardRow]:
    """Rows ordered by ``column``; entries without a value stay at the bottom either way."""
    key = (keys or SORT_KEYS)[column]
    known = [r for r in rows if key(r) is not None]
    unknown = [r for r in rows if key(r) is None]
    known.sort(key=key, reverse=direction == "desc")
    return known + unknown


def _query(*pairs: tuple[str, object]) -> str:
    """``&``-joined parameters, those without a value left out."""
    return urlencode([(k, v) for k, v in pairs if v not in (None, "")])


def header_links(track: int | None, column: str, direction: str, budget: Budget | None = None,
                 keys: dict | None = None) -> dict[str, dict]:
    """For every column, the query string of its sort link (keeping the track and the
    budget) and its aria-sort state."""
    links = {}
    for name in keys or SORT_KEYS:
        first = "desc" if name in DESCENDING_FIRST else "asc"
        flipped = {"asc": "desc", "desc": "asc"}[direction]
        new_dir = flipped if name == column else first
        query = "?" + _query(("sort", name), ("dir", new_dir), ("track", track),
                             *(budget.query() if budget else ()))
        state = {"asc": "ascending", "desc": "descending"}[direction] if name == column else ""
        links[name] = {"query": query, "aria": state}
    return links


def ranked_table(track: int | None, column: str, direction: str, budget: Budget,
                 keys: dict) -> dict:
    """The expensive part of the page, the same for everyone: the ranked public rows (within
    ``budget`` when one is set) as HTML, how many there are, and the reference version they
    are scored against."""
    rows = [row for row in public_rows(budget=budget) if in_track(row, track)]
    ordered = sort_rows(rows, column, direction, keys)
    reference = ReferenceVersion.objects.current()
    return {"rows_html": budget_rows_html(ordered) if budget else rows_html(ordered),
            "count": len(rows), "reference_number": reference.number if reference else None}


@shared_page
def index(request):
    """The leaderboard: every public entry ranked by ELUE score (SPEC §4), or within a budget
    by each entry's best point within it. An unreadable budget is a form error (400)."""
    form = budget_form(request.GET)
    budget = form.budget
    keys = BUDGET_SORT_KEYS if budget else SORT_KEYS
    track = _track(request)
    column, direction = _sort(request, keys)
    # The ranked rows are the same for everyone: cached per board version and query string.
    table = cached(request, "index", lambda: ranked_table(track, column, direction, budget, keys))
    links = header_links(track, column, direction, budget, keys)
    keep = [("track", track)] + ([] if column == "rank" else [("sort", column),
                                                                ("dir", direction)])
    sort_query = "" if column == "rank" else f"&{_query(('sort', column), ('dir', direction))}"
    budget_query = f"&{_query(*budget.query())}" if budget else ""
    return render(request, "leaderboard/index.html", {
        "row_count": table["count"],
        "rows_html": table["rows_html"],
        "groups": task_columns(links),
        "tasks": list(TASKS.values()),
        "tracks": PARAMETER_TRACKS,
        "track": track,
        "sort_query": sort_query,
        "budget_query": budget_query,
        "sort": column,
        "dir": direction,
        "links": links,
        "form": form,
        "budget": budget,
        "keep": [(name, value) for name, value in keep if value],
        "clear_query": _query(*keep),
        "reference_number": table["reference_number"],
    }, status=200 if form.is_valid() else 400)
