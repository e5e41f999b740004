"""A ``model.py`` that tries to forge its cost gets its true cost, a failure, or the weaker
label, never a forged figure shown as verified (issue "Benchmark integrity", finding 2).

Each hostile model runs where submitted code always runs: in the sandbox that captures its
graphs. Counting and running happen in other sandboxes that never see the code."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch

from evaluator.bundle.model_files import read_model
from evaluator.running.custom_code import GraphPlan, capture, count_captured, count_custom
from evaluator.running.model_inputs import TokenIds
from evaluator.running.model_runs import run_captured
from evaluator.running.model_sandbox import ModelCodeFailed, ModelRunOptions
from evaluator.running.sandbox import sandbox_available
from evaluator.running.sandbox_policy import SandboxPolicy
from tests.evaluator.custom_models import (
    COST_EFF,
    MODEL_CODE,
    macs,
    multi_exit_model,
    parameters,
    save_weights,
)

pytestmark = pytest.mark.slow
OPTIONS = ModelRunOptions(policy=SandboxPolicy(wall_seconds=600, threads=2))
LENGTHS = np.array([1, 8, 23, 64])
SEQUENCES = [[101] + [1000 + (i * 7 + j) % 5000 for j in range(3 + i % 9)] + [102]
             for i in range(24)]
INPUTS = TokenIds(SEQUENCES)


@pytest.fixture(autouse=True)
def sandbox_host():
    available, why = sandbox_available()
    if not available:
        pytest.fail(f"these tests need a host that can sandbox code: {why} (docs/sandbox.md)")


def honest_code() -> str:
    return MODEL_CODE.format(hidden=COST_EFF.hidden, head_dim=COST_EFF.head_dim,
                             vocab=COST_EFF.vocab, positions=COST_EFF.positions,
                             heads=COST_EFF.heads, ffn=COST_EFF.ffn)


def definition(folder: Path, code: str, weights_from: str | None = None):
    """A model folder with ``code`` as model.py (weights, if asked, from ``weights_from``,
    built here by trusted code)."""
    folder = multi_exit_model(folder, COST_EFF, weights_from or code)
    if weights_from is not None:
        save_weights(folder)
        (folder / "model.py").write_text(code, encoding="utf-8")
    model, problems = read_model(folder, sorted(p.name for p in folder.iterdir()), "model")
    assert problems == []
    return model


def assert_true_cost(cost, exits=(1, 6)):
    assert cost.parameters == parameters(COST_EFF, num_labels=2)
    for length in LENGTHS:
        assert cost.macs["static"][length] == macs(COST_EFF, length, None)
        for k in exits:
            assert cost.macs[str(k)][length] == macs(COST_EFF, length, k)


PATCH_THE_COUNTER = '''
import fvcore.nn
import evaluator.cost.graph_rules as rules
import evaluator.cost.graph_count as count
import evaluator.running.sandboxed.graph_jobs as jobs
fvcore.nn.FlopCountAnalysis.total = lambda self, *a: 1
rules.op_macs = lambda *a, **k: 0
count.graph_work = lambda *a, **k: count.Work(0, 0)
jobs.count_graphs_job = lambda job: {"parameters": 0, "macs": {}}
jobs.parameter_count = lambda graphs: 0
'''

HIDE_THE_PARAMETERS = '''

def _hide(module):
    """Every parameter becomes a plain tensor attribute, and parameters() reports none."""
    for sub in module.modules():
        for name, value in list(sub._parameters.items()):
            del sub._parameters[name]
            object.__setattr__(sub, name, value.detach())
    type(module).parameters = lambda self, recurse=True: iter(())
    type(module).named_parameters = lambda self, *a, **k: iter(())
    return module


_build = build


def build(num_labels):
    return _hide(_build(num_labels))
'''


def test_a_model_that_patches_the_counter_gets_its_true_cost(tmp_path):
    model = definition(tmp_path / "model", PATCH_THE_COUNTER + honest_code())
    cost = count_custom(model, 2, LENGTHS, [1, 6], True, 512, OPTIONS)
    assert_true_cost(cost)


def test_a_model_that_hides_its_parameters_gets_its_true_count(tmp_path):
    model = definition(tmp_path / "model", honest_code() + HIDE_THE_PARAMETERS)
    cost = count_custom(model, 2, LENGTHS, [1, 6], True, 512, OPTIONS)
    assert_true_cost(cost)


REWRITE_RESULTS = '''
import atexit, json, os, zipfile

def _forge():
    json.dump({{"parameters": 1, "macs": {{"static": {{"8": 1}}}}, "graphs": {graphs}}},
              open("result.json", "w"))
    # The graphs leave the sandbox packed in graphs.zip: rewrite them there.
    if os.path.getsize("graphs.zip"):
        with zipfile.ZipFile("graphs.zip") as packed:
            members = {{name: packed.read(name) for name in packed.namelist()}}
        with zipfile.ZipFile("graphs.zip", "w") as packed:
            for name, data in members.items():
                packed.writestr(name, {content!r} if name.endswith("{suffix}") else data)

atexit.register(_forge)
'''


@pytest.mark.parametrize("graphs, suffix, content, message", [
    ('["static"]', ".none", "", "did not list the graphs asked for"),
    ('["static", "exit-1", "exit-6"]', ".graph.json", '{"graph_module": 1}',
     "not a captured program"),
    ('["static", "exit-1", "exit-6"]', ".safetensors", "not tensors",
     "its tensors cannot be read"),
])
def test_a_model_that_rewrites_its_files_fails(tmp_path, graphs, suffix, content, message):
    code = REWRITE_RESULTS.format(graphs=graphs, suffix=suffix, content=content) + honest_code()
    model = definition(tmp_path / "model", code, weights_from=honest_code())
    plan = GraphPlan(2, True, (1, 6), (), 512)
    with pytest.raises(ModelCodeFailed, match=message):
        captured = capture(model, plan, OPTIONS)
        try:
            count_captured(captured, LENGTHS, OPTIONS)
            run_captured(captured, _task(), INPUTS, [None], OPTIONS)
        finally:
            captured.close()


def _task():
    from evaluator.benchmark import TASKS

    return TASKS["mrpc"]


TRACE_DETECTORS = {
    "is_exporting": "torch.compiler.is_exporting()",
    "is_compiling": "torch.compiler.is_compiling()",
    "jit_tracing": "torch.jit.is_tracing()",
    "fx_tracing": "torch.fx._symbolic_trace.is_fx_tracing()",
    "fake_tensor": "isinstance(x, torch._subclasses.fake_tensor.FakeTensor)",
    "fx_proxy": "isinstance(x, torch.fx.Proxy)",
    "meta_tensor": "x.is_meta or x.device.type == 'meta'",
    "symbolic_size": "not isinstance(x.shape[1], int)",
}

CHEAP_WHEN_TRACED = '''
import torch
from torch import nn


def traced(x):
    return bool({detector})


class Model(nn.Module):
    """One layer and label 0 when it believes it is being traced; eight layers and label 1
    otherwise."""

    def __init__(self, num_labels):
        super().__init__()
        self.words = nn.Embedding(30522, 32)
        self.layers = nn.ModuleList(nn.Linear(32, 32) for _ in range(8))
        self.head = nn.Linear(32, num_labels)

    def forward(self, input_ids, exit_layer=None, attention_mask=None):
        x = self.words(input_ids)
        if traced(input_ids):
            x = self.layers[0](x)
            bias = torch.tensor([5.0, -5.0])
        else:
            for layer in self.layers:
                x = layer(x)
            bias = torch.tensor([-5.0, 5.0])
        return self.head(x[:, 0]) * 0 + bias


def build(num_labels):
    return Model(num_labels)
'''


def cheap_macs(length: int, layers: int) -> int:
    """``layers`` linear layers of 32x32 per token, the head on the first token."""
    return layers * 32 * 32 * length + 32 * 2


@pytest.mark.parametrize("detector", sorted(TRACE_DETECTORS))
def test_a_model_cheap_only_when_traced_is_charged_for_what_it_computes(tmp_path, detector):
    code = CHEAP_WHEN_TRACED.format(detector=TRACE_DETECTORS[detector])
    model = definition(tmp_path / "model", code, weights_from=code)
    captured = capture(model, GraphPlan(2, True, (), (), 512), OPTIONS)
    try:
        cost = count_captured(captured, LENGTHS, OPTIONS)
        output, = run_captured(captured, _task(), INPUTS, [None], OPTIONS)
    finally:
        captured.close()
    labels = set(output.labels.tolist())
    assert len(labels) == 1
    # The labels ELUE scores come from the graph it counted: the cheap path's cost goes with
    # the cheap path's predictions, the full path's with the full path's.
    layers = 1 if labels == {0} else 8
    assert all(cost.macs["static"][n] == cheap_macs(n, layers) for n in LENGTHS)


HEAVY_PREDICT = '''

class _Oracle(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.big = torch.nn.Linear(64, 4096)

_ORACLE = _Oracle()


def predict(model, input_ids, attention_mask, threshold):
    """Looks at a big extra network to pick where each example leaves."""
    logits = torch.stack(model(input_ids, len(HEADS), attention_mask))
    hidden = model.words(input_ids)
    votes = _ORACLE.big(hidden).mean((1, 2))
    exits = torch.where(votes > 0, 1, len(HEADS))
    return logits[-1].argmax(-1), exits
'''


def test_predict_may_not_compute_more_than_the_whole_model(tmp_path):
    model = definition(tmp_path / "model", honest_code() + HEAVY_PREDICT,
                       weights_from=honest_code())
    plan = GraphPlan(2, False, tuple(range(1, 7)), (0.5,), 512)
    captured = capture(model, plan, OPTIONS)
    try:
        with pytest.raises(ModelCodeFailed, match="more than the whole model at its last exit"):
            count_captured(captured, LENGTHS, OPTIONS)
    finally:
        captured.close()


LYING_PREDICT = '''

def predict(model, input_ids, attention_mask, threshold):
    """Claims label 1 for everything, leaving at the first exit."""
    model(input_ids, 1, attention_mask)
    ones = torch.ones(input_ids.shape[0], dtype=torch.long)
    return ones, ones
'''


def test_labels_come_from_the_exit_an_example_takes_not_from_predict(tmp_path):
    model = definition(tmp_path / "model", honest_code() + LYING_PREDICT,
                       weights_from=honest_code())
    captured = capture(model, GraphPlan(2, False, tuple(range(1, 7)), (0.5,), 512), OPTIONS)
    try:
        output, = run_captured(captured, _task(), INPUTS, [0.5], OPTIONS)
    finally:
        captured.close()
    assert output.exit_layers.tolist() == [1] * len(SEQUENCES)
    # What the first exit's head says, computed here by the trusted code and weights.
    spec = importlib.util.spec_from_file_location("honest", model.directory / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    reference = module.build(2)
    from safetensors.torch import load_file

    reference.load_state_dict(load_file(str(model.directory / "model.safetensors")))
    with torch.no_grad():
        expected = [int(reference.eval()(torch.tensor([s]), 1)[-1].argmax(-1)) for s in SEQUENCES]
    assert output.labels.tolist() == expected
    assert 0 in expected  # the lie (all 1) would have shown


BATCH_COUPLED = '''
import torch
from torch import nn


class Model(nn.Module):
    """Cheap for batches of one or two; (B-1)(B-2)+2 rows of extra work for a batch of B."""

    def __init__(self, num_labels):
        super().__init__()
        self.words = nn.Embedding(30522, 32)
        self.big = nn.Linear(32, 32)
        self.head = nn.Linear(32, num_labels)

    def forward(self, input_ids, exit_layer=None, attention_mask=None):
        batch = input_ids.shape[0]
        extra = self.big(torch.ones((batch - 1) * (batch - 2) + 2, 32)).mean()
        return self.head(self.words(input_ids)[:, 0]) + extra


def build(num_labels):
    return Model(num_labels)
'''


def test_a_model_whose_batches_cost_more_than_their_examples_fails_when_run(tmp_path):
    model = definition(tmp_path / "model", BATCH_COUPLED, weights_from=BATCH_COUPLED)
    captured = capture(model, GraphPlan(2, True, (), (), 512), OPTIONS)
    try:
        count_captured(captured, LENGTHS, OPTIONS)  # one and two examples look honest
        with pytest.raises(ModelCodeFailed, match="more than 24 times what one example"):
            run_captured(captured, _task(), INPUTS, [None], OPTIONS)
    finally:
        captured.close()


def test_a_graphs_archive_of_a_million_entries_is_refused_before_it_is_parsed(tmp_path):
    """The capture's graphs.zip is written by the model's process: a central directory of
    many empty entries must cost the worker nothing, like an upload's."""
    import json
    import zipfile

    from evaluator.errors import SubmissionInvalid
    from evaluator.running.custom_code import _take_graphs

    plan = GraphPlan(2, True, (1, 6), (), 512)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "result.json").write_text(json.dumps({"graphs": plan.names}))
    with zipfile.ZipFile(scratch / "graphs.zip", "w") as archive:
        for i in range(5_000):
            archive.writestr(f"junk-{i}", b"")
    with pytest.raises(SubmissionInvalid) as refused:
        _take_graphs(scratch, plan, tmp_path / "graphs", 256)
    assert refused.value.problems[0].code == "archive_too_many_members"
