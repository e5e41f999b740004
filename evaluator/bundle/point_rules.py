"""The rules on a bundle's operating points that keep scores from becoming a label oracle
(docs/integrity.md, "Labels cannot be probed").

Every point is scored on the whole hidden test set, so two points whose predictions differ in
a handful of examples tell, through the difference of their scores, what those examples'
labels are: a baseline plus points that each flip one prediction reads one label per point.
Two rules stop that, here for the offline checker and the platform alike:

- at most ``PointRules.max_points_per_task`` points per task in one submission (a 12-layer
  early-exit model needs about a dozen thresholds); ``cap_problems``;
- two points of one account on a task are either identical in their predictions (which
  reveals nothing new) or differ in at least ``min_difference`` examples;
  ``near_identical_problems`` within one bundle, ``earlier_point_problems`` against the
  account's earlier points, which the platform keeps as compact ``PredictionRecord`` bytes
  (``encode``/``decode``) and never shows.

numpy is imported inside the functions that compare: the web process imports this module
through the bundle loader and must stay light until it checks an upload.

Example::

    rules = PointRules(max_points_per_task=16)
    problems = cap_problems(bundle.points, None, rules) + near_identical_problems(
        [record_of(p) for p in bundle.points], rules)
"""

from __future__ import annotations

import math
import zlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from evaluator.benchmark import TASKS, TaskSpec
from evaluator.errors import Problem

if TYPE_CHECKING:
    import numpy as np

    from evaluator.bundle.load import PointFiles
    from evaluator.bundle.model_files import Manifest

RULES_HELP = "see docs/integrity.md, \"Labels cannot be probed\""


@dataclass(frozen=True)
class PointRules:
    """How many points a task may have per submission, and how different two points of one
    account on a task must be: at least ``min_difference_percent`` of the test set and at
    least ``min_difference_examples`` examples, unless their predictions are identical."""

    max_points_per_task: int = 16
    min_difference_percent: float = 0.5
    min_difference_examples: int = 10

    def min_difference(self, examples: int) -> int:
        """Examples two points of ``examples`` must differ in (at most all of them)."""
        share = math.ceil(examples * self.min_difference_percent / 100)
        return min(examples, max(self.min_difference_examples, share))


DEFAULT_RULES = PointRules()


# --- the cap on points per task -----------------------------------------------------------

def cap_problems(points: Sequence[PointFiles], manifest: Manifest | None,
                 rules: PointRules = DEFAULT_RULES) -> list[Problem]:
    """One problem per task with more than ``rules.max_points_per_task`` points: prediction
    files, or the thresholds of a model the platform runs (``manifest``)."""
    cap = rules.max_points_per_task
    counts: dict[str, list[PointFiles]] = defaultdict(list)
    for point in points:
        counts[point.task.slug].append(point)
    problems = [
        Problem("too_many_points", f"{len(found)} operating points on {TASKS[slug].name}; at "
                f"most {cap} per task are scored in one submission (a 12-layer early-exit "
                f"model needs about a dozen thresholds); {RULES_HELP}",
                found[cap].predictions_file)
        for slug, found in counts.items() if len(found) > cap
    ]
    if manifest is not None and len(manifest.thresholds) > cap:
        problems.append(Problem(
            "too_many_points", f"{len(manifest.thresholds)} thresholds, each an operating point "
            f"on every task; at most {cap} per task are scored in one submission; {RULES_HELP}",
            "model/elue.json"))
    return problems


# --- compact records of a point's predictions ---------------------------------------------

@dataclass(frozen=True)
class PredictionRecord:
    """A point's predictions in compact form (``encode``): one byte per example for a
    classification task, the float64 score for STS-B, compressed. ``file`` is the prediction
    file's name; ``submission`` and ``created_at`` say where an earlier point came from."""

    task: str
    point: str
    file: str
    data: bytes
    submission: int | None = None
    created_at: datetime | None = None


def encode(task: TaskSpec, predictions: Sequence[str]) -> bytes:
    """``predictions`` (valid for ``task``, in index order) as compact bytes."""
    import numpy as np

    if task.labels is None:
        values = np.asarray([float(p) for p in predictions], dtype="<f8")
    else:
        index = {label: i for i, label in enumerate(task.labels)}
        values = np.asarray([index[p] for p in predictions], dtype=np.uint8)
    return zlib.compress(values.tobytes(), 6)


def decode(task: TaskSpec, data: bytes) -> np.ndarray:
    """The predictions ``encode`` stored, as an array (label indices or scores)."""
    import numpy as np

    dtype = "<f8" if task.labels is None else np.uint8
    return np.frombuffer(zlib.decompress(data), dtype=dtype)


def record_of(point: PointFiles) -> PredictionRecord:
    return PredictionRecord(point.task.slug, point.point, point.predictions_file,
                            encode(point.task, point.predictions))


def differing_examples(first: np.ndarray, second: np.ndarray) -> int:
    """How many examples two decoded prediction vectors differ in."""
    import numpy as np

    if len(first) != len(second):  # test data replaced since: not comparable, never "near"
        return max(len(first), len(second))
    return int(np.count_nonzero(first != second))


def _near(first: np.ndarray, second: np.ndarray,
          rules: PointRules) -> tuple[int, int, int] | None:
    """(differing, examples, needed) when the two are near-identical but not identical."""
    differing = differing_examples(first, second)
    needed = rules.min_difference(len(first))
    return (differing, len(first), needed) if 0 < differing < needed else None


def _message(differing: int, examples: int, needed: int, other: str,
             rules: PointRules) -> str:
    return (f"its predictions differ from {other} in only {differing} of {examples:,} "
            f"examples; two operating points of one account on a task must have identical "
            f"predictions or differ in at least {needed:,} examples "
            f"({rules.min_difference_percent:g}% of the test set), so that the difference of "
            f"their scores cannot reveal single test labels; {RULES_HELP}")


def _decoded(records: Iterable[PredictionRecord]) -> list[tuple[PredictionRecord, np.ndarray]]:
    return [(r, decode(TASKS[r.task], r.data)) for r in records]


def near_identical_problems(records: Sequence[PredictionRecord],
                            rules: PointRules = DEFAULT_RULES) -> list[Problem]:
    """Points of one bundle that are near-identical to an earlier point of the same bundle
    (one problem per offending point, naming the first it is close to)."""
    decoded = _decoded(records)
    problems = []
    for i, (record, values) in enumerate(decoded):
        for other, other_values in decoded[:i]:
            near = other.task == record.task and _near(values, other_values, rules)
            if near:
                problems.append(Problem("near_identical_points",
                                        _message(*near, other.file, rules), record.file))
                break
    return problems


def earlier_point_problems(records: Sequence[PredictionRecord],
                           earlier: Iterable[PredictionRecord],
                           rules: PointRules = DEFAULT_RULES) -> list[Problem]:
    """Points near-identical to one the account submitted before (``earlier``, with their
    submission and date), one problem per offending point."""
    tasks = {r.task for r in records}
    by_task: dict[str, list[tuple[PredictionRecord, np.ndarray]]] = defaultdict(list)
    for record, values in _decoded(r for r in earlier if r.task in tasks):
        by_task[record.task].append((record, values))
    problems = []
    for record, values in _decoded(records):
        for other, other_values in by_task.get(record.task, ()):
            near = _near(values, other_values, rules)
            if near:
                when = f" on {other.created_at:%Y-%m-%d}" if other.created_at else ""
                where = f"{other.file} of your submission {other.submission}{when}"
                problems.append(Problem("near_identical_points",
                                        _message(*near, where, rules), record.file))
                break
    return problems
