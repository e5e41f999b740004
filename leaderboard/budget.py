"""The budget explorer: "what is the best model I can afford?" Pure logic over already-fetched
points; the queries are in ``leaderboard.board``, the pages and the API only parse and show.

- ``LIMITS``: the budget's parameters, each a maximum on one attribute of a point
  (``max_mflops`` on ``mflops``, ``max_mparams`` on ``mparams``). A point whose value is
  unknown is never within a limit on it. A new limit (a measured ``max_latency_ms`` on one
  hardware profile) is one more ``Limit`` whose attribute the query fills for that profile.
- ``Budget``: the limits a visitor set; ``parse_budget`` reads them from a query string
  (strictly: ``leaderboard.params``), ``Budget.query`` writes them back for links.
- ``best_choice``: an entry's best point on a task within the budget (highest performance,
  then lowest MFLOPs), with its difference from the reference curve at the same MFLOPs
  (``evaluator.score.point_difference``: the one place score arithmetic lives).
- ``BudgetStanding``: an entry's choices over the tasks; ``budget_sort_key`` and
  ``task_sort_key`` order entries: by the chosen points' performance, then their difference
  from the reference (on the leaderboard, entries with a point within the budget on all six
  tasks first).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from statistics import fmean

from evaluator.benchmark import TASK_ORDER
from evaluator.pareto import Point
from evaluator.score import overall_score, point_difference
from leaderboard.params import BadParameter, optional, parse_positive_number


@dataclass(frozen=True)
class Limit:
    """One budget parameter: at most ``param``'s value of the point's ``attribute``."""

    param: str
    attribute: str
    label: str
    unit: str


LIMITS: tuple[Limit, ...] = (
    Limit("max_mflops", "mflops", "Max MFLOPs per example", "MFLOPs"),
    Limit("max_mparams", "mparams", "Max MParams", "M params"),
)
PARAMS = tuple(limit.param for limit in LIMITS)


class BudgetInvalid(ValueError):
    """Every budget parameter that could not be read (``problems``: ``BadParameter``s)."""

    def __init__(self, problems: list[BadParameter]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def _plain(value: float) -> str:
    """``value`` as a person writes it in a URL: 1500.0 -> "1500", 2.5 -> "2.5", never
    "1e+06" (which ``parse_positive_number`` refuses)."""
    text = format(Decimal(repr(value)), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True)
class Budget:
    """The maxima a visitor set, by parameter name (``{"max_mflops": 1500.0}``); empty: no
    budget, every point counts."""

    maxima: Mapping[str, float] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.maxima)

    def get(self, param: str) -> float | None:
        return self.maxima.get(param)

    def admits(self, point: object) -> bool:
        """Whether ``point`` (anything with the limits' attributes) is within every limit."""
        for limit in LIMITS:
            maximum = self.maxima.get(limit.param)
            if maximum is None:
                continue
            value = getattr(point, limit.attribute, None)
            if value is None or value > maximum:
                return False
        return True

    def query(self) -> list[tuple[str, str]]:
        """The budget as query parameters, in ``LIMITS`` order."""
        return [(p, _plain(self.maxima[p])) for p in PARAMS if p in self.maxima]

    def describe(self) -> str:
        """For people: "at most 1500 MFLOPs and 50 M params"."""
        return "at most " + " and ".join(f"{_plain(self.maxima[limit.param])} {limit.unit}"
                                         for limit in LIMITS if limit.param in self.maxima)


def parse_budget(query: Mapping[str, str]) -> Budget:
    """The budget in ``query`` (blank or absent parameters: no limit). Raises
    ``BudgetInvalid`` with a problem for each unreadable parameter."""
    maxima, problems = {}, []
    for param in PARAMS:
        try:
            value = optional(query, param, parse_positive_number)
        except BadParameter as problem:
            problems.append(problem)
            continue
        if value is not None:
            maxima[param] = value
    if problems:
        raise BudgetInvalid(problems)
    return Budget(maxima)


@dataclass(frozen=True)
class Candidate:
    """One operating point as the budget sees it (performance ×100)."""

    entry_id: int
    task: str
    name: str
    mflops: float
    performance: float
    mparams: float | None = None


@dataclass(frozen=True)
class Choice:
    """The point representing an entry on a task within a budget, and how far it lies above
    the reference curve at its MFLOPs (``None`` without a reference curve for the task)."""

    point: Candidate
    difference: float | None


def best_choice(candidates: Sequence[Candidate], budget: Budget,
                reference: Sequence[Point] | None) -> Choice | None:
    """The best of ``candidates`` within ``budget``: highest performance, then fewest MFLOPs
    (then name, so the choice never depends on the order of the rows); ``None`` if none fits."""
    admitted = [c for c in candidates if budget.admits(c)]
    if not admitted:
        return None
    best = min(admitted, key=lambda c: (-c.performance, c.mflops, c.name))
    difference = (point_difference(Point(best.mflops, best.performance), reference)
                  if reference else None)
    return Choice(best, difference)


@dataclass
class BudgetStanding:
    """An entry's best point within the budget on each task where it has one."""

    choices: dict[str, Choice]

    @property
    def coverage(self) -> int:
        return len(self.choices)

    @property
    def full_coverage(self) -> bool:
        return self.coverage == len(TASK_ORDER)

    @property
    def performance(self) -> float | None:
        """Mean performance of the chosen points over the tasks."""
        return fmean(c.point.performance for c in self.choices.values()) if self.choices \
            else None

    @property
    def difference(self) -> float | None:
        """Mean over the tasks of the chosen points' difference from the reference: the
        ELUE score of the budget's representative points."""
        differences = {t: c.difference for t, c in self.choices.items()}
        if None in differences.values():
            return None
        return overall_score(differences)

    @property
    def mparams(self) -> float | None:
        """The largest parameter count among the chosen points (the model one deploys)."""
        known = [c.point.mparams for c in self.choices.values() if c.point.mparams is not None]
        return max(known) if known else None

    def in_order(self) -> list[Choice | None]:
        return [self.choices.get(slug) for slug in TASK_ORDER]


def standing(candidates: Sequence[Candidate], budget: Budget,
             curves: Mapping[str, Sequence[Point]]) -> BudgetStanding | None:
    """An entry's standing within ``budget`` from all its points (any tasks), or ``None``
    when no point of it is within the budget (the entry drops out)."""
    by_task: dict[str, list[Candidate]] = {}
    for candidate in candidates:
        by_task.setdefault(candidate.task, []).append(candidate)
    choices = {}
    for task in TASK_ORDER:
        choice = best_choice(by_task.get(task, ()), budget, curves.get(task))
        if choice is not None:
            choices[task] = choice
    return BudgetStanding(choices) if choices else None


def _descending(value: float | None) -> float:
    return -value if value is not None else float("inf")


def budget_sort_key(standing: BudgetStanding, name: str) -> tuple:
    """Leaderboard order within a budget: a point within it on all six tasks first, then
    higher mean performance, then higher mean difference from the reference, then name."""
    return (not standing.full_coverage, _descending(standing.performance),
            _descending(standing.difference), name.lower())


def task_sort_key(choice: Choice, name: str) -> tuple:
    """One task's order within a budget: higher performance, then higher difference."""
    return (-choice.point.performance, _descending(choice.difference), name.lower())
