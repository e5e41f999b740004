"""Segment ids (``token_type_ids``) from the submission's tokenizer reach a standard
architecture's every run.

The sandbox side hands them to a standard model whose forward takes them. End to end, a real
BERT-family classifier (MiniLM-L6's weights with a seeded classifier head) run by the
platform gives, example for example, what a plain transformers loop gives with the
tokenizer's segment ids, on a sentence-pair task (MRPC) and a single-sentence task (SST-2).
Custom code gets them through its captured graphs: ``test_custom_segments``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from evaluator.benchmark import TASKS
from evaluator.bundle.load import load_bundle
from evaluator.cost.token_lengths import reference_tokenizer_dir
from evaluator.evaluate import evaluate_bundle
from evaluator.running.model_sandbox import ModelRunOptions
from evaluator.running.sandbox import sandbox_available
from evaluator.running.sandbox_policy import SandboxPolicy
from evaluator.running.sandboxed.jobs import standard_step
from tests.conftest import ELUE_DATA_DIR
from tests.evaluator.running.plain_loop import plain_predictions

OPTIONS = ModelRunOptions(policy=SandboxPolicy(wall_seconds=900, threads=1))
TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json",
                   "special_tokens_map.json")


def minilm_classifier(folder: Path, tasks: list[str], seed: int = 1234) -> Path:
    """A kind-4 ``model/`` folder: MiniLM-L6's weights, a classifier head drawn with
    ``seed``, bert-base-uncased's tokenizer and ``elue.json`` for ``tasks``."""
    from transformers import AutoModelForSequenceClassification

    source = reference_tokenizer_dir()
    torch.manual_seed(seed)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(source), num_labels=2, use_safetensors=True)
    model.save_pretrained(str(folder), safe_serialization=True)
    for name in TOKENIZER_FILES:
        (folder / name).write_bytes((source / name).read_bytes())
    (folder / "elue.json").write_text(json.dumps({"tasks": tasks}), encoding="utf-8")
    return folder


def plain_loop(folder: Path, slug: str, zero_segments: bool = False,
               count: int | None = None) -> list[str]:
    from transformers import AutoModelForSequenceClassification

    model = AutoModelForSequenceClassification.from_pretrained(str(folder))
    return plain_predictions(model, folder, slug, count, zero_segments)


@pytest.fixture(scope="module")
def minilm(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("minilm")
    minilm_classifier(root / "model", ["mrpc", "sst-2"])
    return root


@pytest.fixture(scope="module")
def platform_predictions(minilm, tmp_path_factory) -> dict[str, list[str]]:
    available, why = sandbox_available()
    assert available, f"these tests need a host that can sandbox code: {why}"
    bundle = load_bundle(minilm, tmp_path_factory.mktemp("scratch"))
    report = evaluate_bundle(bundle, ELUE_DATA_DIR, curves={}, options=OPTIONS)
    assert {t.task for t in report.tasks} == {"sst-2", "mrpc"}
    return {p.task.slug: list(p.predictions) for p in bundle.points}


@pytest.mark.slow
@pytest.mark.parametrize("slug", ["mrpc", "sst-2"])
def test_a_kind4_run_equals_a_plain_transformers_loop(minilm, platform_predictions, slug):
    expected = plain_loop(minilm / "model", slug)
    assert len(expected) == TASKS[slug].test_size
    got = platform_predictions[slug]
    differing = [i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b]
    assert differing == []


@pytest.mark.slow
def test_a_rerun_of_a_kind3_submission_feeds_the_same_segment_ids(minilm, tmp_path):
    # Kind 3 with weights: MRPC predictions from a plain loop, re-run on every example.
    root = tmp_path / "kind3"
    shutil.copytree(minilm / "model", root / "model")
    (root / "model" / "elue.json").write_text(json.dumps({"tasks": ["mrpc"]}))
    labels = plain_loop(root / "model", "mrpc")
    rows = "".join(f"{i}\t{label}\n" for i, label in enumerate(labels))
    (root / "mrpc.tsv").write_text("index\tprediction\n" + rows, encoding="utf-8")
    everything = ModelRunOptions(policy=OPTIONS.policy, sample_size=len(labels))
    report = evaluate_bundle(load_bundle(root, tmp_path / "scratch"), ELUE_DATA_DIR,
                             curves={}, options=everything)
    point, = report.tasks[0].points
    assert (point.rerun_examples, point.rerun_prediction_agreement) == (1725, 100.0)


@pytest.mark.slow
def test_segment_ids_change_what_a_sentence_pair_model_predicts(minilm, platform_predictions):
    # The check above can fail: all-zero segment ids (the old behaviour) give other answers.
    zeros = plain_loop(minilm / "model", "mrpc", zero_segments=True, count=300)
    changed = np.mean([a != b for a, b in zip(platform_predictions["mrpc"][:300], zeros,
                                              strict=True)])
    assert changed > 0.01


IDS, MASK = torch.tensor([[101, 7, 102, 8, 102]]), torch.ones(1, 5, dtype=torch.long)
TYPES = torch.tensor([[0, 0, 0, 1, 1]])


class Classifier(torch.nn.Module):
    """Two logits: the sum of the segment ids it was given, and 1."""

    def __init__(self, takes_segments: bool):
        super().__init__()
        self.takes_segments = takes_segments

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        sums = torch.zeros(len(input_ids)) if token_type_ids is None else \
            token_type_ids.sum(1).float()
        return SimpleNamespace(logits=torch.stack([sums, torch.ones(len(input_ids))], 1))


class NoSegments(torch.nn.Module):
    def forward(self, input_ids, attention_mask, **kwargs):  # DistilBERT, MPNet, ModernBERT
        assert "token_type_ids" not in kwargs  # transformers' kwargs go to attention
        return SimpleNamespace(logits=torch.ones(len(input_ids), 2))


def test_a_standard_model_gets_segment_ids_when_its_forward_takes_them():
    assert standard_step(Classifier(True), regression=False)(IDS, MASK, TYPES)[0].tolist() \
        == [0]  # logits (2, 1): the segment ids arrived
    assert standard_step(Classifier(True), regression=False)(IDS, MASK, None)[0].tolist() \
        == [1]
    assert standard_step(NoSegments(), regression=False)(IDS, MASK, TYPES)[0].tolist() == [0]
