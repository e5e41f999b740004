"""Submitted models through the real pipeline: a Celery worker runs hostile ``model.py``
files one after another, fails each with a clear reason that is not a platform fault, and
keeps serving (the next, honest, model is run and scored)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from evaluator.benchmark import TASKS
from evaluator.bundle.load import load_bundle
from evaluator.data import load_test_set
from evaluator.running.model_points import run_points, tokenize
from evaluator.running.model_sandbox import ModelRunOptions
from evaluator.running.sandbox import sandbox_available
from leaderboard.actions import cancel
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
              pytest.mark.django_db(transaction=True)]

# One sandbox run captures a model's graphs (eight for the honest model): allow a loaded
# machine the time.
WALL_SECONDS = 90
SANDBOX_ENV = {"ELUE_SANDBOX_WALL_SECONDS": str(WALL_SECONDS), "ELUE_SANDBOX_MEMORY_MB": "3072",
               "ELUE_SANDBOX_THREADS": "2", "ELUE_RERUN_SAMPLE": "1725"}


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


def sandboxes_under(folder: Path) -> list[str]:
    """The bubblewrap processes whose binds come from ``folder`` (this test's sandboxes, not
    another run's on the same machine)."""
    listed = subprocess.run(["ps", "-eww", "-o", "args"], capture_output=True,
                            text=True).stdout
    return [line for line in listed.splitlines() if line.startswith("bwrap ") and
            str(folder) in line]


def test_cancelling_stops_a_running_model_within_seconds(redis_stack, workers, alice,
                                                         tmp_path):
    redis_stack.env.update({**SANDBOX_ENV, "ELUE_SANDBOX_WALL_SECONDS": "600"})
    workers.start()
    sleeper = model_bundle(tmp_path / "sleeper", "import time\ntime.sleep(600)\n")
    submission = submit_bundle(alice, sleeper, name="Sleeper")
    wait_for(lambda: sandboxes_under(redis_stack.work_dir), 180, 0.2,
             lambda: describe(submission))  # model.py is being imported: it sleeps
    time.sleep(2)  # it prints no progress while it sleeps
    cancel(submission)
    cancelled = time.monotonic()
    wait_for(lambda: not sandboxes_under(redis_stack.work_dir), 30, 0.1,
             "the sandbox outlived the cancel")
    assert time.monotonic() - cancelled < 5  # not the 600 s wall time
    submission.refresh_from_db()
    assert submission.status == Submission.Status.CANCELLED, describe(submission)
    wait_for(lambda: redis_stack.attempt_directories() == [], 10, 0.1,
             "the attempt's working directory was left behind")
