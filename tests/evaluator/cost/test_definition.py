"""Verified cost of a model definition directory (config.json + tokenizer) on a test set."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from evaluator.benchmark import get_task
from evaluator.cost.definition import measure_dynamic, measure_static
from evaluator.cost.token_lengths import reference_tokenizer_dir
from evaluator.data import TestSet
from evaluator.errors import SubmissionInvalid

SMALL = {"model_type": "bert", "hidden_size": 64, "num_hidden_layers": 3,
         "num_attention_heads": 4, "intermediate_size": 128, "vocab_size": 30522,
         "max_position_embeddings": 128}


def macs(length: int, layers: int, heads: int = 1, labels: int = 2) -> int:
    """SMALL by hand: embeddings' LayerNorm, layers (linear, LayerNorm, attention), heads."""
    layer = 33_024 * length + 136 * length**2
    return 128 * length + layers * layer + heads * (64 * 64 + 64 * labels)


def definition(directory: Path, **changes) -> Path:
    (directory / "config.json").write_text(json.dumps({**SMALL, **changes}))
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(reference_tokenizer_dir() / name, directory / name)
    return directory


def sst2(*sentences: str) -> TestSet:
    return TestSet(get_task("sst-2"), [(s,) for s in sentences])


def test_it_measures_a_static_definition(tmp_path):
    # [CLS] hello world [SEP]: 4 tokens; [CLS] a fine , fine film . [SEP]: 8.
    point = measure_static(definition(tmp_path), sst2("Hello world", "A fine, fine film."))
    expected = 2 * np.array([macs(4, 3), macs(8, 3)]) / 1e6
    assert point.mean_mflops == pytest.approx(expected.mean())
    assert point.exit_histogram == {3: 2}


def test_it_charges_sentence_pairs_and_the_tasks_labels(tmp_path):
    snli = TestSet(get_task("snli"), [("Hello world", "x y")])  # 7 tokens, 3 labels
    point = measure_static(definition(tmp_path), snli)
    assert point.mean_mflops == pytest.approx(2 * macs(7, 3, labels=3) / 1e6)


def test_it_truncates_at_the_models_positions(tmp_path):
    point = measure_static(definition(tmp_path, max_position_embeddings=16), sst2("word " * 50))
    assert point.mean_mflops == pytest.approx(2 * macs(16, 3) / 1e6)


def test_it_measures_each_operating_point_of_a_dynamic_definition(tmp_path):
    test_set = sst2("Hello world", "A fine, fine film.")
    points = measure_dynamic(definition(tmp_path), test_set, {
        "sst-2_infer_exit_layer_0.1.tsv": np.array([1, 1]),
        "sst-2_infer_exit_layer_0.5.tsv": np.array([2, 3]),
    })
    early, late = points["sst-2_infer_exit_layer_0.1.tsv"], points["sst-2_infer_exit_layer_0.5.tsv"]
    assert early.mean_mflops == pytest.approx((macs(4, 1, 1) + macs(8, 1, 1)) / 1e6)
    assert late.mean_mflops == pytest.approx((macs(4, 2, 2) + macs(8, 3, 3)) / 1e6)
    assert late.exit_histogram == {2: 1, 3: 1}
    assert early.mparams == late.mparams


def test_it_refuses_exit_layers_beyond_the_definition(tmp_path):
    with pytest.raises(SubmissionInvalid) as error:
        measure_dynamic(definition(tmp_path), sst2("Hi", "Ho"), {"x.tsv": np.array([1, 4])})
    [problem] = error.value.problems
    assert (problem.code, problem.file) == ("exit_layer_out_of_range", "x.tsv")
    assert "exit layer 4 is outside 1..3" in problem.message
