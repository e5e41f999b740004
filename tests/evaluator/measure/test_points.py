"""Every platform-run point of a bundle measured through ``evaluate_bundle``, as the worker
does; which points are measured; the measured reference on this hardware."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from evaluator.benchmark import TASKS
from evaluator.bundle.load import PointFiles, load_bundle
from evaluator.data import load_test_set
from evaluator.evaluate import evaluate_bundle
from evaluator.measure.points import answer_agreement, measurable_points
from evaluator.measure.protocol import MeasureOptions
from evaluator.measure.reference import measure_reference
from evaluator.measure.scenarios import Answers
from evaluator.running.custom_code import ModelRunOptions
from evaluator.running.sandbox import SandboxPolicy, sandbox_available
from tests.conftest import ELUE_DATA_DIR
from tests.evaluator.builders import predictions
from tests.evaluator.custom_models import (
    COST_EFF,
    manifest,
    multi_exit_model,
    save_weights,
    standard_model,
)

OPTIONS = ModelRunOptions(policy=SandboxPolicy(wall_seconds=300, threads=1))
QUICK = MeasureOptions(sample_size=40, warmup=4, idle_seconds=0.1)


@pytest.fixture
def sandbox_host():
    available, why = sandbox_available()
    if not available:
        pytest.fail(f"these tests need a host that can sandbox code: {why} (docs/sandbox.md)")


def kind4(root: Path, thresholds=(0.5, 1.01)) -> Path:
    folder = multi_exit_model(root / "model", COST_EFF)
    save_weights(folder)
    manifest(folder, ["mrpc"], list(thresholds))
    return root


def fake_points(bundle) -> list[PointFiles]:
    """The points a kind-4 run would have made (constant predictions), without running."""
    task = TASKS["mrpc"]
    return [PointFiles(task, f"{t:g}", ["1"] * 1725, f"mrpc_{t:g}.tsv")
            for t in bundle.model.manifest.thresholds]


@pytest.mark.slow
def test_every_point_of_a_kind4_model_is_measured_with_its_own_exits(tmp_path, sandbox_host):
    bundle = load_bundle(kind4(tmp_path / "bundle"), tmp_path / "scratch")
    steps = []
    report = evaluate_bundle(bundle, ELUE_DATA_DIR, curves={}, options=OPTIONS, measure=QUICK,
                             progress=steps.append)
    assert report.hardware["device"] == "cpu" and report.hardware["threads"] == 1
    assert report.hardware["protocol"] == QUICK.name and report.hardware["dtype"] == "fp32"
    early, late = report.tasks[0].points
    for point in (early, late):
        measured = point.measurement
        assert measured["agreement"] == 100.0  # the measured runs gave the point's predictions
        assert measured["single_stream_examples"] == 40 and measured["offline_examples"] == 1725
        assert 0 < measured["latency_p50_ms"] <= measured["latency_p90_ms"] \
            <= measured["latency_p99_ms"]
        assert measured["throughput"] > 0 and measured["memory_source"].startswith("rss")
        assert measured["energy_j"] is None and "RAPL" in measured["energy_note"]
    assert early.exit_histogram == {1: 1725} and late.exit_histogram == {6: 1725}
    assert "MRPC 0.5: measuring latency, throughput, memory and energy" in steps


@pytest.mark.slow
def test_without_measure_options_nothing_is_measured(tmp_path, sandbox_host):
    bundle = load_bundle(kind4(tmp_path / "bundle", (1.01,)), tmp_path / "scratch")
    report = evaluate_bundle(bundle, ELUE_DATA_DIR, curves={}, options=OPTIONS)
    assert report.hardware is None and report.tasks[0].points[0].measurement is None


def test_kind3_measures_what_it_reruns(tmp_path):
    """A standard architecture with weights: its static points on the tasks of elue.json."""
    root = tmp_path / "carol"
    folder = standard_model(root / "model")
    (folder / "elue.json").write_text(json.dumps({"tasks": ["mrpc"]}))
    for name in ("mrpc.tsv", "sst-2.tsv"):
        (root / name).write_text(predictions(name.removesuffix(".tsv")))
    bundle = load_bundle(root, tmp_path / "scratch")
    assert [p.predictions_file for p in measurable_points(bundle)] == ["mrpc.tsv"]


def test_files_without_weights_are_not_measured(tmp_path):
    root = tmp_path / "dave"
    multi_exit_model(root / "model", COST_EFF)
    (root / "mrpc.tsv").write_text(predictions("mrpc"))
    assert measurable_points(load_bundle(root, tmp_path / "scratch")) == []


def test_answers_that_are_not_labels_never_agree(tmp_path):
    root = tmp_path / "erin"
    folder = standard_model(root / "model")
    (folder / "elue.json").write_text(json.dumps({"tasks": ["mrpc"]}))
    (root / "mrpc.tsv").write_text(predictions("mrpc"))
    point, = load_bundle(root, tmp_path / "scratch").points
    truth = [float(label) for label in point.predictions[:4]]
    answers = Answers({0: truth[0], 1: truth[1], 2: 7.0, 3: float("nan")})
    assert answer_agreement(TASKS["mrpc"], point, answers) == 50.0


@pytest.mark.slow
def test_the_reference_is_measured_at_each_depth(sandbox_host):
    mrpc = load_test_set(ELUE_DATA_DIR, TASKS["mrpc"], with_labels=False)
    recorded = {}
    profile = measure_reference({"mrpc": mrpc}, OPTIONS,
                                MeasureOptions(sample_size=12, warmup=2, idle_seconds=0.1),
                                "fp32", lambda slug, depth, m: recorded.update({depth: m}),
                                layers=(1, 12), done={("mrpc", 2)})
    assert sorted(recorded) == [1, 12]
    one, twelve = recorded[1], recorded[12]
    assert twelve.latency_p50_ms > 2 * one.latency_p50_ms  # BERT-base's depth shows
    assert one.throughput is None and one.agreement is None  # single stream only
    assert profile.device == "cpu" and profile.dtype == "fp32"
    assert np.isfinite(twelve.latency_p99_ms)


def test_no_time_left_before_the_deadline_means_not_measured(tmp_path):
    """Measuring never makes the evaluation run out of time: past the deadline nothing is
    started, and each point says why it has no figures."""
    import time

    from evaluator.measure.points import NO_TIME_LEFT, measure_bundle
    from evaluator.running.model_points import tokenize

    bundle = load_bundle(kind4(tmp_path / "bundle"), tmp_path / "scratch")
    mrpc = load_test_set(ELUE_DATA_DIR, TASKS["mrpc"], with_labels=False)
    bundle.points = fake_points(bundle)
    tokens = tokenize(bundle.model, {"mrpc": mrpc})
    late = MeasureOptions(deadline=time.monotonic() + 5)  # under a task's minimum
    _, measured = measure_bundle(bundle, {"mrpc": mrpc}, tokens, OPTIONS, late)
    assert measured == {("mrpc", "0.5"): NO_TIME_LEFT, ("mrpc", "1.01"): NO_TIME_LEFT}
