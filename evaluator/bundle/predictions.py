"""Validating one prediction file or exit-layer file (SPEC §2) against its task's test set.

Both are TSV files of ``index<TAB>value``, one row per test example, every index ``0..N-1``
exactly once (in any order). Every problem is reported, each with a stable code, the file
and the 1-based line (header = line 1), capped at ``MAX_FILE_PROBLEMS`` per file so that a
25,000-row garbage file gives twenty messages and a count, not 25,000.

Example::

    values, problems = read_predictions(data, "mrpc.tsv", TASKS["mrpc"], 1725)
    # problems: [Problem("unknown_label", 'prediction "yes" is not one of 0, 1', "mrpc.tsv", 3)]
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from evaluator.benchmark import TaskSpec
from evaluator.errors import Problem
from evaluator.tsv import parse_tsv

PREDICTION_HEADER = ("index", "prediction")
EXIT_LAYER_HEADER = ("index", "exit_layer")
MAX_FILE_PROBLEMS = 20
MAX_LISTED_INDICES = 10
DEFAULT_MAX_LAYERS = 48  # used when no model definition says how many layers there are

WHOLE_NUMBER = re.compile(r"[0-9]+")
SIGNED_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
# Plain decimal notation only: Python's float() also takes "1_0", " nan" and "infinity".
DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

# A value check returns the parsed value, or a (code, message) pair saying what is wrong.
Issue = tuple[str, str]
ValueCheck = Callable[[str], "tuple[object, Issue | None]"]


def show(text: str, limit: int = 40) -> str:
    """``text`` quoted for a message, shortened: a garbage field can be megabytes long."""
    return f'"{text}"' if len(text) <= limit else f'"{text[:limit]}…"'


def read_predictions(data: bytes, name: str, task: TaskSpec, size: int
                     ) -> tuple[list[str] | None, list[Problem]]:
    """Validate a prediction file; return its predictions in index order, or ``None``.

    Classification predictions must be one of ``task.labels`` exactly; STS-B predictions
    finite decimal numbers within ``task.label_range``. ``size`` is the test-set size.
    """
    def check(text: str) -> tuple[object, Issue | None]:
        issue = check_prediction(task, text)
        return text, issue

    return read_indexed(data, name, PREDICTION_HEADER, size, task, check)


def read_exit_layers(data: bytes, name: str, task: TaskSpec, size: int,
                     num_layers: int | None = None) -> tuple[list[int] | None, list[Problem]]:
    """Validate an exit-layer file; return the 1-based exit layers in index order, or ``None``.

    ``num_layers`` comes from the model definition; without one, layers up to
    ``DEFAULT_MAX_LAYERS`` are accepted.
    """
    def check(text: str) -> tuple[object, Issue | None]:
        return check_exit_layer(text, num_layers)

    return read_indexed(data, name, EXIT_LAYER_HEADER, size, task, check)


def check_prediction(task: TaskSpec, text: str) -> Issue | None:
    """Why ``text`` is not a valid prediction for ``task``, or ``None``."""
    if task.labels is not None:
        return None if text in task.labels else _unknown_label(task, text)
    return check_score(task, text)


def _unknown_label(task: TaskSpec, text: str) -> Issue:
    assert task.labels is not None  # only called for classification tasks
    message = f"prediction {show(text)} is not one of {', '.join(task.labels)}"
    names = [n.lower() for n in task.label_names]
    if text.lower() in names:
        # People often write label names; tell them the code ELUE expects instead.
        message += f' (write {task.labels[names.index(text.lower())]} for "{text}")'
    return "unknown_label", message


def check_score(task: TaskSpec, text: str) -> Issue | None:
    """Why ``text`` is not a valid regression prediction (STS-B), or ``None``."""
    if not DECIMAL.fullmatch(text):
        if _is_non_finite(text):
            return "not_finite", f"prediction {show(text)} is not a finite number"
        return "not_a_number", f"prediction {show(text)} is not a number"
    value = float(text)
    if not math.isfinite(value):  # e.g. 1e999 overflows to infinity
        return "not_finite", f"prediction {show(text)} is not a finite number"
    assert task.label_range is not None  # every regression task has a label range
    low, high = task.label_range
    if not low <= value <= high:
        # Regression heads overshoot a little; say how to fix it rather than just refuse.
        return "out_of_range", (f"prediction {text} is outside {low:g}..{high:g}; clip "
                                f"predictions to {low:g}..{high:g} before submitting")
    return None


def _is_non_finite(text: str) -> bool:
    try:
        return not math.isfinite(float(text))
    except ValueError:
        return False


def check_exit_layer(text: str, num_layers: int | None) -> tuple[object, Issue | None]:
    """Parse a 1-based exit layer; return ``(layer, None)`` or ``(None, issue)``."""
    if not SIGNED_WHOLE_NUMBER.fullmatch(text):
        return None, ("bad_exit_layer", f"exit layer {show(text)} is not a whole number")
    layer, top = int(text), num_layers or DEFAULT_MAX_LAYERS
    if not 1 <= layer <= top:
        why = (f"the model has {top} layers" if num_layers
               else f"at most {top} without a model definition")
        return None, ("exit_layer_out_of_range", f"exit layer {layer} is outside 1..{top} "
                      f"({why})")
    return layer, None


# --- the shared index/value reader ------------------------------------------------------

def read_indexed(data: bytes, name: str, header: tuple[str, str], size: int, task: TaskSpec,
                 check: ValueCheck) -> tuple[list | None, list[Problem]]:
    """Read an ``index<TAB>value`` file of ``size`` rows; values in index order, or ``None``."""
    table, problems = parse_tsv(data, name)
    if table is None:
        return None, problems
    if tuple(table.header) != header:
        return None, [_wrong_header(table.header, header, name)]
    indices = IndexChecker(name, size, task, problems)
    values: list = [None] * size
    for row, line in zip(table.rows, table.line_numbers, strict=True):
        index = indices.check(row[0].strip(), line)
        value, issue = check(row[1].strip())
        if issue:
            problems.append(Problem(*issue, name, line))
        elif index is not None:
            values[index] = value
    # Rows with the wrong number of fields were left out of the table but are still rows.
    rows = len(table.rows) + sum(p.code == "wrong_field_count" for p in problems)
    indices.check_coverage(rows)
    return (None if problems else values), cap_problems(problems, name)


def _wrong_header(found: list[str], expected: tuple[str, str], name: str) -> Problem:
    wanted = "<TAB>".join(expected)
    return Problem("wrong_header", f"the first line must be the header {wanted}; found "
                   f"{show('<TAB>'.join(found), 60)}", name, 1)


@dataclass
class IndexChecker:
    """Checks the ``index`` column of one file, appending to ``problems`` as it goes."""

    name: str
    size: int
    task: TaskSpec
    problems: list[Problem]
    first_line: dict[int, int] = field(default_factory=dict)

    def check(self, text: str, line: int) -> int | None:
        """Parse one index and remember its line; ``None`` if it cannot be used."""
        if not WHOLE_NUMBER.fullmatch(text):
            self._fail("bad_index", f"index {show(text)} is not a whole number", line)
            return None
        index = int(text)
        if index >= self.size:
            self._fail("index_out_of_range", f"index {index} is outside "
                       f"0..{self.size - 1} (the {self.task.name} test set has "
                       f"{self.size:,} examples)", line)
            return None
        if index in self.first_line:
            self._fail("duplicate_index", f"index {index} appears twice (first on "
                       f"line {self.first_line[index]})", line)
            return None
        self.first_line[index] = line
        return index

    def check_coverage(self, rows: int) -> None:
        """Report a wrong row count and the indices that never appeared."""
        if rows != self.size:
            self._fail("wrong_row_count", f"{rows:,} rows, expected {self.size:,} (one per "
                       f"{self.task.name} test example)")
        missing = [i for i in range(self.size) if i not in self.first_line]
        if missing:
            listed = ", ".join(str(i) for i in missing[:MAX_LISTED_INDICES])
            more = len(missing) - MAX_LISTED_INDICES
            tail = f" and {more:,} more" if more > 0 else ""
            self._fail("missing_index", f"no row for index {listed}{tail}; every index "
                       f"0..{self.size - 1} must appear once")

    def _fail(self, code: str, message: str, line: int | None = None) -> None:
        self.problems.append(Problem(code, message, self.name, line))


def cap_problems(problems: list[Problem], name: str | None,
                 limit: int = MAX_FILE_PROBLEMS) -> list[Problem]:
    """Whole-file problems first, then by line; at most ``limit`` plus a count of the rest."""
    ordered = sorted(problems, key=lambda p: (p.line is not None, p.line or 0))
    if len(ordered) <= limit:
        return ordered
    rest = len(ordered) - limit
    return ordered[:limit] + [Problem("too_many_problems", f"... and {rest:,} more problems "
                                      "in this file", name)]
