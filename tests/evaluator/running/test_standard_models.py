"""Each standard architecture run by the platform (kind 4) on real MRPC sentence pairs, with
its own tokenizer, predicts example for example what a plain transformers loop predicts.

Small random models (seeded) stand for trained ones: what is checked is that the platform
feeds each model the inputs (token ids, mask, segment ids where the architecture takes
them) a researcher's own loop feeds it, and loads its weights, pruned heads included.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from evaluator.bundle.load import load_bundle
from evaluator.cost.architectures import build_model, config_from_dict
from evaluator.errors import SubmissionInvalid
from evaluator.evaluate import evaluate_bundle
from evaluator.running.model_sandbox import ModelRunOptions
from evaluator.running.sandbox import sandbox_available
from evaluator.running.sandbox_policy import SandboxPolicy
from tests.conftest import ELUE_DATA_DIR
from tests.evaluator.running.plain_loop import plain_predictions
from tests.evaluator.tokenizer_files import WRITERS

pytestmark = pytest.mark.slow
OPTIONS = ModelRunOptions(policy=SandboxPolicy(wall_seconds=600, threads=1))
# Weights drawn wide enough that a random classifier answers both labels.
SHAPE = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 4,
         "intermediate_size": 64, "max_position_embeddings": 512, "initializer_range": 0.5}
ROBERTA_LIKE = {**SHAPE, "max_position_embeddings": 514, "pad_token_id": 1,
                "bos_token_id": 0, "eos_token_id": 2, "type_vocab_size": 1}
MODELS = {  # config.json and the tokenizer it comes with
    "deberta-v3": ({"model_type": "deberta-v2", **SHAPE, "vocab_size": 1000,
                    "relative_attention": True, "position_buckets": 32,
                    "pos_att_type": "p2c|c2p", "share_att_key": True,
                    "position_biased_input": False, "norm_rel_ebd": "layer_norm",
                    "type_vocab_size": 0}, "deberta-v3"),
    # DeBERTa-v2's layout with a segment embedding: the tokenizer's segment ids matter.
    "deberta-v2-segments": ({"model_type": "deberta-v2", **SHAPE, "vocab_size": 1000,
                             "relative_attention": True, "position_buckets": 32,
                             "pos_att_type": ["p2c", "c2p"], "type_vocab_size": 2},
                            "deberta-v3"),
    "xlm-roberta": ({"model_type": "xlm-roberta", **ROBERTA_LIKE, "vocab_size": 1000},
                    "xlm-roberta"),
    "camembert": ({"model_type": "camembert", **ROBERTA_LIKE, "vocab_size": 1000},
                  "camembert"),
    "mpnet": ({"model_type": "mpnet", **ROBERTA_LIKE, "vocab_size": 30527}, "mpnet"),
    "modernbert": ({"model_type": "modernbert", **SHAPE, "num_hidden_layers": 3,
                    "vocab_size": 1000, "local_attention": 16, "pad_token_id": 3,
                    "bos_token_id": 1, "eos_token_id": 2, "cls_token_id": 1,
                    "sep_token_id": 2}, "modernbert"),
    "albert": ({"model_type": "albert", **SHAPE, "embedding_size": 16, "vocab_size": 1000},
               "albert"),
}


@pytest.fixture(autouse=True)
def sandbox_host():
    available, why = sandbox_available()
    if not available:
        pytest.fail(f"these tests need a host that can sandbox code: {why} (docs/sandbox.md)")


def save_random_model(folder: Path, raw: dict, seed: int = 7) -> None:
    """``raw``'s classifier with seeded random weights, saved as ``save_pretrained`` does."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    fields = {k: v for k, v in raw.items() if k != "model_type"}
    config = AutoConfig.for_model(raw["model_type"], num_labels=2, **fields)
    torch.manual_seed(seed)
    AutoModelForSequenceClassification.from_config(config).save_pretrained(
        str(folder), safe_serialization=True)


def kind4_bundle(root: Path, raw: dict, tokenizer: str) -> Path:
    folder = WRITERS[tokenizer](root / "model")
    save_random_model(folder, raw)
    (folder / "elue.json").write_text(json.dumps({"tasks": ["mrpc"]}), encoding="utf-8")
    return root


def platform_predictions(root: Path, scratch: Path) -> list[str]:
    bundle = load_bundle(root, scratch)
    evaluate_bundle(bundle, ELUE_DATA_DIR, curves={}, options=OPTIONS)
    point, = bundle.points
    return list(point.predictions)


@pytest.mark.parametrize("name", MODELS)
def test_the_platform_runs_each_architecture_as_a_plain_loop_does(tmp_path, name):
    from transformers import AutoModelForSequenceClassification

    raw, tokenizer = MODELS[name]
    root = kind4_bundle(tmp_path / name, raw, tokenizer)
    got = platform_predictions(root, tmp_path / "scratch")
    model = AutoModelForSequenceClassification.from_pretrained(str(root / "model")).eval()
    expected = plain_predictions(model, root / "model", "mrpc")
    assert len(set(expected)) == 2  # the random model does not answer one label for all
    assert [i for i, (a, b) in enumerate(zip(got, expected, strict=True)) if a != b] == []


def test_the_platform_runs_a_model_with_pruned_heads(tmp_path):
    from safetensors.torch import save_file

    from evaluator.cost.token_lengths import reference_tokenizer_dir

    raw = {"model_type": "bert", **SHAPE, "vocab_size": 30522,
           "pruned_heads": {"0": [1, 3], "1": [0]}}
    folder = WRITERS["bert"](tmp_path / "pruned" / "model")
    (folder / "config.json").write_text(json.dumps(raw), encoding="utf-8")
    torch.manual_seed(3)
    model = build_model(config_from_dict(raw, 2), device="cpu")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(folder / "model.safetensors"))
    (folder / "elue.json").write_text(json.dumps({"tasks": ["mrpc"]}), encoding="utf-8")
    got = platform_predictions(folder.parent, tmp_path / "scratch")
    assert model.bert.encoder.layer[0].attention.self.query.out_features == 16
    assert got == plain_predictions(model, reference_tokenizer_dir(), "mrpc")


def test_it_refuses_a_tokenizer_whose_segment_ids_the_model_cannot_embed(tmp_path):
    # bert-base-uncased's tokenizer gives the second sentence segment id 1; a RoBERTa
    # config has a single segment.
    root = tmp_path / "mismatch"
    folder = WRITERS["bert"](root / "model")
    save_random_model(folder, {"model_type": "roberta", **ROBERTA_LIKE, "vocab_size": 30522})
    (folder / "elue.json").write_text(json.dumps({"tasks": ["mrpc"]}), encoding="utf-8")
    with pytest.raises(SubmissionInvalid) as refused:
        platform_predictions(root, tmp_path / "scratch")
    [problem] = refused.value.problems
    assert problem.code == "bad_tokenizer" and "type_vocab_size is 1" in problem.message
