"""Submitted models through the real pipeline: a Celery worker runs hostile ``model.py``
files one after another, fails each with a clear reason that is not a platform fault, and
keeps serving (the next, honest, model is run and scored)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from evaluator.benchmark import TASKS
from evaluator.bundle.load import load_bundle
from evaluator.data import load_test_set
from evaluator.running.custom_code import ModelRunOptions
from evaluator.running.model_points import run_points, tokenize
from evaluator.running.sandbox import sandbox_available
from leaderboard.models import Entry, Submission
from leaderboard.submissions import submit_bundle
from tests.conftest import ELUE_DATA_DIR
from tests.evaluator.builders import EXIT_LAYER_HEADER, PREDICTION_HEADER, tsv
from tests.evaluator.custom_models import (
    COST_EFF,
    MODEL_CODE,
    manifest,
    multi_exit_model,
    save_weights,
)
from tests.pipeline.harness import wait_for
from tests.stack import describe, finished

pytestmark = [pytest.mark.slow,
              pytest.mark.django_db(transaction=True, serialized_rollback=True)]

WALL_SECONDS = 20
SANDBOX_ENV = {"ELUE_SANDBOX_WALL_SECONDS": str(WALL_SECONDS), "ELUE_SANDBOX_MEMORY_MB": "3072",
               "ELUE_SANDBOX_THREADS": "2", "ELUE_RERUN_SAMPLE": "1725",
               # Every point the platform runs is measured too: a small protocol keeps it quick.
               "ELUE_MEASURE_SAMPLE": "50", "ELUE_MEASURE_WARMUP": "2",
               "ELUE_MEASURE_REPEATS": "2", "ELUE_MEASURE_IDLE_SECONDS": "0"}


@pytest.fixture(autouse=True)
def sandbox_host():
    available, why = sandbox_available()
    if not available:
        pytest.fail(f"these tests need a host that can sandbox code: {why} (docs/sandbox.md)")


def honest_code() -> str:
    return MODEL_CODE.format(hidden=COST_EFF.hidden, head_dim=COST_EFF.head_dim,
                             vocab=COST_EFF.vocab, positions=COST_EFF.positions,
                             heads=COST_EFF.heads, ffn=COST_EFF.ffn)


def model_bundle(root: Path, prelude: str = "", thresholds=(0.5, 1.01)) -> Path:
    """A kind-4 bundle: the COST-EFF-style model with random weights, run on MRPC; the
    ``prelude`` runs when the platform imports model.py."""
    folder = multi_exit_model(root / "model", COST_EFF, honest_code())
    save_weights(folder)  # here, from the honest code: the prelude only ever runs sandboxed
    (folder / "model.py").write_text(prelude + honest_code(), encoding="utf-8")
    manifest(folder, ["mrpc"], list(thresholds))
    return root


HOSTILE = {
    "socket": ("import socket\nsocket.create_connection(('127.0.0.1', 6379), timeout=2)\n",
               "tried to open a network connection (socket.connect to ('127.0.0.1', 6379))"),
    "labels": ("open({labels!r}).read()\n", "FileNotFoundError"),
    "write": ("open('/tmp/planted.py', 'w').write('x')\n",
              "tried to write '/tmp/planted.py', outside its scratch directory"),
    "loop": ("while True:\n    pass\n", f"exceeded the wall time of {WALL_SECONDS} s"),
    "memory": ("hoard = []\nwhile True:\n    hoard.append(bytearray(2 ** 28))\n",
               "exceeded the memory limit of 3072 MiB"),
    "fork": ("import os\nwhile True:\n    os.fork()\n",
             "tried to start or signal a process (os.fork)"),
}


def test_a_worker_fails_hostile_models_clearly_and_keeps_serving(redis_stack, workers, alice,
                                                                 tmp_path, hidden_data):
    redis_stack.env.update(SANDBOX_ENV)
    workers.start()
    labels = hidden_data / "MRPC" / "test_full.tsv"
    assert labels.is_file()
    submissions = {}
    for name, (prelude, _) in HOSTILE.items():
        bundle = model_bundle(tmp_path / name, prelude.format(labels=str(labels)))
        submissions[name] = submit_bundle(alice, bundle, name=f"Mallory {name}")
    pickled = model_bundle(tmp_path / "pickle")
    (pickled / "model" / "model.safetensors").write_bytes(b"\x80\x04\x95cos\nsystem\n.")
    submissions["pickle"] = submit_bundle(alice, pickled, name="Mallory pickle")
    honest = submit_bundle(alice, model_bundle(tmp_path / "honest"), name="COST-EFF 6L")
    expected = {**{name: reason for name, (_, reason) in HOSTILE.items()},
                "pickle": "model.safetensors is not a safetensors file"}
    for name, submission in submissions.items():
        finished(submission, timeout=240, workers=workers)
        assert submission.status == Submission.Status.FAILED, describe(submission)
        assert expected[name] in submission.failure_reason, describe(submission)
        assert not submission.platform_fault, describe(submission)
    assert not Path("/tmp/planted.py").exists()
    finished(honest, timeout=240, workers=workers)
    assert honest.status == Submission.Status.SCORED, describe(honest)
    entry = honest.entry
    assert entry.kind == Entry.Kind.MODEL and entry.is_dynamic
    histograms = sorted(str(p.exit_histogram) for p in entry.points.all())
    assert histograms == ["{'1': 1725}", "{'6': 1725}"]
    log = "\n".join(e.message for e in honest.events.all())
    assert "threshold 0.5: 1,725 of 1,725 examples" in log


def test_a_kind3_submission_with_weights_shows_its_agreement(redis_stack, workers, alice,
                                                             tmp_path):
    redis_stack.env.update(SANDBOX_ENV)
    workers.start()
    root = model_bundle(tmp_path / "carol", thresholds=(0.5,))
    bundle = load_bundle(root, tmp_path / "scratch")
    test_sets = {"mrpc": load_test_set(ELUE_DATA_DIR, TASKS["mrpc"], with_labels=False)}
    point, = run_points(bundle, test_sets, tokenize(bundle.model, test_sets),
                        ModelRunOptions())
    (root / "mrpc_0.5.tsv").write_text(tsv(PREDICTION_HEADER, point.predictions))
    (root / "mrpc_infer_exit_layer_0.5.tsv").write_text(tsv(EXIT_LAYER_HEADER,
                                                            point.exit_layers))
    shutil.rmtree(tmp_path / "scratch")
    submission = finished(submit_bundle(alice, root, name="COST-EFF checked"), 240, workers)
    assert submission.status == Submission.Status.SCORED, describe(submission)
    assert submission.entry.kind == Entry.Kind.VERIFIED
    checked, = submission.entry.points.all()
    assert (checked.rerun_examples, checked.rerun_prediction_agreement,
            checked.rerun_exit_agreement) == (1725, 100.0, 100.0)


def test_a_gpu_queue_worker_runs_measures_and_references_a_model(redis_stack, workers, alice,
                                                                   tmp_path, settings):
    """With GPU workers configured, a model the platform runs goes to their queue; the
    worker (on this CPU-only host its ``auto`` device is the CPU) scores it, measures every
    point on its hardware profile, and then measures that profile's reference."""
    from leaderboard.models import HardwareProfile, Measurement

    settings.ELUE_GPU_QUEUE = "evaluation-gpu"
    redis_stack.env.update(SANDBOX_ENV, ELUE_GPU_QUEUE="evaluation-gpu", ELUE_DEVICE="auto",
                           ELUE_MEASURE_SAMPLE="20", ELUE_SANDBOX_WALL_SECONDS="300")
    workers.queues = "site,evaluation-gpu"  # no worker takes the CPU queue: only this one
    workers.start()
    submission = submit_bundle(alice, model_bundle(tmp_path / "gpu"), name="COST-EFF measured")
    assert submission.runs_model
    finished(submission, timeout=300, workers=workers)
    assert submission.status == Submission.Status.SCORED, describe(submission)
    measured = Measurement.objects.filter(point__entry=submission.entry).select_related(
        "profile", "point")
    assert sorted(m.point.name for m in measured) == ["0.5", "1.01"]
    for measurement in measured:
        assert measurement.agreement == 100.0 and measurement.single_stream_examples == 20
        assert measurement.offline_examples == 1725 and measurement.throughput > 0
        assert measurement.energy_j is None and measurement.energy_note
    profile = HardwareProfile.objects.get()
    assert profile.device == "cpu" and profile.threads == 2
    assert profile.reference_requested_at is not None
    log = "\n".join(e.message for e in submission.events.all())
    assert "MRPC 0.5: measuring latency, throughput, memory and energy" in log
    # The reference of the new profile, measured by the same kind of worker, depth by depth.
    wait_for(lambda: Measurement.objects.filter(profile=profile, point=None).exists(), 240,
             1.0, lambda: workers.logs()[-3000:])
    first = Measurement.objects.filter(profile=profile, point=None).first()
    assert first.reference_layers == 1 and first.latency_p50_ms > 0
