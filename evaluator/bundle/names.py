"""The file names of a submission bundle (SPEC §2), exactly as ElasticBERT's scripts write them.

- ``sst-2.tsv``: predictions of a static model;
- ``sst-2_0.3.tsv``: predictions at operating point (threshold) ``0.3`` of a dynamic model;
- ``sst-2_infer_exit_layer_0.3.tsv``: the layer each test example left at, for that point;
- ``sst-2_eval_exit_layer_0.3.tsv``: exit layers on the *dev* set, which ElasticBERT also
  writes; ignored, so that its output folder can be zipped as it is.

The task part is the slug (``sst-2``, ``imdb``, ``snli``, ``scitail``, ``mrpc``, ``sts-b``)
and the point part a number, which orders a model's points.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from evaluator.benchmark import TASK_ORDER, TASKS, TaskSpec
from evaluator.errors import Problem

PREDICTIONS = "predictions"
EXIT_LAYERS = "exit_layers"
DEV_EXIT_LAYERS = "dev_exit_layers"

# A part between underscores never contains "_" (slugs use "-"), so splitting is exact.
MIDDLES = {("infer", "exit", "layer"): EXIT_LAYERS, ("eval", "exit", "layer"): DEV_EXIT_LAYERS}
POINT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
NAMING_HELP = ("name files <task>.tsv, <task>_<threshold>.tsv or "
               "<task>_infer_exit_layer_<threshold>.tsv, with <task> one of "
               + ", ".join(TASK_ORDER))


@dataclass(frozen=True)
class TsvName:
    """What a TSV file name says: its kind, task and operating point (``""`` = static)."""

    kind: str
    task: TaskSpec
    point: str

    @property
    def stem(self) -> str:
        """The prediction file's name without ``.tsv``: ``sst-2`` or ``sst-2_0.3``."""
        return f"{self.task.slug}_{self.point}" if self.point else self.task.slug


def prediction_file(task: TaskSpec, point: str) -> str:
    """``sst-2.tsv`` for a static point, ``sst-2_0.3.tsv`` for a dynamic one."""
    return f"{task.slug}_{point}.tsv" if point else f"{task.slug}.tsv"


def exit_layer_file(task: TaskSpec, point: str) -> str:
    return f"{task.slug}_infer_exit_layer_{point}.tsv"


def point_value(point: str) -> float:
    """The number a point name stands for; the static point ``""`` sorts first."""
    return float(point) if point else -math.inf


def parse_tsv_name(name: str) -> TsvName | Problem:
    """Read a ``.tsv`` file name, or return the ``Problem`` explaining why it is not one."""
    parts = name.removesuffix(".tsv").split("_")
    if len(parts) == 1:
        kind, point = PREDICTIONS, ""
    elif len(parts) == 2:
        kind, point = PREDICTIONS, parts[1]
    elif len(parts) == 5 and (middle := (parts[1], parts[2], parts[3])) in MIDDLES:
        kind, point = MIDDLES[middle], parts[4]
    else:
        return Problem("unknown_file", f"is not a file name ELUE knows; {NAMING_HELP}", name)
    task = TASKS.get(parts[0])
    if task is None:
        return _unknown_task(parts[0], name)
    problem = _check_point(point, name) if len(parts) > 1 else None
    return problem or TsvName(kind, task, point)


def _check_point(point: str, name: str) -> Problem | None:
    if POINT.fullmatch(point) and math.isfinite(float(point)):
        return None
    return Problem("bad_point_name", f'"{point}" is not an operating point: name dynamic '
                   "points by their threshold, a number, as in sst-2_0.3.tsv", name)


def _unknown_task(slug: str, name: str) -> Problem:
    message = f'"{slug}" is not an ELUE task; tasks are {", ".join(TASK_ORDER)}'
    task = _similar_task(slug)
    if task is not None:
        message += f" (did you mean {name.replace(slug, task.slug, 1)}?)"
    return Problem("unknown_task", message, name)


def _similar_task(slug: str) -> TaskSpec | None:
    """The task a near-miss slug means (``SST-2``, ``sst2``, ``STSB``), if any."""
    def squash(text: str) -> str:
        return re.sub(r"[^a-z0-9]", "", text.lower())

    return next((t for t in TASKS.values() if squash(t.slug) == squash(slug)), None)
