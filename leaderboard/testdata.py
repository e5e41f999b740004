"""Storing the ELUE test inputs and hidden labels server-side.

Files are kept under ``settings.ELUE_DATA_ROOT`` in the ELUE layout, so the evaluator reads
the server's copy exactly as it reads a submitter's ``--data`` folder. A task's files are
validated completely before anything is written, and replaced in one rename, so a failed
import leaves the previous state untouched.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

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


def data_root() -> Path:
    return Path(settings.ELUE_DATA_ROOT)


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


def _replace_dir(staged: Path, target: Path) -> None:
    """Put ``staged`` at ``target``; the old copy is removed only after the new one is in place."""
    old = target.with_name(target.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        target.rename(old)
    staged.rename(target)
    if old.exists():
        shutil.rmtree(old)


def store_task_files(source_dir: Path, spec: TaskSpec) -> None:
    """Copy the task's two files into the data root, atomically per task."""
    root = data_root()
    root.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{spec.folder}-", dir=root))
    try:
        for name in DATA_FILES:
            shutil.copyfile(task_dir(source_dir, spec) / name, staged / name)
        _replace_dir(staged, task_dir(root, spec))
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise


def import_task(source_dir: Path, spec: TaskSpec, test_set: TestSet) -> ImportOutcome:
    """Store one validated task; a no-op when the same files are already stored."""
    folder = task_dir(source_dir, spec)
    hashes = {name: sha256_of(folder / name) for name in DATA_FILES}
    task = Task.objects.get(slug=spec.slug)
    current = TestData.objects.filter(task=task).first()
    stored = task_dir(data_root(), spec)
    unchanged = (
        current is not None
        and (current.inputs_sha256, current.labels_sha256) == (hashes[INPUTS_FILE],
                                                               hashes[LABELS_FILE])
        and all((stored / name).is_file() for name in DATA_FILES)
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
