"""Ranking entries for the leaderboard (SPEC §4): full-coverage entries first, then by
overall ELUE score; within a budget (``leaderboard.budget``), by the performance of each
entry's best point within it. Pure presentation logic over already-fetched rows; no HTTP
here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from evaluator.benchmark import TASK_ORDER
from leaderboard.budget import BudgetStanding, budget_sort_key, task_sort_key

PARAMETER_TRACKS: tuple[int, ...] = (40, 55, 70, 110)


@dataclass
class LeaderboardRow:
    entry: object
    task_scores: dict[str, float]
    overall: float | None
    mparams: float | None
    rank: int = 0
    # The scores the entry's paper printed: task slug (or "overall") -> score.
    published: dict[str, float] = field(default_factory=dict)
    # Within a budget: the entry's best point within it on each task.
    budget: BudgetStanding | None = None

    @property
    def coverage(self) -> int:
        return len(self.task_scores)

    @property
    def full_coverage(self) -> bool:
        return self.coverage == len(TASK_ORDER)

    def scores_in_order(self) -> list[float | None]:
        return [self.task_scores.get(slug) for slug in TASK_ORDER]


def sort_key(row: LeaderboardRow) -> tuple:
    """Full coverage first, then higher overall score; unscored entries last. Within a
    budget, ``leaderboard.budget.budget_sort_key``."""
    if row.budget is not None:
        return budget_sort_key(row.budget, row.entry.name)
    unscored = row.overall is None
    return (not row.full_coverage, unscored, -(row.overall or 0.0), row.entry.name.lower())


def number(rows: list[LeaderboardRow]) -> list[LeaderboardRow]:
    """``rows`` numbered 1..n in their order."""
    for position, row in enumerate(rows, start=1):
        row.rank = position
    return rows


def rank_rows(rows: Iterable[LeaderboardRow]) -> list[LeaderboardRow]:
    """``rows`` sorted and numbered 1..n."""
    return number(sorted(rows, key=sort_key))


def rank_on_task(rows: Iterable[LeaderboardRow], task: str,
                 within_budget: bool = False) -> list[LeaderboardRow]:
    """The rows with a standing on ``task``, ranked by it: by the task's ELUE score, or
    within a budget by the task's best point within it (``task_sort_key``)."""
    if within_budget:
        on_task = [r for r in rows if task in r.budget.choices]
        on_task.sort(key=lambda r: task_sort_key(r.budget.choices[task], r.entry.name))
    else:
        on_task = [r for r in rows if task in r.task_scores]
        on_task.sort(key=lambda r: (-r.task_scores[task], r.entry.name.lower()))
    return number(on_task)


def in_track(row: LeaderboardRow, max_mparams: int | None) -> bool:
    """Whether the row belongs to the parameter track of at most ``max_mparams`` M.
    An entry with no known parameter count is in no track but the overall one."""
    if max_mparams is None:
        return True
    return row.mparams is not None and row.mparams <= max_mparams
