"""ELUE's counting rules in fvcore, pinned to SPEC §3's BERT-base formula."""

from __future__ import annotations

import logging

import pytest
import torch
from torch import nn

from evaluator.cost.architectures import build_model, config_from_dict
from evaluator.cost.fvcore_rules import NOT_COUNTED_OPS, mflops, module_macs, total_macs
from evaluator.cost.reference_flops import REFERENCE_CONFIG
from tests.evaluator.configs import SMALL


def bert_base(num_labels: int = 2):
    return config_from_dict(REFERENCE_CONFIG, num_labels)


def bert_base_layer(length: int) -> int:
    """SPEC §3: MACs of one BERT-base layer at ``length`` tokens."""
    return 7_080_960 * length + 1_560 * length**2


@pytest.mark.parametrize("attention", ["eager", "sdpa"])
def test_it_counts_a_bert_base_layer_by_the_formula(attention):
    model = build_model(bert_base(), num_layers=1, attn_implementation=attention)
    for length in (1, 7, 64, 128, 512):
        assert module_macs(model, length)["bert.encoder.layer.0"] == bert_base_layer(length)


def test_it_counts_the_whole_bert_base_classifier():
    macs = total_macs(build_model(bert_base()), 128)
    assert macs == 11_183_851_008
    assert round(mflops(macs), 2) == 22_367.70


def test_it_counts_embeddings_as_their_layer_norm_only():
    # Lookups and the sum of word, position and type embeddings cost nothing; LayerNorm 2/elem.
    by_module = module_macs(build_model(bert_base(), num_layers=1), 50)
    assert by_module["bert.embeddings"] == 2 * 768 * 50


def test_it_counts_pooler_and_classifier_without_bias():
    by_module = module_macs(build_model(bert_base(num_labels=3), num_layers=1), 20)
    assert by_module["bert.pooler"] == 768 * 768
    assert by_module["classifier"] == 768 * 3


def test_eager_and_sdpa_attention_count_the_same():
    config = config_from_dict(SMALL, 2)
    counts = {impl: module_macs(build_model(config, attn_implementation=impl), 33)
              for impl in ("eager", "sdpa")}
    assert counts["eager"] == counts["sdpa"]


def test_meta_tensors_count_like_real_ones():
    config = config_from_dict(SMALL, 2)
    meta = total_macs(build_model(config), 21)
    real = total_macs(build_model(config, device="cpu"), 21)
    assert meta == real


class Norms(nn.Module):
    def __init__(self, affine: bool):
        super().__init__()
        self.embed = nn.Embedding(10, 8)
        self.norm = nn.LayerNorm(8, elementwise_affine=affine)

    def forward(self, ids):
        return self.norm(self.embed(ids))


@pytest.mark.parametrize(("affine", "per_element"), [(True, 2), (False, 1)])
def test_it_counts_layer_norm_per_element(affine, per_element):
    assert total_macs(Norms(affine), 5) == per_element * 8 * 5


class Attention(nn.Module):
    """Four heads of size 6 over L tokens, eager or through the fused SDPA kernel."""

    def __init__(self, fused: bool):
        super().__init__()
        self.fused = fused
        self.embed = nn.Embedding(10, 24)

    def forward(self, ids):
        q = k = v = self.embed(ids).view(1, -1, 4, 6).transpose(1, 2)
        if self.fused:
            return nn.functional.scaled_dot_product_attention(q, k, v)
        scores = torch.matmul(q, k.transpose(-1, -2)) / 6**0.5
        return torch.matmul(scores.softmax(-1), v)


@pytest.mark.parametrize("fused", [True, False])
def test_it_counts_attention_per_head(fused):
    # QKᵀ d·L², AV d·L², scaling L², softmax L², per head.
    length, heads, d = 9, 4, 6
    assert total_macs(Attention(fused), length) == heads * (2 * d + 2) * length**2


class Unknown(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 8)

    def forward(self, ids):
        return torch.cumprod(self.embed(ids), dim=1)


def test_it_logs_ops_without_a_rule(caplog):
    with caplog.at_level(logging.WARNING, logger="evaluator.cost.fvcore_rules"):
        assert total_macs(Unknown(), 4) == 0
    assert "aten::cumprod" in caplog.text


def test_it_is_silent_about_ops_it_does_not_count(caplog):
    with caplog.at_level(logging.DEBUG):
        total_macs(build_model(config_from_dict(SMALL, 2)), 7)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "aten::embedding" in NOT_COUNTED_OPS and "aten::gelu" in NOT_COUNTED_OPS
