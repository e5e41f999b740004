"""ELUE test data in the layout ELUE distributes (SPEC §1): ``<DIR>/<Folder>/test.tsv`` and
``test_full.tsv``. Loading validates everything and reports every problem at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from evaluator.benchmark import TaskSpec
from evaluator.errors import DataInvalid, Problem
from evaluator.tsv import TsvTable, read_tsv

INPUTS_FILE = "test.tsv"
LABELS_FILE = "test_full.tsv"


@dataclass
class TestSet:
    """A task's test examples in index order.

    ``texts[i]`` holds the model-input sentences of example ``i`` (one or two strings);
    ``labels`` is ``None`` when only the inputs were loaded.
    """

    task: TaskSpec
    texts: list[tuple[str, ...]]
    labels: list[str] | None = None

    __test__ = False  # not a pytest test class

    def __len__(self) -> int:
        return len(self.texts)


def task_dir(data_dir: Path, task: TaskSpec) -> Path:
    return Path(data_dir) / task.folder


def display_name(task: TaskSpec, filename: str) -> str:
    return f"{task.folder}/{filename}"


def check_label(task: TaskSpec, value: str) -> str | None:
    """Return why ``value`` is not a valid label of ``task``, or ``None`` if it is."""
    if task.labels is not None:
        if value in task.labels:
            return None
        return f'label "{value}" is not one of {", ".join(task.labels)}'
    try:
        number = float(value)
    except ValueError:
        return f'label "{value}" is not a number'
    assert task.label_range is not None  # every regression task has a label range
    low, high = task.label_range
    if not math.isfinite(number) or not low <= number <= high:
        return f"label {value} is outside {low:g}..{high:g}"
    return None


def _require_columns(table: TsvTable, expected: list[str]) -> list[Problem]:
    if table.header == expected:
        return []
    return [Problem("wrong_header", f"header is {' | '.join(table.header)}, expected "
                    f"{' | '.join(expected)}", table.name, 1)]


def _check_count(table: TsvTable, task: TaskSpec) -> list[Problem]:
    if len(table.rows) == task.test_size:
        return []
    return [Problem("wrong_row_count", f"{len(table.rows):,} rows, expected "
                    f"{task.test_size:,} (the {task.name} test set)", table.name)]


def _check_indices(table: TsvTable) -> list[Problem]:
    problems = []
    for position, (row, line) in enumerate(zip(table.rows, table.line_numbers, strict=True)):
        if row[0] != str(position):
            problems.append(Problem("wrong_index", f'index "{row[0]}", expected {position} '
                                    "(indices run 0..N-1 in order)", table.name, line))
    return problems


def _column(table: TsvTable, name: str) -> int:
    """The position of a column the caller has already checked is in the header."""
    index = table.column(name)
    if index is None:
        raise ValueError(f"{table.name} has no column {name!r}")
    return index


def _sentences(task: TaskSpec, table: TsvTable, row: list[str]) -> tuple[str, ...]:
    return tuple(row[_column(table, c)] for c in task.sentence_columns)


def parse_inputs(task: TaskSpec, table: TsvTable) -> tuple[list[tuple[str, ...]], list[Problem]]:
    """Validate a parsed ``test.tsv`` and return its sentences in index order."""
    problems = _require_columns(table, ["index", *task.text_columns])
    if problems:
        return [], problems
    problems = _check_count(table, task) + _check_indices(table)
    return [_sentences(task, table, row) for row in table.rows], problems


def parse_labels(task: TaskSpec, table: TsvTable) -> tuple[list[tuple[str, ...]], list[str],
                                                          list[Problem]]:
    """Validate a parsed ``test_full.tsv``; return its sentences and labels in order."""
    label_column = table.column("label")
    missing = [c for c in task.sentence_columns if table.column(c) is None]
    if label_column is None or missing:
        wanted = ", ".join(["label", *task.sentence_columns])
        return [], [], [Problem("wrong_header", f"header is {' | '.join(table.header)}; "
                                f"expected columns {wanted}", table.name, 1)]
    problems = _check_count(table, task)
    labels = []
    for row, line in zip(table.rows, table.line_numbers, strict=True):
        value = row[label_column].strip()
        reason = check_label(task, value)
        if reason:
            problems.append(Problem("bad_label", reason, table.name, line))
        labels.append(value)
    texts = [_sentences(task, table, row) for row in table.rows]
    return texts, labels, problems


def _unquote(text: str) -> str:
    """Undo CSV-style quoting, which some ELUE label files use (MRPC's test_full.tsv)."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].replace('""', '"')
    return text


def _check_same_texts(inputs: list, texts: list, name: str, numbers: list[int]) -> list[Problem]:
    for position, (a, b) in enumerate(zip(inputs, texts, strict=True)):
        # Label files differ from test.tsv in quoting and trailing spaces, never in words.
        if tuple(t.strip() for t in a) != tuple(_unquote(t.strip()) for t in b):
            return [Problem("texts_differ", f"example {position} differs from test.tsv; "
                            "the two files must hold the same examples in the same order",
                            name, numbers[position])]
    return []


def _read(path: Path, name: str) -> tuple[TsvTable | None, list[Problem]]:
    if not path.is_file():
        return None, [Problem("missing_file", f"{name} not found (looked in {path.parent})",
                              name)]
    return read_tsv(path, name)


def load_test_set(data_dir: Path, task: TaskSpec, with_labels: bool = True) -> TestSet:
    """Load and validate a task's test inputs and, if asked, its hidden labels.

    Raises ``DataInvalid`` with every problem found in either file.
    """
    folder = task_dir(data_dir, task)
    inputs_name = display_name(task, INPUTS_FILE)
    table, problems = _read(folder / INPUTS_FILE, inputs_name)
    texts: list[tuple[str, ...]] = []
    if table is not None:
        texts, more = parse_inputs(task, table)
        problems += more
    labels = None
    if with_labels:
        labels_name = display_name(task, LABELS_FILE)
        full, more = _read(folder / LABELS_FILE, labels_name)
        problems += more
        if full is not None:
            full_texts, labels, more = parse_labels(task, full)
            problems += more
            if not problems:
                problems += _check_same_texts(texts, full_texts, labels_name, full.line_numbers)
    if problems:
        raise DataInvalid(problems)
    return TestSet(task, texts, labels)


def available_tasks(data_dir: Path, tasks: list[TaskSpec]) -> list[TaskSpec]:
    """The tasks among ``tasks`` whose folder with a ``test.tsv`` exists under ``data_dir``."""
    return [t for t in tasks if (task_dir(data_dir, t) / INPUTS_FILE).is_file()]
