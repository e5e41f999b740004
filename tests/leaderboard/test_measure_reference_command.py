"""``manage.py elue_measure_reference``: the reference measured on this machine, stored on
its hardware profile, and skipped where it is already measured."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from evaluator.benchmark import TASKS
from leaderboard.models import HardwareProfile, Measurement
from leaderboard.testdata import import_test_data
from tests.conftest import ELUE_DATA_DIR

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command("elue_measure_reference", *args, stdout=out)
    return out.getvalue()


def test_it_needs_test_data(seeded, data_root):
    with pytest.raises(CommandError, match="no test data of these tasks is loaded"):
        run("--task", "mrpc")


@pytest.mark.slow
def test_it_measures_and_stores_the_reference(seeded, data_root, settings):
    import_test_data(ELUE_DATA_DIR, [TASKS["mrpc"]])
    settings.ELUE_MEASURE_SAMPLE, settings.ELUE_MEASURE_WARMUP = 8, 2
    settings.ELUE_MEASURE_IDLE_SECONDS = 0
    output = run("--task", "mrpc", "--layers", "1", "2")
    profile = HardwareProfile.objects.get()
    assert profile.device == "cpu" and profile.protocol.startswith("elue-measure/1 ")
    rows = Measurement.objects.filter(profile=profile, point=None).order_by("reference_layers")
    assert [(m.task.slug, m.reference_layers) for m in rows] == [("mrpc", 1), ("mrpc", 2)]
    assert rows[0].throughput is None and rows[0].single_stream_examples == 8
    assert f"hardware profile {profile.key}" in output and "MRPC  1L: p50" in output
    # Again: nothing left to measure at these depths, the same rows stay.
    before = list(rows.values_list("pk", flat=True))
    run("--task", "mrpc", "--layers", "1", "2")
    assert list(rows.values_list("pk", flat=True)) == before
