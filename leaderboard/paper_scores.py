"""The scores papers printed, beside the ones the platform recomputes from the published
points (stored as ``PublishedScore``, seeded from ``published_scores.csv``). Pure logic over
already-fetched rows; the pages and the API show what it returns.

- ``differs(ours, printed)``: whether two scores differ by more than 0.01 (the leaderboard's
  † marker).
- ``compare(printed, task_scores, points)``: one ``PaperScore`` per printed score (per task and
  overall), with the reasons the platform can state for a difference, from the facts it holds:
  points the entry has on other tasks but not on this one (the paper may have averaged them),
  FLOPs not computed on the real inputs (speed-up, digitized, estimated), where the points and
  the printed score come from, tasks covered, and rounding.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from evaluator.benchmark import TASK_ORDER, TASKS
from evaluator.score import overall_score
from leaderboard.models import Basis

DIFFERS_BY = 0.01  # scores are shown to two decimals (SPEC §4)
FLOAT_SLACK = 1e-9  # -1.7000000000000028 and -1.70 agree
ROUNDING = 0.1  # below this, one-decimal performances alone can explain a gap
# Speed-up points are named after the speed-up measured on each task ("3.6x", "3.9x"), so a
# name missing on a task says nothing about a missing point.
NAMES_PER_TASK = {Basis.SPEED_UP}


def differs(ours: float | None, printed: float | None) -> bool:
    """Whether the platform's score and the printed one are more than 0.01 apart (``False``
    when either is missing)."""
    if ours is None or printed is None:
        return False
    return abs(ours - printed) > DIFFERS_BY + FLOAT_SLACK


@dataclass(frozen=True)
class PointFacts:
    """What the platform knows of one published point: where it is and where it came from."""

    task: str
    name: str
    mflops_basis: str
    source: str


@dataclass(frozen=True)
class Printed:
    """A score a paper printed: ``task`` slug, or ``None`` for the overall score."""

    task: str | None
    score: float
    source: str


@dataclass
class PaperScore:
    """A printed score beside the platform's (``recomputed``: ``None`` when the platform has
    no points there), and why they may differ."""

    task: str | None
    printed: float
    source: str
    recomputed: float | None
    reasons: list[str] = field(default_factory=list)

    @property
    def task_name(self) -> str:
        return TASKS[self.task].name if self.task else "Overall"

    @property
    def differs(self) -> bool:
        return differs(self.recomputed, self.printed)

    @property
    def gap(self) -> float | None:
        """Ours minus the printed score."""
        return None if self.recomputed is None else self.recomputed - self.printed


def _count(n: int, thing: str) -> str:
    return f"{n} {thing}{'' if n == 1 else 's'}"


def _natural(name: str) -> list:
    """Sort key that puts 3L before 12L and p2 before p10."""
    return [int(part) if part.isascii() and part.isdigit() else part.lower()
            for part in re.split(r"([0-9]+)", name)]


def _names(points: Sequence[PointFacts]) -> str:
    return ", ".join(sorted({p.name for p in points}, key=_natural))


def missing_points(task: str, points: Sequence[PointFacts]) -> dict[str, list[str]]:
    """Names of the entry's points on other tasks that it lacks on ``task`` -> those tasks'
    names (speed-up points, named per task, left out)."""
    here = {p.name for p in points if p.task == task}
    missing: dict[str, list[str]] = {}
    for point in points:
        if point.task != task and point.name not in here and \
                point.mflops_basis not in NAMES_PER_TASK:
            missing.setdefault(point.name, []).append(TASKS[point.task].name)
    return missing


def basis_reasons(points: Sequence[PointFacts]) -> list[str]:
    """One sentence per way of obtaining FLOPs other than computing them on the real inputs."""
    by_basis: dict[str, list[PointFacts]] = {}
    for point in points:
        if point.mflops_basis != Basis.COMPUTED:
            by_basis.setdefault(point.mflops_basis, []).append(point)
    return [f"{_count(len(some), 'point')} of {len(points)} ({_names(some)}) "
            f"{'has' if len(some) == 1 else 'have'} FLOPs {Basis(basis).label}, not computed by "
            "ELUE on the real test inputs."
            for basis, some in sorted(by_basis.items())]


def source_reason(points: Sequence[PointFacts]) -> str:
    """Where the points ELUE averages come from, with the points from each source."""
    sources: dict[str, list[PointFacts]] = {}
    for point in points:
        sources.setdefault(point.source or "no source given", []).append(point)
    listed = "; ".join(f"{source} ({_names(some)})" for source, some in sources.items())
    return (f"ELUE's points come from {listed}; the printed score may have averaged other "
            "points or other numbers for these.")


def rounding_reason(gap: float | None) -> list[str]:
    if gap is None or abs(gap) >= ROUNDING:
        return []
    return ["Performances are printed to one decimal, so rounding alone can move a score by "
            "a few hundredths."]


def task_reasons(printed: Printed, recomputed: float | None,
                 points: Sequence[PointFacts]) -> list[str]:
    """Why the printed score on a task may differ from ELUE's (empty when they agree)."""
    here = [p for p in points if p.task == printed.task]
    name = TASKS[printed.task].name
    if not here:
        return [f"ELUE has no point of this entry on {name}: the points the paper scored there "
                "were not published."]
    if not differs(recomputed, printed.score):
        return []
    reasons = [f"{_count(len(here), 'point')} ({_names(here)}) {'is' if len(here) == 1 else 'are'}"
               f" published on {name}, and ELUE scores only those."]
    reasons += [f"The entry has a {point} point on {', '.join(others)} but none on {name}: the "
                f"paper's score may average a {point} point on {name} that was never published."
                for point, others in sorted(missing_points(printed.task, points).items())]
    reasons += basis_reasons(here)
    reasons.append(source_reason(here))
    return reasons + rounding_reason(recomputed - printed.score)


def overall_reasons(printed: Printed, recomputed: float | None, tasks: Sequence[PaperScore],
                    scored: Sequence[str], points: Sequence[PointFacts]) -> list[str]:
    """Why the printed overall score may differ from ELUE's (empty when they agree)."""
    if recomputed is None:
        return ["ELUE has no scored point of this entry."]
    if not differs(recomputed, printed.score):
        return []
    names = ", ".join(TASKS[t].name for t in scored)
    reasons = [f"ELUE's overall score is the mean over the {_count(len(scored), 'task')} it "
               f"scores ({names})."]
    printed_tasks = [t.task for t in tasks]
    if not printed_tasks:
        reasons.append("The paper printed no per-task scores, so which task differs cannot be "
                       "told from them.")
        reasons += basis_reasons(points)
    else:
        unprinted = [TASKS[t].name for t in scored if t not in printed_tasks]
        if unprinted:
            reasons.append(f"The paper printed no score on {', '.join(unprinted)}: its overall "
                           "score may average other tasks.")
        apart = [t.task_name for t in tasks if t.differs or t.recomputed is None]
        if apart:
            reasons.append(f"The task scores differ on {', '.join(apart)} (see each task).")
    return reasons + rounding_reason(recomputed - printed.score)


def compare(printed: Sequence[Printed], task_scores: Mapping[str, float],
            points: Sequence[PointFacts]) -> list[PaperScore]:
    """The entry's printed scores beside its ELUE scores (``task_scores``: slug -> score),
    tasks in the ELUE order, then the overall score; each with its reasons."""
    by_task = {p.task: p for p in printed if p.task is not None}
    tasks = [PaperScore(slug, p.score, p.source, task_scores.get(slug),
                        task_reasons(p, task_scores.get(slug), points))
             for slug in TASK_ORDER if (p := by_task.get(slug))]
    overall = next((p for p in printed if p.task is None), None)
    if overall is None:
        return tasks
    ours = overall_score(task_scores)
    scored = [slug for slug in TASK_ORDER if slug in task_scores]
    return tasks + [PaperScore(None, overall.score, overall.source, ours,
                               overall_reasons(overall, ours, tasks, scored, points))]


def entry_comparison(entry, task_scores: Mapping[str, float]) -> list[PaperScore]:
    """``compare`` for a stored entry (two queries; none when it has no printed score)."""
    printed = [Printed(task, score, source) for task, score, source in
               entry.published_scores.values_list("task__slug", "score", "source")]
    if not printed:
        return []
    points = [PointFacts(*row) for row in
              entry.points.values_list("task__slug", "name", "mflops_basis", "source")]
    return compare(printed, task_scores, points)
