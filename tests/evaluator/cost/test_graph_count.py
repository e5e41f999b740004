"""Counting captured graphs under SPEC §3: exact on honest models, and refusing the ways a
graph could compute more than it is counted for."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from torch import nn

from evaluator.cost.captured_graph import GraphInvalid
from evaluator.cost.graph_count import (
    GraphCounter,
    check_batch,
    graph_work,
    macs_by_length,
    parameter_count,
)
from evaluator.cost.graph_reader import load_program
from tests.evaluator.cost.graph_helpers import Tiny, capture, captured, tiny_macs
from tests.evaluator.custom_models import COST_EFF, macs, multi_exit_model, parameters

pytestmark = pytest.mark.slow  # each builds and captures a model (seconds)

LENGTHS = [1, 2, 7, 8, 23, 64, 103, 512]


def test_it_counts_a_small_model_by_the_formula(tmp_path):
    graph = captured(Tiny(), tmp_path)
    counted = macs_by_length(GraphCounter(graph, "Tiny"), LENGTHS, 512)
    assert counted == {n: tiny_macs(n) for n in LENGTHS}
    assert parameter_count({"static": graph}) == sum(p.numel() for p in Tiny().parameters())


def test_it_counts_a_cost_eff_model_at_every_exit_by_the_formula(tmp_path):
    folder = multi_exit_model(tmp_path / "model", COST_EFF)
    spec = importlib.util.spec_from_file_location("cost_eff", folder / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.build(3)

    class AtExit(nn.Module):
        def __init__(self, k):
            super().__init__()
            self.model, self.k = model, k

        def forward(self, input_ids, attention_mask=None):
            return self.model(input_ids, exit_layer=self.k, attention_mask=attention_mask)

    graphs = {k: captured(AtExit(k), tmp_path / str(k)) for k in (1, 4, 6)}
    for k, graph in graphs.items():
        counted = macs_by_length(GraphCounter(graph, f"exit {k}"), LENGTHS, 512)
        assert counted == {n: macs(COST_EFF, n, k, num_labels=3) for n in LENGTHS}
    assert parameter_count(graphs) == parameters(COST_EFF, num_labels=3)


class BroadcastProduct(nn.Module):
    """A linear layer written as a broadcast multiplication and a sum: no matmul at all."""

    def __init__(self):
        super().__init__()
        self.words = nn.Embedding(100, 64)
        self.weight = nn.Parameter(torch.randn(64, 64))
        self.head = nn.Linear(64, 2)

    def forward(self, input_ids, attention_mask=None):
        x = self.words(input_ids)
        x = (x.unsqueeze(-1) * self.weight).sum(-2)
        return self.head(x[:, 0])


class AddTree(nn.Module):
    """The same product summed by halving additions (each one element-wise)."""

    def __init__(self):
        super().__init__()
        self.words = nn.Embedding(100, 64)
        self.weight = nn.Parameter(torch.randn(64, 64))
        self.head = nn.Linear(64, 2)

    def forward(self, input_ids, attention_mask=None):
        x = self.words(input_ids).unsqueeze(-1) * self.weight  # (B, L, 64, 64)
        while x.shape[-2] > 1:
            half = x.shape[-2] // 2
            x = x[..., :half, :] + x[..., half:, :]
        return self.head(x[:, 0, 0])


@pytest.mark.parametrize("model", [BroadcastProduct, AddTree])
def test_products_hidden_in_element_wise_operations_are_refused(tmp_path, model):
    graph = captured(model(), tmp_path)
    with pytest.raises(GraphInvalid, match="element-wise operations"):
        GraphCounter(graph, model.__name__).at(8)


class MeanPool(nn.Module):
    """A bag of embeddings: averaged, then classified."""

    def __init__(self):
        super().__init__()
        self.words = nn.Embedding(100, 64)
        self.head = nn.Linear(64, 2)

    def forward(self, input_ids, attention_mask=None):
        return self.head(self.words(input_ids).mean(1))


def test_sums_and_means_cost_a_mac_per_element_they_read(tmp_path):
    graph = captured(MeanPool(), tmp_path)
    assert macs_by_length(GraphCounter(graph, "MeanPool"), [8, 300], 512) == {
        n: n * 64 + 64 * 2 for n in (8, 300)}


class HiddenWeights(nn.Module):
    """Weights as a plain tensor attribute, a buffer and a literal: no nn.Parameter, and
    ``parameters()`` overridden to report nothing."""

    def __init__(self):
        super().__init__()
        self.table = torch.randn(100, 32)  # plain attribute: a constant of the graph
        self.register_buffer("mix", torch.randn(32, 32))
        self.register_buffer("scratch", torch.randn(32), persistent=False)

    def parameters(self, recurse=True):
        return iter(())

    def forward(self, input_ids, attention_mask=None):
        x = nn.functional.embedding(input_ids, self.table) @ self.mix + self.scratch
        return x[:, 0] @ torch.tensor([[0.5, -0.5]] * 32)  # a literal: a constant too


def test_parameters_are_every_tensor_the_graph_holds(tmp_path):
    graph = captured(HiddenWeights(), tmp_path)
    assert sum(p.numel() for p in HiddenWeights().parameters()) == 0
    assert parameter_count({"static": graph}) == 100 * 32 + 32 * 32 + 32 + 32 * 2


class BatchCoupled(nn.Module):
    """Extra work on (B-1)(B-2)+2 rows for a batch of B: the same for one example as for
    two, 22 times as much for eight. Counting at one or two examples cannot see it."""

    def __init__(self):
        super().__init__()
        self.words = nn.Embedding(100, 64)
        self.big = nn.Linear(64, 64)
        self.head = nn.Linear(64, 2)

    def forward(self, input_ids, attention_mask=None):
        batch = input_ids.shape[0]
        rows = (batch - 1) * (batch - 2) + 2
        extra = self.big(torch.ones(rows, 64)).mean()
        return self.head(self.words(input_ids)[:, 0]) + extra


def test_a_batch_may_not_cost_more_than_its_examples_one_by_one(tmp_path):
    graph = captured(BatchCoupled(), tmp_path)
    counter = GraphCounter(graph, "BatchCoupled")
    counter.check_batches([16])  # two examples cost no more than twice one
    with pytest.raises(GraphInvalid, match="more than 8 times what one example is counted"):
        check_batch(graph_work(graph, 8, 16), 8, 16, counter.single(16), counter.what)


def test_it_counts_a_transformers_bert_in_submitted_code_by_the_formula(tmp_path):
    import transformers

    config = transformers.BertConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                                     intermediate_size=128, num_labels=2, return_dict=False)
    model = transformers.BertForSequenceClassification(config)
    graph = load_program(capture(model, tmp_path).read_bytes())
    counted = macs_by_length(GraphCounter(graph, "bert"), [8, 64, 512], 512)
    h, f, heads = 64, 128, 4
    for n in (8, 64, 512):
        layer = 4 * n * h * h + 2 * n * h * f + 2 * n * n * h + 2 * heads * n * n + 4 * n * h
        assert counted[n] == 2 * n * h + 2 * layer + h * h + h * 2
    # Its index buffers (position and token type ids, 512 each) are tensors it holds too.
    assert parameter_count({"static": graph}) == sum(
        p.numel() for p in model.parameters()) + 2 * 512
