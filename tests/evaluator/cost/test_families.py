"""The architectures researchers submit, each pinned to an independent count: PyTorch's
``FlopCounterMode`` (matrix products) plus SPEC §3's extras, at lengths 7 to 512, to the
multiply-accumulate; parameters against ``sum(p.numel())`` of the model transformers builds.
"""

from __future__ import annotations

import numpy as np
import pytest

from evaluator.cost.architectures import config_from_dict, max_tokens
from evaluator.cost.families import WindowSavings, layer_names, sliding_windows
from evaluator.cost.per_example import Windowed, build_cost_model
from evaluator.cost.reference_flops import REFERENCE_CONFIG
from tests.evaluator.configs import MODERNBERT_BASE, NEW_ARCHITECTURES, SMALL
from tests.evaluator.cost.reference_count import reference_macs, transformers_model, window_pairs

LENGTHS = (7, 25, 64, 128, 300, 512)


def expected_macs(raw: dict, model, length: int) -> int:
    """The independent count, with ModernBERT's sliding-window layers charged for the
    (query, key) pairs transformers' own window mask lets through instead of L²."""
    macs = reference_macs(model, length)
    config = config_from_dict(raw, 3)
    for savings in sliding_windows(config).values():
        skipped = length * length - window_pairs(raw, length)
        macs -= savings.heads * (2 * savings.head_dim + 2) * skipped
    return macs


@pytest.mark.slow
@pytest.mark.parametrize("name", NEW_ARCHITECTURES)
def test_it_counts_each_architecture_as_flop_counter_mode_plus_the_spec_extras(name):
    raw = NEW_ARCHITECTURES[name]
    cost = build_cost_model(config_from_dict(raw, 3), LENGTHS)
    model = transformers_model(raw, 3)
    assert cost.fitted
    for length in LENGTHS:
        assert cost.macs(np.array([length]))[0] == expected_macs(raw, model, length), length
    assert cost.parameters() == sum(p.numel() for p in model.parameters())


def test_it_counts_bert_base_as_flop_counter_mode_does():
    # The same independent count gives SPEC §3's figure for BERT-base at L = 128.
    model = transformers_model(REFERENCE_CONFIG, 2)
    assert reference_macs(model, 128) == 11_183_851_008


def test_it_supports_roberta_under_its_other_names():
    for model_type in ("xlm-roberta", "camembert"):
        raw = {**SMALL, "model_type": model_type, "max_position_embeddings": 130,
               "pad_token_id": 1}
        config = config_from_dict(raw, 2)
        assert max_tokens(config) == 128  # positions numbered from pad_token_id + 1
        assert layer_names(config) == [f"encoder.layer.{i}" for i in range(3)]


def test_a_window_saves_nothing_until_the_sequence_outgrows_it():
    savings = WindowSavings(heads=12, head_dim=64, reach=64)
    assert [savings.window_scores(n) for n in (1, 65)] == [1, 65 * 65]
    assert savings.at(65) == 0
    # At 66 tokens only the two corner pairs (0, 65) and (65, 0) are out of reach.
    assert savings.window_scores(66) == 66 * 66 - 2
    assert savings.at(66) == 12 * (2 * 64 + 2) * 2
    # Far beyond, each query sees at most 2·64 + 1 keys.
    assert savings.window_scores(10_000) < 10_000 * 129


def test_modernbert_charges_two_layers_in_three_for_their_window():
    config = config_from_dict(MODERNBERT_BASE, 2)
    windows = sliding_windows(config)
    assert sorted(windows) == [i for i in range(22) if i % 3]
    cost = build_cost_model(config, [300])
    assert [isinstance(layer, Windowed) for layer in cost.layers[:3]] == [False, True, True]
    global_layer, local_layer = cost.layers[3].at(300), cost.layers[4].at(300)
    assert global_layer - local_layer == windows[4].at(300) > 0
