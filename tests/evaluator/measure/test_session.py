"""A model served in a real sandbox and measured by the host: the same predictions as the
platform's run, the host's clock that the model's code cannot stop, and clear failures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from evaluator.benchmark import TASKS
from evaluator.bundle.model_files import read_model
from evaluator.data import load_test_set
from evaluator.measure.protocol import MeasureOptions
from evaluator.measure.scenarios import Plan, measure_point
from evaluator.measure.session import ServedModel
from evaluator.measure.timers import MonotonicClock
from evaluator.running.custom_code import ModelCodeFailed, ModelRunOptions, model_job, run_model
from evaluator.running.model_points import tokenize
from evaluator.running.sandbox import SandboxPolicy, sandbox_available
from tests.conftest import ELUE_DATA_DIR
from tests.evaluator.custom_models import (
    COST_EFF,
    MODEL_CODE,
    manifest,
    multi_exit_model,
    save_weights,
    standard_model,
)

pytestmark = pytest.mark.slow
OPTIONS = ModelRunOptions(policy=SandboxPolicy(wall_seconds=120, threads=1))
MRPC = TASKS["mrpc"]


@pytest.fixture(autouse=True)
def sandbox_host():
    available, why = sandbox_available()
    if not available:
        pytest.fail(f"these tests need a host that can sandbox code: {why} (docs/sandbox.md)")


def definition(folder: Path):
    model, problems = read_model(folder, sorted(p.name for p in folder.iterdir()), "model")
    assert problems == []
    return model


def mrpc_tokens(model, count: int = 64):
    test_set = load_test_set(ELUE_DATA_DIR, MRPC, with_labels=False)
    tokens = tokenize(model, {"mrpc": test_set})["mrpc"]
    return [np.asarray(ids, dtype=np.int32) for ids in tokens.ids[:count]], tokens.pad_id


def custom_model(tmp_path: Path, prelude: str = "", predict_prelude: str = ""):
    """The COST-EFF-style model; ``prelude`` runs at import, ``predict_prelude`` inside
    every ``predict`` call (the submitter's code, in the sandbox)."""
    honest = MODEL_CODE.format(hidden=COST_EFF.hidden, head_dim=COST_EFF.head_dim,
                               vocab=COST_EFF.vocab, positions=COST_EFF.positions,
                               heads=COST_EFF.heads, ffn=COST_EFF.ffn)
    folder = multi_exit_model(tmp_path / "model", COST_EFF, honest)
    save_weights(folder)
    code = prelude + honest.replace(
        '    """Leave at the first exit whose top probability reaches the threshold."""\n',
        '    """Leave at the first exit whose top probability reaches the threshold."""\n'
        + "".join(f"    {line}\n" for line in predict_prelude.splitlines()))
    (folder / "model.py").write_text(code, encoding="utf-8")
    manifest(folder, ["mrpc"], [1.01])
    return definition(folder)


def test_a_served_model_answers_as_the_platforms_run(tmp_path):
    model = definition(standard_model(tmp_path / "model"))
    sequences, pad_id = mrpc_tokens(model)
    run, = run_model(model, MRPC, sequences, [None], pad_id, OPTIONS)
    job = model_job(model, MRPC, [None], pad_id, OPTIONS)
    with ServedModel.start(model, job, OPTIONS) as served:
        one_by_one = [served.predict(0, [s])[0][0] for s in sequences]
        batch, exits = served.predict(0, sequences)
        memory, source = served.peak_memory()
    assert np.array_equal(np.array(one_by_one), run.labels)
    assert np.array_equal(batch, run.labels) and exits is None
    assert source == "rss" and 100 < memory < 4096  # torch and a small BERT, read by the host


def test_the_model_cannot_stop_the_hosts_clock(tmp_path):
    """Code that freezes every clock it can reach in the sandbox and takes 30 ms per call is
    still measured at 30 ms or more: the clock is the host's."""
    frozen = ("import time as _t\n_t.perf_counter = lambda: 0.0\n_t.monotonic = lambda: 0.0\n"
              "_t.time = lambda: 0.0\n_t.perf_counter_ns = lambda: 0\n_sleep = _t.sleep\n")
    model = custom_model(tmp_path, prelude=frozen, predict_prelude="_sleep(0.03)")
    sequences, pad_id = mrpc_tokens(model, 12)
    plan = Plan(np.arange(5), np.array([10, 11]),
                MeasureOptions(sample_size=5, warmup=2, repetitions=2, offline=False))
    job = model_job(model, MRPC, [1.01], pad_id, OPTIONS)
    with ServedModel.start(model, job, OPTIONS) as served:
        measured = measure_point(served, 0, sequences, plan, MonotonicClock(), None, "none")
    assert measured.latency_p50_ms >= 30.0


def test_printing_model_code_does_not_break_the_protocol(tmp_path):
    model = custom_model(tmp_path, prelude="import sys\nprint('loading', flush=True)\n",
                         predict_prelude="print('predicting ' * 1000, flush=True)\n"
                                         "sys.stdout.buffer.write(b'\\x00' * 64)")
    sequences, pad_id = mrpc_tokens(model, 8)
    job = model_job(model, MRPC, [1.01], pad_id, OPTIONS)
    with ServedModel.start(model, job, OPTIONS) as served:
        labels, exits = served.predict(0, sequences)
    assert set(labels) <= {0.0, 1.0} and exits.tolist() == [6] * 8


def test_a_model_that_hangs_is_stopped_at_the_wall_time(tmp_path):
    model = custom_model(tmp_path, predict_prelude="while True:\n    pass")
    sequences, pad_id = mrpc_tokens(model, 2)
    quick = ModelRunOptions(policy=SandboxPolicy(wall_seconds=8, threads=1))
    job = model_job(model, MRPC, [1.01], pad_id, quick)
    with pytest.raises(ModelCodeFailed, match="exceeded the wall time of 8 s"), \
            ServedModel.start(model, job, quick) as served:
        served.predict(0, sequences)


def test_a_model_that_fails_says_why(tmp_path):
    model = custom_model(tmp_path, predict_prelude="raise ValueError('no predictions today')")
    sequences, pad_id = mrpc_tokens(model, 2)
    job = model_job(model, MRPC, [1.01], pad_id, OPTIONS)
    with pytest.raises(ModelCodeFailed, match="ValueError: no predictions today"), \
            ServedModel.start(model, job, OPTIONS) as served:
        served.predict(0, sequences)


def test_the_job_runs_the_declared_precision(tmp_path):
    folder = standard_model(tmp_path / "model")
    (folder / "elue.json").write_text(json.dumps({"tasks": ["mrpc"], "dtype": "bf16"}))
    model = definition(folder)
    sequences, pad_id = mrpc_tokens(model, 32)
    job = model_job(model, MRPC, [None], pad_id, OPTIONS)
    assert (job["dtype"], job["device"]) == ("bf16", "cpu")
    fp32, = run_model(definition(standard_model(tmp_path / "fp32")), MRPC, sequences, [None],
                      pad_id, OPTIONS)
    with ServedModel.start(model, job, OPTIONS) as served:
        bf16, _ = served.predict(0, sequences)
    assert np.mean(bf16 == fp32.labels) >= 0.9  # autocast: nearly the same predictions


def test_a_round_trip_costs_little_next_to_a_model(tmp_path):
    import time

    model = definition(standard_model(tmp_path / "model"))
    sequences, pad_id = mrpc_tokens(model, 1)
    with ServedModel.start(model, model_job(model, MRPC, [None], pad_id, OPTIONS),
                           OPTIONS) as served:
        started = time.perf_counter()
        for _ in range(50):
            served.round_trip()
        assert (time.perf_counter() - started) / 50 < 0.05
