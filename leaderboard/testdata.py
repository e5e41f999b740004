"""Storing the ELUE test inputs and hidden labels server-side, and reading them back.

Files are kept in the hidden-data store (``elue.storage.hidden_data``: ``ELUE_DATA_ROOT``, or
a private prefix of the object store) in the ELUE layout, so that a worker reads the
server's copy exactly as the evaluator reads a submitter's ``--data`` folder
(``fetch_test_data``). Every task's files are validated completely before anything is
written, so a refused import leaves the previous state untouched; the record of a task's
files is written in the transaction that stores them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from django.core.files import File
from django.db import transaction

from elue.storage import hidden_data
from evaluator.benchmark import TaskSpec
from evaluator.data import INPUTS_FILE, LABELS_FILE, TestSet, load_test_set, task_dir
from evaluator.errors import DataInvalid
from leaderboard.models import Task, TestData

DATA_FILES = (INPUTS_FILE, LABELS_FILE)


@dataclass
class ImportOutcome:
    task: TaskSpec
    examples: int
    changed: bool


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def data_name(spec: TaskSpec, filename: str) -> str:
    """A data file's name in the hidden-data store: the ELUE layout, ``SST-2/test.tsv``."""
    return f"{spec.folder}/{filename}"


def fetch_test_data(specs: list[TaskSpec], scratch: Path) -> Path:
    """A folder in the ELUE layout holding the stored files of ``specs``, to read them as the
    evaluator reads a ``--data`` folder: the store's own folder when it is local, else copies
    downloaded into ``scratch`` (the caller's, removed with it). A file that is not stored is
    left out, for the evaluator to report as missing server data."""
    store, root = hidden_data(), scratch
    for spec in specs:
        for filename in DATA_FILES:
            try:
                root = store.materialize(data_name(spec, filename), scratch).parents[1]
            except FileNotFoundError:
                continue
    return root


def open_inputs(spec: TaskSpec) -> File | None:
    """The task's stored test inputs (``test.tsv``, never the labels), or ``None``."""
    store, name = hidden_data(), data_name(spec, INPUTS_FILE)
    return store.open(name, "rb") if store.exists(name) else None


def validate_sources(source_dir: Path, specs: list[TaskSpec]) -> dict[str, TestSet]:
    """Load every task's files from ``source_dir``; raise ``DataInvalid`` listing the problems
    of all tasks together, so one run shows everything to fix."""
    loaded, problems = {}, []
    for spec in specs:
        try:
            loaded[spec.slug] = load_test_set(source_dir, spec)
        except DataInvalid as exc:
            problems += exc.problems
    if problems:
        raise DataInvalid(problems)
    return loaded


def store_task_files(source_dir: Path, spec: TaskSpec) -> None:
    """Copy the task's two files into the hidden-data store (a local folder or an object
    store), replacing the previous ones."""
    store = hidden_data()
    for filename in DATA_FILES:
        with open(task_dir(source_dir, spec) / filename, "rb") as handle:
            store.save(data_name(spec, filename), File(handle))


def import_task(source_dir: Path, spec: TaskSpec, test_set: TestSet) -> ImportOutcome:
    """Store one validated task; a no-op when the same files are already stored."""
    folder = task_dir(source_dir, spec)
    hashes = {name: sha256_of(folder / name) for name in DATA_FILES}
    task = Task.objects.get(slug=spec.slug)
    current = TestData.objects.filter(task=task).first()
    store = hidden_data()
    unchanged = (
        current is not None
        and (current.inputs_sha256, current.labels_sha256) == (hashes[INPUTS_FILE],
                                                               hashes[LABELS_FILE])
        and all(store.exists(data_name(spec, name)) for name in DATA_FILES)
    )
    if unchanged:
        return ImportOutcome(spec, len(test_set), changed=False)
    with transaction.atomic():
        TestData.objects.update_or_create(task=task, defaults={
            "examples": len(test_set),
            "inputs_sha256": hashes[INPUTS_FILE],
            "labels_sha256": hashes[LABELS_FILE],
        })
        # Files last: if copying fails, the transaction rolls the record back.
        store_task_files(source_dir, spec)
    return ImportOutcome(spec, len(test_set), changed=True)


def import_test_data(source_dir: Path, specs: list[TaskSpec]) -> list[ImportOutcome]:
    """Validate all of ``specs`` first, then store each. Raises ``DataInvalid`` before
    writing anything if any file is malformed."""
    loaded = validate_sources(source_dir, specs)
    return [import_task(source_dir, spec, loaded[spec.slug]) for spec in specs]
