"""The ELUE reference's FLOPs: ElasticBERT-BASE truncated to k layers (SPEC §4).

Counted with the platform's own counter on each task's test inputs, so that the reference and
the entries are measured the same way: the BERT-base architecture (ElasticBERT-BASE's backbone)
and the bert-base-uncased WordPiece tokenizer.

    >>> reference_mflops(load_test_set(data_dir, get_task("sst-2"), False), [3, 6, 12])
    {3: 1060.33..., 6: 2119.41..., 12: 4237.56...}
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from evaluator.cost.architectures import config_from_dict
from evaluator.cost.per_example import CostModel, build_cost_model
from evaluator.cost.token_lengths import load_tokenizer, reference_tokenizer_dir, token_lengths
from evaluator.data import TestSet

# bert-base-uncased's config.json, the fields that shape the model.
REFERENCE_CONFIG: dict = {
    "model_type": "bert",
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
    "hidden_act": "gelu",
    "vocab_size": 30522,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "layer_norm_eps": 1e-12,
    "pad_token_id": 0,
}

REFERENCE_MAX_TOKENS = 512


def reference_lengths(test_set: TestSet) -> np.ndarray:
    """Token lengths of the test set under bert-base-uncased (special tokens, ≤ 512)."""
    tokenizer = load_tokenizer(reference_tokenizer_dir())
    return token_lengths(tokenizer, test_set.texts, REFERENCE_MAX_TOKENS)


def reference_cost_model(num_labels: int, lengths: np.ndarray) -> CostModel:
    """The cost model of ElasticBERT-BASE (BERT-base) with ``num_labels`` outputs."""
    return build_cost_model(config_from_dict(REFERENCE_CONFIG, num_labels), lengths)


def reference_mflops(test_set: TestSet, layers: Sequence[int]) -> dict[int, float]:
    """Mean MFLOPs per example of ElasticBERT-BASE truncated to each k in ``layers``.

    A truncated model is charged its embeddings, k layers and one pooler and classifier.
    """
    lengths = reference_lengths(test_set)
    cost = reference_cost_model(test_set.task.num_labels, lengths)
    return {k: float(2 * cost.macs(lengths, num_layers=k).mean() / 1e6) for k in layers}
