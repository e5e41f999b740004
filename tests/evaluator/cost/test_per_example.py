"""Per-example costs from fitted per-part quadratics, checked against exact counting."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from evaluator.cost import per_example as cost_model
from evaluator.cost.architectures import build_model, config_from_dict, count_parameters
from evaluator.cost.fvcore_rules import total_macs
from evaluator.cost.per_example import (
    CostModel,
    Parts,
    Quadratic,
    Table,
    build_cost_model,
    point_cost,
)
from evaluator.cost.reference_flops import REFERENCE_CONFIG
from evaluator.errors import EvaluationFailed
from tests.evaluator.configs import SMALL

LENGTHS = np.arange(1, 129)


@pytest.fixture(scope="module")
def small() -> CostModel:
    return build_cost_model(config_from_dict(SMALL, 2), LENGTHS)


@pytest.fixture(scope="module")
def bert_base() -> CostModel:
    return build_cost_model(config_from_dict(REFERENCE_CONFIG, 2), [5, 64, 512])


def small_layer(length: int) -> int:
    """By hand for SMALL: per token, 4·64² + 2·64·128 linear + 2 LayerNorms × 2·64; per head
    d·L² twice plus 2·L²."""
    return (4 * 64 * 64 + 2 * 64 * 128 + 2 * 2 * 64) * length + (2 * 64 + 2 * 4) * length**2


def small_parts(length: int) -> Parts:
    """SMALL's three layers; the embeddings' LayerNorm 2·64 per token; a head 64² + 64·2."""
    return Parts(embeddings=2 * 64 * length, layers=(small_layer(length),) * 3,
                 head=64 * 64 + 64 * 2)


def test_it_interpolates_a_quadratic_exactly():
    fit = Quadratic.through({2: 4 * 4 + 5 * 2 + 7, 5: 4 * 25 + 5 * 5 + 7, 9: 4 * 81 + 5 * 9 + 7})
    assert (fit.a, fit.b, fit.c) == (4, 5, 7)
    assert Quadratic.through({1: 1, 2: 2, 4: 5}).a == Fraction(1, 6)


def test_it_recovers_the_spec_formula_for_bert_base(bert_base):
    cost = bert_base
    assert cost.fitted
    assert cost.embeddings == Quadratic(0, 2 * 768, 0)
    assert cost.layers == (Quadratic(1_560, 7_080_960, 0),) * 12
    assert cost.head == Quadratic(0, 0, 768 * 768 + 768 * 2)
    assert cost.macs(np.array([128]))[0] == 11_183_851_008


def test_the_fit_equals_exact_counting_of_the_whole_model(small):
    whole = build_model(config_from_dict(SMALL, 2))
    sample = np.array([1, 2, 3, 17, 33, 64, 99, 128])
    assert small.fitted
    assert small.macs(sample).tolist() == [total_macs(whole, int(n)) for n in sample]


def test_it_charges_a_truncated_model_its_layers_and_one_head(small):
    lengths = np.array([4, 30])
    expected = [p.embeddings + 2 * small_layer(n) + p.head
                for p, n in zip(map(small_parts, lengths), lengths, strict=True)]
    assert small.macs(lengths, num_layers=2).tolist() == expected
    whole_2 = build_model(config_from_dict(SMALL, 2), num_layers=2)
    assert expected == [total_macs(whole_2, int(n)) for n in lengths]


def test_it_charges_a_multi_exit_example_every_head_it_passed(small):
    lengths, exits = np.array([5, 10, 20]), np.array([1, 3, 2])
    parts = [small_parts(n) for n in lengths]
    expected = [p.embeddings + k * (small_layer(n) + p.head)
                for p, n, k in zip(parts, lengths, exits, strict=True)]
    assert expected == [173_384, 1_045_472, 1_440_768]  # worked out on paper
    assert small.macs(lengths, exits).tolist() == expected


def test_it_refuses_exit_layers_the_model_does_not_have(small):
    with pytest.raises(ValueError, match="1..3"):
        small.macs(np.array([5, 6]), np.array([1, 4]))
    with pytest.raises(ValueError):
        small.macs(np.array([5, 6]), np.array([1]))
    with pytest.raises(ValueError):
        small.macs(np.array([5]), num_layers=4)


def test_it_counts_a_12_exit_elasticbert_at_116_mparams(bert_base):
    cost = bert_base
    assert cost.parameters() == 109_483_778
    assert cost.parameters(multi_exit=True) == 109_483_778 + 11 * (768 * 768 + 768 + 768 * 2 + 2)
    assert round(cost.parameters(multi_exit=True) / 1e6, 1) == 116.0
    assert cost.parameters(num_layers=6) == count_parameters(
        build_model(config_from_dict(REFERENCE_CONFIG, 2), num_layers=6))


def cubic_layers(monkeypatch) -> None:
    """Make every layer cost an extra L³ MACs, which no quadratic fits."""
    split = cost_model.Probe.split

    def cubic(self, by_module):
        parts = split(self, by_module)
        length = by_module["bert.embeddings"] // (2 * 64)  # its LayerNorm: 2·64 per token
        return Parts(parts.embeddings, tuple(n + length**3 for n in parts.layers), parts.head)

    monkeypatch.setattr(cost_model.Probe, "split", cubic)
    monkeypatch.setattr(cost_model, "check_additive", lambda probe, attn=None: None)


def test_it_counts_each_length_when_the_fit_does_not_verify(monkeypatch):
    cubic_layers(monkeypatch)
    lengths = np.array([3, 50, 50, 7, 128])
    cost = build_cost_model(config_from_dict(SMALL, 2), lengths)
    assert not cost.fitted
    assert isinstance(cost.layers[0], Table) and sorted(cost.layers[0].macs) == [3, 7, 50, 128]
    expected = [p.embeddings + 3 * (small_layer(n) + n**3) + p.head
                for p, n in zip(map(small_parts, lengths), lengths, strict=True)]
    assert cost.macs(lengths).tolist() == expected
    with pytest.raises(ValueError, match="no count at length 4"):
        cost.macs(np.array([4]))


def test_it_counts_each_length_of_a_model_with_few_positions():
    cost = build_cost_model(config_from_dict({**SMALL, "max_position_embeddings": 20}, 2),
                            [1, 9, 20])
    assert not cost.fitted
    assert cost.macs(np.array([9, 20])).tolist() == [small_parts(9).total(3),
                                                     small_parts(20).total(3)]
    with pytest.raises(ValueError, match="1..20"):
        build_cost_model(config_from_dict({**SMALL, "max_position_embeddings": 20}, 2), [21])


def test_it_refuses_models_whose_parts_do_not_add_up(monkeypatch):
    # A cost that grows with the number of layers but lies outside them would be charged
    # wrongly to truncated models and early exits.
    split = cost_model.Probe.split

    def one_more_per_layer_outside(self, by_module):
        parts = split(self, by_module)
        return Parts(parts.embeddings + len(parts.layers), parts.layers, parts.head)

    monkeypatch.setattr(cost_model.Probe, "split", one_more_per_layer_outside)
    with pytest.raises(EvaluationFailed, match="not the sum of its embeddings, layers and head"):
        build_cost_model(config_from_dict(SMALL, 2), LENGTHS)


SMALL_ARCHITECTURES = {
    "albert": {**SMALL, "model_type": "albert", "embedding_size": 32},
    "distilbert": {"model_type": "distilbert", "dim": 64, "n_layers": 3, "n_heads": 4,
                   "hidden_dim": 128, "vocab_size": 1000, "max_position_embeddings": 128},
    "roberta": {**SMALL, "model_type": "roberta", "max_position_embeddings": 130,
                "pad_token_id": 1},
    "electra": {**SMALL, "model_type": "electra", "embedding_size": 32},
    "mobilebert": {**SMALL, "model_type": "mobilebert", "embedding_size": 32,
                   "intra_bottleneck_size": 32, "true_hidden_size": 32},
}


@pytest.mark.slow
@pytest.mark.parametrize("name", SMALL_ARCHITECTURES)
def test_it_counts_other_standard_architectures(name):
    config = config_from_dict(SMALL_ARCHITECTURES[name], 3)
    cost = build_cost_model(config, LENGTHS)
    whole = build_model(config)
    assert cost.fitted
    assert cost.macs(np.array([2, 77])).tolist() == [total_macs(whole, 2), total_macs(whole, 77)]
    assert cost.parameters() == count_parameters(whole)
    assert all(layer.a > 0 for layer in cost.layers)  # attention is quadratic in length


def test_eager_and_sdpa_give_the_same_cost_model(small):
    assert build_cost_model(config_from_dict(SMALL, 2), LENGTHS, "sdpa") == small


def test_a_static_point_reports_mean_median_p95_and_parameters(small):
    cost = small
    lengths = np.array([3, 3, 10, 40, 128])
    per_example = 2 * np.array([small_parts(n).total(3) for n in lengths]) / 1e6
    point = point_cost(cost, lengths)
    assert point.mean_mflops == pytest.approx(per_example.mean())
    assert point.median_mflops == pytest.approx(2 * small_parts(10).total(3) / 1e6)
    assert point.p95_mflops == pytest.approx(np.percentile(per_example, 95))
    assert point.exit_histogram == {3: 5}
    assert point.mparams == pytest.approx(cost.parameters() / 1e6)


def test_a_dynamic_point_reports_its_exit_histogram_and_all_heads(small):
    cost = small
    point = point_cost(cost, np.array([5, 10, 20, 20]), np.array([1, 3, 2, 1]))
    assert point.exit_histogram == {1: 2, 2: 1, 3: 1}
    assert point.mparams * 1e6 == pytest.approx(cost.parameters(multi_exit=True))
    assert cost.parameters(multi_exit=True) == cost.parameters() + 2 * cost.params.head
