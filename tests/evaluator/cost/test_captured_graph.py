"""The captured-graph format: no pickle, and nothing in a (possibly forged) graph file is
executed or resolved beyond ATen operators ELUE has a rule for."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open

from evaluator.cost.captured_graph import TENSORS_SUFFIX, GraphInvalid
from evaluator.cost.graph_interpreter import interpret, state_tensors
from evaluator.cost.graph_reader import load_program
from tests.evaluator.cost.graph_helpers import Tiny, capture, captured, edit

pytestmark = pytest.mark.slow  # each builds and captures a model (seconds)


def run(graph, model, ids, mask):
    tensors = state_tensors(graph, {k: v for k, v in model.state_dict().items()}, {})
    users = iter((ids, mask))
    return interpret(graph, [next(users) if t is None else t for t in tensors])


def test_a_captured_model_computes_what_the_model_computes(tmp_path):
    torch.manual_seed(0)
    model = Tiny().eval()
    graph = captured(model, tmp_path)
    for batch, length in ((1, 5), (3, 17)):
        ids = torch.randint(0, 100, (batch, length))
        mask = torch.ones_like(ids)
        out, = run(graph, model, ids, mask)
        with torch.no_grad():
            assert torch.allclose(out, model(ids, mask), atol=1e-6)


def test_the_graph_files_are_json_and_safetensors_never_pickle(tmp_path):
    path = capture(Tiny(), tmp_path)
    assert isinstance(json.loads(path.read_text()), dict)
    with safe_open(str(tmp_path / f"static{TENSORS_SUFFIX}"), "pt") as tensors:
        assert list(tensors.keys()) == []  # Tiny keeps everything in its state_dict


@pytest.mark.parametrize("target, message", [
    ("torch.hub.os.system", "not an ATen operator"),
    ("builtins.exec", "not an ATen operator"),
    ("torch.ops.mylib.secret.default", "not an ATen operator"),
    ("torch.ops.aten.convolution.default", "aten.convolution, which ELUE's counter has no rule"),
    ("torch.ops.aten.randn.default", "aten.randn, which ELUE's counter has no rule"),
    ("torch.ops.aten.linear.no_such_overload", "which this PyTorch does not have"),
])
def test_it_calls_only_aten_operators_with_a_counting_rule(tmp_path, target, message):
    path = capture(Tiny(), tmp_path)

    def swap(raw):
        node = next(n for n in raw["graph_module"]["graph"]["nodes"]
                    if n["target"] == "torch.ops.aten.linear.default")
        node["target"] = target

    with pytest.raises(GraphInvalid, match=message):
        load_program(edit(path, swap))


def test_it_never_runs_guards_or_size_expressions_from_the_file(tmp_path):
    path = capture(Tiny(), tmp_path)
    planted = tmp_path / "planted"
    payload = f"__import__('os').system('touch {planted}')"

    def plant(raw):
        raw["guards_code"] = [payload]
        graph = raw["graph_module"]["graph"]
        for value in graph["sym_int_values"].values():
            if "as_expr" in value:
                value["as_expr"]["expr_str"] = payload
        for node in graph["nodes"]:
            node["metadata"] = {"stack_trace": payload, "nn_module_stack": payload}

    graph = load_program(edit(path, plant))
    out, = run(graph, Tiny(), torch.ones((2, 4), dtype=torch.long),
               torch.ones((2, 4), dtype=torch.long))
    assert out.shape == (2, 2)
    assert not planted.exists()


@pytest.mark.parametrize("change, message", [
    (lambda raw: raw["graph_module"]["graph"]["nodes"][-1]["inputs"][0].update(
        arg={"as_graph": {"name": "true_graph_0", "graph": {}}}), "a sub-graph"),
    (lambda raw: raw["graph_module"]["graph"]["nodes"][-1]["inputs"][0].update(
        arg={"as_custom_obj": {"name": "obj", "class_fqn": "x"}}), "a custom object"),
    (lambda raw: raw["graph_module"]["signature"]["output_specs"].append(
        {"buffer_mutation": {"arg": {"name": "x"}, "buffer_name": "model.counter"}}),
     "changes its own tensors"),
    (lambda raw: raw["graph_module"]["signature"]["input_specs"].insert(
        0, {"custom_obj": {"arg": {"name": "o"}, "custom_obj_name": "o"}}), "custom_obj input"),
    (lambda raw: raw["graph_module"]["graph"]["nodes"][-1]["inputs"][0].update(
        arg={"as_tensor": {"name": "computed_later"}}), "before it is computed"),
    (lambda raw: raw["graph_module"]["graph"]["nodes"][-1]["inputs"][0].update(
        arg={"as_device": {"type": "file:///etc/passwd", "index": None}}), "a device"),
])
def test_it_refuses_what_is_not_a_plain_graph(tmp_path, change, message):
    path = capture(Tiny(), tmp_path)
    with pytest.raises(GraphInvalid, match=message):
        load_program(edit(path, change))


def test_it_refuses_files_that_are_not_graphs(tmp_path):
    with pytest.raises(GraphInvalid, match="not JSON"):
        load_program(b"\x80\x04\x95cos\nsystem\n.")
    with pytest.raises(GraphInvalid, match="not a captured program"):
        load_program(b"[]")
    with pytest.raises(GraphInvalid, match="not JSON"):
        load_program(b"[" * 100_000)
    with pytest.raises(GraphInvalid, match="at most"):
        load_program(b" " * (64 * 1024 * 1024 + 1))


def test_weights_must_fit_the_captured_model(tmp_path):
    graph = captured(Tiny(), tmp_path)
    state = Tiny().state_dict()
    state["head.weight"] = torch.zeros(3, 16)
    with pytest.raises(GraphInvalid, match=r"head.weight has shape \(3, 16\) in the weights"):
        state_tensors(graph, state, {})
    del state["head.weight"]
    with pytest.raises(GraphInvalid, match="head.weight is not in the weights"):
        state_tensors(graph, state, {})


def test_python_operators_may_not_compute_on_tensors(tmp_path):
    path = capture(Tiny(), tmp_path)

    def swap(raw):
        node = next(n for n in raw["graph_module"]["graph"]["nodes"]
                    if n["target"] == "torch.ops.aten.add.Tensor")
        node["target"] = "_operator.add"
        node["inputs"] = [{"name": "a", "arg": node["inputs"][0]["arg"], "kind": 1},
                          {"name": "b", "arg": node["inputs"][1]["arg"], "kind": 1}]

    graph = load_program(edit(path, swap))
    with pytest.raises(GraphInvalid, match="only ATen operators may compute on tensors"):
        interpret(graph, graph.meta_inputs(1, 8), device="meta")
