"""Pruned heads (``pruned_heads``) are counted as what the pruned model computes."""

from __future__ import annotations

import numpy as np
import pytest

from evaluator.cost.architectures import build_model, config_from_dict, count_parameters
from evaluator.cost.per_example import build_cost_model
from evaluator.cost.reference_flops import REFERENCE_CONFIG
from tests.evaluator.configs import DEBERTA_V3_XSMALL, SMALL, XLM_ROBERTA_BASE
from tests.evaluator.cost.reference_count import reference_macs

LENGTHS = np.array([7, 25, 64, 128, 300, 512])
# HeadPrune-style: layer 0 loses three heads, layer 5 loses one, layer 11 keeps two.
PRUNED = {"0": [0, 5, 7], "5": [11], "11": list(range(10))}


def pruned_head_macs(length: int, hidden: int = 768, head_dim: int = 64) -> int:
    """SPEC §3 for one head: its query, key, value and output projections 4·L·H·d, and its
    attention (2·d + 2)·L² (QKᵀ, AV, scaling, softmax)."""
    return 4 * length * hidden * head_dim + (2 * head_dim + 2) * length**2


def test_a_pruned_bert_base_costs_less_by_exactly_its_pruned_heads():
    full = build_cost_model(config_from_dict(REFERENCE_CONFIG, 2), LENGTHS)
    pruned = build_cost_model(config_from_dict({**REFERENCE_CONFIG, "pruned_heads": PRUNED},
                                               2), LENGTHS)
    heads = sum(len(h) for h in PRUNED.values())  # 14 of 144
    saved = full.macs(LENGTHS) - pruned.macs(LENGTHS)
    assert saved.tolist() == [heads * pruned_head_macs(int(n)) for n in LENGTHS]
    # Parameters: per head its rows of Q, K, V (weights and biases) and columns of the output.
    assert full.parameters() - pruned.parameters() == heads * (4 * 768 * 64 + 3 * 64)


def test_a_pruned_layer_is_charged_on_its_own():
    cost = build_cost_model(config_from_dict({**SMALL, "pruned_heads": {"1": [0, 2]}}, 2),
                            [9])
    layers = [part.at(9) for part in cost.layers]
    assert layers[0] == layers[2] > layers[1]
    assert layers[0] - layers[1] == 2 * (4 * 9 * 64 * 16 + (2 * 16 + 2) * 81)


@pytest.mark.slow
@pytest.mark.parametrize("raw", [REFERENCE_CONFIG, DEBERTA_V3_XSMALL, XLM_ROBERTA_BASE],
                         ids=["bert", "deberta-v3", "xlm-roberta"])
def test_a_pruned_model_costs_what_flop_counter_mode_sees_it_compute(raw):
    config = config_from_dict({**raw, "pruned_heads": {"0": [1, 2], "3": [0]}}, 2)
    cost = build_cost_model(config, LENGTHS)
    model = build_model(config)
    for length in (7, 128):
        assert cost.macs(np.array([length]))[0] == reference_macs(model, length)
    assert cost.parameters() == count_parameters(model)


def test_a_pruned_model_runs_with_weights_of_the_pruned_shapes():
    import torch

    config = config_from_dict({**SMALL, "pruned_heads": {"0": [3], "2": [0, 1]}}, 2)
    model = build_model(config, device="cpu")
    attention = model.bert.encoder.layer[2].attention
    assert attention.self.query.weight.shape == (32, 64)
    assert attention.output.dense.weight.shape == (64, 32)
    logits = model(input_ids=torch.tensor([[5, 6, 7, 8]])).logits
    assert logits.shape == (1, 2) and torch.isfinite(logits).all()
