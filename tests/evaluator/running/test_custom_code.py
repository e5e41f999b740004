"""Custom model code and models the platform runs (SPEC §2 kinds 3 and 4), end to end on
real MRPC data, with costs checked against formulas derived by hand (custom_models.py)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from evaluator.benchmark import TASKS
from evaluator.bundle.load import load_bundle
from evaluator.bundle.model_files import read_model
from evaluator.cost.token_lengths import load_tokenizer, reference_tokenizer_dir, token_lengths
from evaluator.data import load_test_set
from evaluator.evaluate import evaluate_bundle
from evaluator.running.custom_code import count_custom
from evaluator.running.model_points import run_points, tokenize
from evaluator.running.model_sandbox import ModelCodeFailed, ModelRunOptions
from evaluator.running.sandbox import sandbox_available
from evaluator.running.sandbox_policy import SandboxPolicy
from tests.conftest import ELUE_DATA_DIR, REPO_DIR
from tests.evaluator.builders import EXIT_LAYER_HEADER, PREDICTION_HEADER, tsv
from tests.evaluator.custom_models import (
    COST_EFF,
    ELASTIC,
    Shape,
    macs,
    manifest,
    multi_exit_model,
    parameters,
    save_weights,
)

pytestmark = pytest.mark.slow
OPTIONS = ModelRunOptions(policy=SandboxPolicy(wall_seconds=600, threads=2), sample_size=50)


@pytest.fixture(autouse=True)
def sandbox_host():
    available, why = sandbox_available()
    if not available:
        pytest.fail(f"these tests need a host that can sandbox code: {why} (docs/sandbox.md)")


@cache
def mrpc_lengths() -> np.ndarray:
    """Token lengths of the real MRPC test set under bert-base-uncased's tokenizer."""
    texts = load_test_set(ELUE_DATA_DIR, TASKS["mrpc"], with_labels=False).texts
    return token_lengths(load_tokenizer(reference_tokenizer_dir()), texts, 512)


def expected_mflops(shape: Shape, exits: np.ndarray | None) -> float:
    lengths = mrpc_lengths()
    per_example = [macs(shape, int(n), None if exits is None else int(k))
                   for n, k in zip(lengths, exits if exits is not None else lengths, strict=True)]
    return 2 * float(np.mean(per_example)) / 1e6


def definition(folder: Path, shape: Shape):
    folder = multi_exit_model(folder, shape)
    model, problems = read_model(folder, sorted(p.name for p in folder.iterdir()), "model")
    assert problems == []
    return model


@pytest.mark.parametrize("shape", [COST_EFF, ELASTIC], ids=["cost-eff", "elasticbert"])
def test_it_counts_a_multi_exit_model_as_the_formula_says(tmp_path, shape):
    model = definition(tmp_path / "model", shape)
    lengths = np.array([1, 2, 7, 8, 23, 64, 103, 512])
    exits = list(range(1, shape.num_layers + 1))
    cost = count_custom(model, 3, lengths, exits, True, 512, OPTIONS)
    assert cost.parameters == parameters(shape, num_labels=3)
    for length in lengths:
        assert cost.macs["static"][length] == macs(shape, length, None, num_labels=3)
        for k in exits:
            assert cost.macs[str(k)][length] == macs(shape, length, k, num_labels=3), (k, length)


def kind3_bundle(folder: Path, shape: Shape, files: dict[str, str]) -> Path:
    definition(folder / "model", shape)
    for name, content in files.items():
        (folder / name).write_text(content, encoding="utf-8")
    return folder


def test_it_scores_a_cost_eff_submission_with_exit_layers_on_real_mrpc(tmp_path):
    size = len(mrpc_lengths())
    exits = np.array([i % 6 + 1 for i in range(size)])
    bundle_dir = kind3_bundle(tmp_path / "cost-eff", COST_EFF, {
        "mrpc.tsv": tsv(PREDICTION_HEADER, ["1"] * size),
        "mrpc_0.5.tsv": tsv(PREDICTION_HEADER, ["1"] * size),
        "mrpc_infer_exit_layer_0.5.tsv": tsv(EXIT_LAYER_HEADER, exits.tolist()),
    })
    bundle = load_bundle(bundle_dir, tmp_path / "scratch")
    report = evaluate_bundle(bundle, ELUE_DATA_DIR, curves={}, options=OPTIONS)
    static, dynamic = report.tasks[0].points
    # Counted from the code's captured graphs, which ELUE never ran (no weights): the files'
    # predictions need not come from them, so the points carry the weaker label.
    assert static.basis == dynamic.basis == "code"
    assert static.mflops == pytest.approx(expected_mflops(COST_EFF, None), rel=1e-12)
    assert dynamic.mflops == pytest.approx(expected_mflops(COST_EFF, exits), rel=1e-12)
    assert dynamic.exit_histogram == {k: int((exits == k).sum()) for k in range(1, 7)}
    assert static.mparams == dynamic.mparams == parameters(COST_EFF) / 1e6
    assert static.rerun_examples is None  # no weights: nothing to re-run


def kind4_bundle(folder: Path, shape: Shape, thresholds: list[float] | None) -> Path:
    model_dir = definition(folder / "model", shape).directory
    save_weights(model_dir)
    manifest(model_dir, ["mrpc"], thresholds)
    return folder


def test_it_runs_a_custom_model_at_each_threshold_and_counts_its_exits(tmp_path):
    # Random weights on two labels: every top probability is >= 0.5 (all leave at layer 1)
    # and none reaches 1.01 (all go through the six layers).
    bundle = load_bundle(kind4_bundle(tmp_path / "k4", COST_EFF, [0.5, 1.01]),
                         tmp_path / "scratch")
    assert bundle.runs_model and [t.slug for t in bundle.tasks] == ["mrpc"]
    logged = []
    report = evaluate_bundle(bundle, ELUE_DATA_DIR, curves={}, options=OPTIONS,
                             progress=logged.append)
    early, late = report.tasks[0].points
    size = len(mrpc_lengths())
    assert (early.point, late.point) == ("0.5", "1.01")
    assert early.exit_histogram == {1: size} and late.exit_histogram == {6: size}
    assert early.mflops == pytest.approx(expected_mflops(COST_EFF, np.ones(size)), rel=1e-12)
    assert late.mflops == pytest.approx(expected_mflops(COST_EFF, np.full(size, 6)), rel=1e-12)
    assert early.performance is not None and 0 <= early.performance <= 100
    assert any("threshold 0.5: 1,725 of 1,725 examples" in line for line in logged)


def test_it_measures_how_a_kind3_submission_agrees_with_a_rerun(tmp_path):
    folder = kind4_bundle(tmp_path / "k3", COST_EFF, [0.5])
    bundle = load_bundle(folder, tmp_path / "scratch-run")
    test_sets = {"mrpc": load_test_set(ELUE_DATA_DIR, TASKS["mrpc"], with_labels=False)}
    point, = run_points(bundle, test_sets, tokenize(bundle.model, test_sets), OPTIONS)
    tampered = point.predictions[:]
    flipped = 100
    for i in range(flipped):
        tampered[i] = "0" if tampered[i] == "1" else "1"
    (folder / "mrpc_0.5.tsv").write_text(tsv(PREDICTION_HEADER, tampered))
    (folder / "mrpc_infer_exit_layer_0.5.tsv").write_text(tsv(EXIT_LAYER_HEADER,
                                                              point.exit_layers))
    everything = ModelRunOptions(policy=OPTIONS.policy, sample_size=10_000)
    report = evaluate_bundle(load_bundle(folder, tmp_path / "scratch-check"), ELUE_DATA_DIR,
                             curves={}, options=everything)
    checked = report.tasks[0].points[0]
    assert checked.basis == "counted"  # ELUE ran the graphs it counted, on the sample
    assert checked.rerun_examples == 1725
    assert checked.rerun_prediction_agreement == pytest.approx(100 * (1 - flipped / 1725))
    assert checked.rerun_exit_agreement == 100.0


def test_it_refuses_weights_that_are_a_pickle(tmp_path):
    folder = kind4_bundle(tmp_path / "pickled", COST_EFF, None)
    weights = folder / "model" / "model.safetensors"
    weights.write_bytes(b"\x80\x04\x95" + b"cos\nsystem\n(S'touch /tmp/pwned'\ntR." * 4)
    bundle = load_bundle(folder, tmp_path / "scratch")
    with pytest.raises(ModelCodeFailed) as failure:
        evaluate_bundle(bundle, ELUE_DATA_DIR, curves={}, options=OPTIONS)
    assert "model.safetensors is not a safetensors file" in str(failure.value)
    assert "pickle-based weights are never loaded" in str(failure.value)


def test_it_refuses_a_pickle_weights_file_by_name(tmp_path):
    from evaluator.errors import SubmissionInvalid

    folder = kind4_bundle(tmp_path / "pt", COST_EFF, None)
    (folder / "model" / "model.safetensors").rename(folder / "model" / "model.pt")
    with pytest.raises(SubmissionInvalid) as refused:
        load_bundle(folder, tmp_path / "scratch")
    codes = {(p.code, p.file) for p in refused.value.problems}
    assert ("pickle_weights", "model/model.pt") in codes


MINILM = {"hidden": 384, "heads": 12, "ffn": 1536, "layers": 6, "vocab": 30522,
          "positions": 512, "types": 2}


def minilm_macs(length: int, labels: int = 2) -> int:
    """BERT under SPEC §3 at MiniLM-L6's shape: per layer 4·L·H² (QKV, output) + 2·L·H·F
    (FFN) + 2·L²·H (scores, context) + 2·heads·L² (scaling, softmax) + 4·L·H (LayerNorms);
    embedding LayerNorm 2·L·H; pooler H² and classifier H·C."""
    h, f, n = MINILM["hidden"], MINILM["ffn"], length
    layer = 4 * n * h * h + 2 * n * h * f + 2 * n * n * h + 2 * MINILM["heads"] * n * n \
        + 4 * n * h
    return 2 * n * h + MINILM["layers"] * layer + h * h + h * labels


def minilm_parameters(labels: int = 2) -> int:
    h, f = MINILM["hidden"], MINILM["ffn"]
    embeddings = (MINILM["vocab"] + MINILM["positions"] + MINILM["types"]) * h + 2 * h
    layer = 4 * h * h + 4 * h + 2 * h * f + f + h + 4 * h
    return embeddings + MINILM["layers"] * layer + h * h + h + h * labels + labels


def test_it_runs_minilm_l6_weights_as_a_classifier_on_real_mrpc(tmp_path):
    source = reference_tokenizer_dir()
    model_dir = tmp_path / "minilm" / "model"
    model_dir.mkdir(parents=True)
    for name in ("config.json", "model.safetensors", "vocab.txt", "tokenizer.json",
                 "tokenizer_config.json", "special_tokens_map.json"):
        (model_dir / name).write_bytes((source / name).read_bytes())
    (model_dir / "elue.json").write_text(json.dumps({"tasks": ["mrpc"]}))
    bundle = load_bundle(model_dir.parent, tmp_path / "scratch")
    report = evaluate_bundle(bundle, ELUE_DATA_DIR, curves={}, options=OPTIONS)
    point, = report.tasks[0].points
    assert len(bundle.points[0].predictions) == 1725
    assert set(bundle.points[0].predictions) <= {"0", "1"}
    expected = np.mean([2 * minilm_macs(int(n)) / 1e6 for n in mrpc_lengths()])
    assert point.mflops == pytest.approx(expected, rel=1e-12)
    assert point.mparams == minilm_parameters() / 1e6
    assert point.basis == "counted" and 0 <= point.performance <= 100


EXAMPLE = REPO_DIR / "docs" / "examples" / "model.py"


def test_the_documented_example_is_counted_by_the_platform(tmp_path):
    """The example on the How to submit page works as documented, and the copy in
    docs/submission-format.md is the same code."""
    import importlib.util

    code = EXAMPLE.read_text()
    body = code.split('"""', 2)[2].lstrip("\n")
    assert body in (EXAMPLE.parents[1] / "submission-format.md").read_text()
    folder = multi_exit_model(tmp_path / "model", Shape(heads=(4, 4), ffn=(1024, 1024),
                                                        hidden=256, head_dim=64), code)
    model, problems = read_model(folder, sorted(p.name for p in folder.iterdir()), "model")
    assert problems == []
    cost = count_custom(model, 2, np.array([8, 64]), [1, 2], True, 512, OPTIONS)
    spec = importlib.util.spec_from_file_location("example_model", EXAMPLE)
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    assert cost.parameters == sum(p.numel() for p in example.build(2).parameters())
    assert 0 < cost.macs["1"][64] < cost.macs["2"][64]
    assert cost.macs["1"][8] < cost.macs["1"][64]
