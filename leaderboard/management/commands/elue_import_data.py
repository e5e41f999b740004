"""python manage.py elue_import_data DIR [--task SLUG]"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from evaluator.benchmark import TASKS
from evaluator.data import INPUTS_FILE, available_tasks, task_dir
from evaluator.errors import DataInvalid
from leaderboard.testdata import import_test_data


class Command(BaseCommand):
    help = (
        "Import ELUE test inputs and hidden labels from DIR (the ELUE layout: one folder per "
        "task holding test.tsv and test_full.tsv). Every file is validated before anything is "
        "stored; re-running with the same files changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", type=Path)
        parser.add_argument("--task", choices=list(TASKS), help="Import only this task.")

    def handle(self, directory: Path, task: str | None, **options):
        if not directory.is_dir():
            raise CommandError(f"{directory} is not a directory")
        specs = self._tasks(directory, task)
        try:
            outcomes = import_test_data(directory, specs)
        except DataInvalid as exc:
            lines = "\n".join(f"  {p}" for p in exc.problems)
            raise CommandError(
                f"nothing imported; {len(exc.problems)} problem(s):\n{lines}"
            ) from None
        for outcome in outcomes:
            state = "imported" if outcome.changed else "unchanged"
            self.stdout.write(f"{outcome.task.name}: {outcome.examples:,} examples, {state}")

    def _tasks(self, directory: Path, slug: str | None):
        if slug:
            return [TASKS[slug]]
        found = available_tasks(directory, list(TASKS.values()))
        for spec in TASKS.values():
            if spec not in found:
                where = task_dir(directory, spec) / INPUTS_FILE
                self.stdout.write(f"{spec.name}: skipped, {where} not found")
        if not found:
            raise CommandError(f"no ELUE task folders with {INPUTS_FILE} found in {directory}")
        return found
