"""Segment ids (``token_type_ids``) from the submission's tokenizer reach every model call.

A real BERT-family classifier (MiniLM-L6's weights with a seeded classifier head) run by the
platform gives, example for example, what a plain transformers loop gives with the
tokenizer's segment ids, on a sentence-pair task (MRPC) and a single-sentence task (SST-2).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from evaluator.benchmark import TASKS
from evaluator.bundle.load import load_bundle
from evaluator.cost.token_lengths import reference_tokenizer_dir
from evaluator.data import load_test_set
from evaluator.evaluate import evaluate_bundle
from evaluator.running.custom_code import ModelRunOptions
from evaluator.running.sandbox import SandboxPolicy, sandbox_available
from tests.conftest import ELUE_DATA_DIR
from tests.evaluator.running.test_standard_models import one_thread

pytestmark = pytest.mark.slow
OPTIONS = ModelRunOptions(policy=SandboxPolicy(wall_seconds=900, threads=1))
TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json",
                   "special_tokens_map.json")


@pytest.fixture(autouse=True)
def sandbox_host():
    available, why = sandbox_available()
    if not available:
        pytest.fail(f"these tests need a host that can sandbox code: {why} (docs/sandbox.md)")


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
    """Predictions of the model in ``folder`` one example at a time (the first ``count``
    examples, or all), as a researcher's own transformers loop computes them (the
    tokenizer's segment ids, or all zeros)."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    model = AutoModelForSequenceClassification.from_pretrained(str(folder)).eval()
    texts = load_test_set(ELUE_DATA_DIR, TASKS[slug], with_labels=False).texts[:count]
    predictions = []
    with torch.inference_mode(), one_thread():
        for example in texts:
            encoded = tokenizer(*example, truncation=True, max_length=512, return_tensors="pt")
            if zero_segments:
                encoded["token_type_ids"] = torch.zeros_like(encoded["token_type_ids"])
            predictions.append(str(int(model(**encoded).logits.argmax(-1))))
    return predictions


@pytest.fixture(scope="module")
def minilm(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("minilm")
    minilm_classifier(root / "model", ["mrpc", "sst-2"])
    return root


@pytest.fixture(scope="module")
def platform_predictions(minilm, tmp_path_factory) -> dict[str, list[str]]:
    bundle = load_bundle(minilm, tmp_path_factory.mktemp("scratch"))
    report = evaluate_bundle(bundle, ELUE_DATA_DIR, curves={}, options=OPTIONS)
    assert {t.task for t in report.tasks} == {"sst-2", "mrpc"}
    return {p.task.slug: list(p.predictions) for p in bundle.points}


@pytest.mark.parametrize("slug", ["mrpc", "sst-2"])
def test_a_kind4_run_equals_a_plain_transformers_loop(minilm, platform_predictions, slug):
    expected = plain_loop(minilm / "model", slug)
    assert len(expected) == TASKS[slug].test_size
    got = platform_predictions[slug]
    differing = [i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b]
    assert differing == []


def test_segment_ids_change_what_a_sentence_pair_model_predicts(minilm, platform_predictions):
    # The check above can fail: all-zero segment ids (the old behaviour) give other answers.
    zeros = plain_loop(minilm / "model", "mrpc", zero_segments=True, count=300)
    changed = np.mean([a != b for a, b in zip(platform_predictions["mrpc"][:300], zeros,
                                              strict=True)])
    assert changed > 0.01
