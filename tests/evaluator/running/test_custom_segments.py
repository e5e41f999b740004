"""Segment ids (``token_type_ids``) reach a ``model.py`` through its captured graphs.

The capture passes them to a ``forward`` or ``predict()`` that takes them (by name or
``**kwargs``) and makes them the graph's third input; one written without them is called as
before, with a graph of two inputs. The graphs that are counted are the graphs that are run,
so a model that reads the segment ids is charged for the graph that reads them. End to end,
a kind-4 ``model.py`` whose label says whether an example has a second segment predicts 1 on
every MRPC pair and 0 on every SST-2 sentence when the platform runs it.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from evaluator.benchmark import TASKS
from evaluator.bundle.load import load_bundle
from evaluator.cost.captured_graph import save_program
from evaluator.cost.graph_reader import load_program
from evaluator.data import load_test_set
from evaluator.running.model_inputs import (
    TokenIds,
    accepts_segments,
    read_inputs,
    write_inputs,
)
from evaluator.running.model_sandbox import ModelRunOptions
from evaluator.running.sandbox import sandbox_available
from evaluator.running.sandbox_policy import SandboxPolicy
from evaluator.running.sandboxed.capture import export, wrappers
from evaluator.running.sandboxed.graph_jobs import GraphRunner
from evaluator.running.sandboxed.protocol import JobFailed
from tests.conftest import ELUE_DATA_DIR

IDS, MASK = torch.tensor([[101, 7, 102, 8, 102]]), torch.ones(1, 5, dtype=torch.long)
TYPES = torch.tensor([[0, 0, 0, 1, 1]])


class SegmentSum(nn.Module):
    """Returns the sum of the segment ids it was given (-1 without), at any exit."""

    def forward(self, input_ids, exit_layer=None, attention_mask=None, token_type_ids=None):
        if token_type_ids is None:
            return torch.full((input_ids.shape[0],), -1)
        return token_type_ids.sum(1)


def test_the_inputs_file_carries_segment_ids_when_the_tokenizer_gives_them(tmp_path):
    pairs = TokenIds([[101, 7, 102, 8, 102], [101, 9, 102]], [[0, 0, 0, 1, 1], [0, 0, 0]],
                     pad_id=0, pad_type_id=0)
    write_inputs(tmp_path / "pairs", pairs)
    ids, types = read_inputs(tmp_path / "pairs" / "ids.npz")
    assert [s.tolist() for s in ids] == pairs.ids and [s.tolist() for s in types] == \
        pairs.type_ids
    write_inputs(tmp_path / "single", TokenIds([[101, 7, 102]]))
    assert read_inputs(tmp_path / "single" / "ids.npz")[1] is None
    assert pairs.subset([1]).type_ids == [[0, 0, 0]]


def test_forward_gets_segment_ids_when_it_takes_them():
    forward, _ = wrappers(SimpleNamespace(), SegmentSum(), segments=True)
    for exit_layer in (None, 2):
        wrapper = forward(exit_layer)
        assert wrapper.segments and wrapper(IDS, MASK, TYPES).tolist() == [2]
    without, _ = wrappers(SimpleNamespace(), SegmentSum(), segments=False)
    assert not without(None).segments and without(None)(IDS, MASK).tolist() == [-1]


def test_a_forward_without_token_type_ids_is_called_as_before():
    class Plain(nn.Module):
        def forward(self, input_ids, exit_layer=None, attention_mask=None):
            return input_ids.sum(1)

    forward, _ = wrappers(SimpleNamespace(), Plain(), segments=True)
    assert not forward(None).segments and forward(None)(IDS, MASK).tolist() == [320]


def test_a_predict_with_token_type_ids_gets_them():
    def predict(model, input_ids, attention_mask, threshold, token_type_ids=None):
        return token_type_ids.sum(1), torch.ones(1, dtype=torch.long)

    _, make = wrappers(SimpleNamespace(predict=predict), nn.Identity(), segments=True)
    assert make(0.5).segments and make(0.5)(IDS, MASK, TYPES)[0].tolist() == [2]
    assert accepts_segments(predict)


def test_the_four_argument_predict_is_still_called_as_before():
    calls = []

    def predict(model, input_ids, attention_mask, threshold):
        calls.append(threshold)
        return torch.zeros(1), torch.ones(1, dtype=torch.long)

    _, make = wrappers(SimpleNamespace(predict=predict), nn.Identity(), segments=True)
    make(0.5)(IDS, MASK)
    assert calls == [0.5] and not make(0.5).segments and not accepts_segments(predict)


def test_a_predict_taking_keywords_gets_them_too():
    def predict(model, input_ids, attention_mask, threshold, **extra):
        return extra["token_type_ids"][:, -1], torch.ones(1, dtype=torch.long)

    _, make = wrappers(SimpleNamespace(predict=predict), nn.Identity(), segments=True)
    assert make(0.5)(IDS, MASK, TYPES)[0].tolist() == [1]


class Segmented(nn.Module):
    """Words plus segments, a LayerNorm and a classifier on the first token."""

    def __init__(self):
        super().__init__()
        self.words = nn.Embedding(200, 16)
        self.segments = nn.Embedding(2, 16)
        self.norm = nn.LayerNorm(16)
        self.head = nn.Linear(16, 2)

    def forward(self, input_ids, exit_layer=None, attention_mask=None, token_type_ids=None):
        x = self.words(input_ids)
        if token_type_ids is not None:
            x = x + self.segments(token_type_ids)
        x = self.norm(x) * attention_mask[..., None]
        return (self.head(x.mean(1)),)


@pytest.mark.slow
def test_a_captured_graph_takes_segment_ids_as_its_third_input_and_runs_with_them(tmp_path):
    torch.manual_seed(0)
    model = Segmented().eval()
    forward, _ = wrappers(SimpleNamespace(), model, segments=True)
    (tmp_path / "graphs").mkdir()
    save_program(export(forward(None), 64), tmp_path / "graphs", "static")
    graph = load_program((tmp_path / "graphs" / "static.graph.json").read_bytes())
    assert sum(spec is None for spec in graph.inputs) == 3
    (tmp_path / "weights").mkdir()
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(tmp_path / "weights" / "model.safetensors"))
    runner = GraphRunner({"graphs_dir": str(tmp_path / "graphs"),
                          "weights_dir": str(tmp_path / "weights")})
    ids = torch.tensor([[101, 7, 102, 8, 102, 0], [101, 9, 9, 102, 11, 102]])
    mask = torch.tensor([[1, 1, 1, 1, 1, 0], [1] * 6])
    types = torch.tensor([[0, 0, 0, 1, 1, 0], [0, 0, 0, 0, 1, 1]])
    got = runner.outputs("static", ids, mask, types)[-1]
    with torch.no_grad():
        assert torch.allclose(got, model(ids, attention_mask=mask, token_type_ids=types)[0])
        assert not torch.allclose(got, model(ids, attention_mask=mask)[0])
    with pytest.raises(JobFailed, match="takes segment ids"):
        runner.outputs("static", ids, mask)


PAIRS_CODE = '''
import torch
from torch import nn

HIDDEN = 8


class Pairs(nn.Module):
    """One layer and one exit over word and segment embeddings; with the test's weights,
    label 1 for an example with a second segment (a sentence pair), else 0."""

    def __init__(self, num_labels):
        super().__init__()
        self.words = nn.Embedding(30522, HIDDEN)
        self.segments = nn.Embedding(2, HIDDEN)
        self.mix = nn.Linear(HIDDEN, HIDDEN)
        self.head = nn.Linear(HIDDEN, num_labels)

    def forward(self, input_ids, exit_layer=None, attention_mask=None, token_type_ids=None):
        types = torch.zeros_like(input_ids) if token_type_ids is None else token_type_ids
        x = self.mix(self.words(input_ids) + self.segments(types))
        return (self.head((x * attention_mask[..., None]).sum(1)),)


def build(num_labels):
    return Pairs(num_labels)


def predict(model, input_ids, attention_mask, threshold, token_type_ids=None):
    return model(input_ids, 1, attention_mask, token_type_ids)[-1][:, 0], \
        torch.ones_like(token_type_ids[:, 0])
'''


def pairs_model(folder):
    """``model/``: ``PAIRS_CODE``, weights making logits (1, 2 · the number of tokens in the
    second segment), bert-base-uncased's tokenizer, one layer."""
    import importlib.util

    from tests.evaluator.custom_models import COST_EFF, multi_exit_model

    multi_exit_model(folder, COST_EFF, PAIRS_CODE)
    (folder / "config.json").write_text('{"model_type": "pairs", "num_hidden_layers": 1}')
    spec = importlib.util.spec_from_file_location("pairs_model", folder / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.build(2)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
        model.segments.weight[1, 0] = 1.0
        model.mix.weight.copy_(torch.eye(8))
        model.head.weight[1, 0], model.head.bias[0] = 2.0, 1.0
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(folder / "model.safetensors"))
    return sum(p.numel() for p in model.parameters())


@pytest.mark.slow
def test_a_kind4_model_py_runs_on_the_tokenizers_segment_ids_in_the_sandbox(tmp_path):
    from evaluator.running.model_points import (
        CapturedGraphs,
        custom_costs,
        gives_segments,
        run_points,
        tokenize,
    )
    from tests.evaluator.custom_models import manifest

    available, why = sandbox_available()
    assert available, f"these tests need a host that can sandbox code: {why}"
    folder = tmp_path / "bundle" / "model"
    parameters = pairs_model(folder)
    manifest(folder, ["mrpc", "sst-2"], [0.5])
    bundle = load_bundle(folder.parent, tmp_path / "scratch")
    test_sets = {slug: load_test_set(ELUE_DATA_DIR, TASKS[slug], with_labels=False)
                 for slug in ("mrpc", "sst-2")}
    tokens = tokenize(bundle.model, test_sets)
    options = ModelRunOptions(policy=SandboxPolicy(wall_seconds=900, threads=1))
    with CapturedGraphs(bundle, options, None, gives_segments(tokens)) as graphs:
        points = run_points(bundle, test_sets, tokens, options, None, graphs)
        cost = custom_costs(bundle, tokens, options, graphs)["mrpc"]
        inputs = {name: sum(spec is None for spec in load_program(
            (graphs[2].directory / f"{name}.graph.json").read_bytes()).inputs)
            for name in graphs[2].plan.names}
    assert inputs == {"exit-1": 3, "predict-0": 3}  # both read the segment ids
    labels = {p.task.slug: set(p.predictions) for p in points}
    assert labels == {"mrpc": {"1"}, "sst-2": {"0"}}  # pairs have a second segment
    # The graph counted is the graph run: the segment lookup and its addition are free
    # (SPEC §3); mix 8·8 and the sum 8 per token, the head 8·2.
    for n in sorted(set(tokens["mrpc"].lengths.tolist())):
        assert cost.macs["1"][n] == 72 * n + 16
    assert cost.parameters == parameters
