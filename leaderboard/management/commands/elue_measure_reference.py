"""python manage.py elue_measure_reference [--dtype fp32] [--task SLUG ...] [--layers 1 2 ...]"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from evaluator.benchmark import TASKS
from evaluator.bundle.model_files import DEFAULT_DTYPE, DTYPES
from evaluator.measure.reference import REFERENCE_LAYERS
from evaluator.running.devices import DeviceUnavailable
from leaderboard.measurements import reference_measurements
from leaderboard.models import Task, TestData
from leaderboard.tasks import measure_reference_here


class Command(BaseCommand):
    help = (
        "Measure ElasticBERT-BASE truncated to 1..12 layers (random weights) on this machine's "
        "hardware, as the worker would (ELUE_DEVICE, the sandbox and measurement settings), "
        "on every task whose test data is loaded. Depths already measured for this hardware "
        "profile are skipped. Workers run it by themselves the first time a profile appears."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dtype", choices=DTYPES, default=DEFAULT_DTYPE)
        parser.add_argument("--task", action="append", choices=list(TASKS), dest="tasks",
                            help="Only this task (repeatable).")
        parser.add_argument("--layers", type=int, nargs="+", choices=REFERENCE_LAYERS,
                            help="Only these depths.")

    def handle(self, dtype: str, tasks: list[str] | None, layers: list[int] | None, **options):
        loaded = set(TestData.objects.values_list("task__slug", flat=True))
        if not loaded & set(tasks or TASKS):
            raise CommandError("no test data of these tasks is loaded: run elue_import_data")
        try:
            profile = measure_reference_here(dtype, self.stdout.write, tasks, layers)
        except DeviceUnavailable as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"hardware profile {profile.key}: {profile.label}")
        for task in Task.objects.filter(slug__in=loaded & set(tasks or TASKS)):
            for row in reference_measurements(profile, task):
                self.stdout.write(f"  {task.name} {row.reference_layers:>2}L: p50 "
                                  f"{row.latency_p50_ms:.2f} ms (CV {row.latency_cv:.1%})")
