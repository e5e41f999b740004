"""Ranking entries for the leaderboard (SPEC §4): full-coverage entries first, then by
overall ELUE score. Pure presentation logic over already-fetched rows; no HTTP here."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from evaluator.benchmark import TASK_ORDER

PARAMETER_TRACKS: tuple[int, ...] = (40, 55, 70, 110)


@dataclass
class LeaderboardRow:
    entry: object
    task_scores: dict[str, float]
    overall: float | None
    mparams: float | None
    rank: int = 0

    @property
    def coverage(self) -> int:
        return len(self.task_scores)

    @property
    def full_coverage(self) -> bool:
        return self.coverage == len(TASK_ORDER)

    def scores_in_order(self) -> list[float | None]:
        return [self.task_scores.get(slug) for slug in TASK_ORDER]


def sort_key(row: LeaderboardRow) -> tuple:
    """Full coverage first, then higher overall score; unscored entries last."""
    unscored = row.overall is None
    return (not row.full_coverage, unscored, -(row.overall or 0.0), row.entry.name.lower())


def rank_rows(rows: Iterable[LeaderboardRow]) -> list[LeaderboardRow]:
    """``rows`` sorted and numbered 1..n."""
    ranked = sorted(rows, key=sort_key)
    for position, row in enumerate(ranked, start=1):
        row.rank = position
    return ranked


def in_track(row: LeaderboardRow, max_mparams: int | None) -> bool:
    """Whether the row belongs to the parameter track of at most ``max_mparams`` M.
    An entry with no known parameter count is in no track but the overall one."""
    if max_mparams is None:
        return True
    return row.mparams is not None and row.mparams <= max_mparams
