"""Counting and running captured graphs, in a sandbox that holds no submitted code.

These jobs see the graphs the capture job wrote (``/graphs``) and, to run, the submitted
weights (``/weights``, only ``*.safetensors`` files) and the test inputs' token ids and
segment ids; never ``model.py``. Every graph is checked before it is loaded
(``evaluator.cost.graph_reader``). A graph captured with segment ids as its third input
(the tokenizer gives them and the model takes them) is run with them.

``count_graphs`` writes ``result.json``: ``{"parameters": P, "macs": {NAME: {"L": MACs}}}``
for the ``static`` and ``exit-K`` graphs, after checking that each ``predict-I`` graph does
no more counted work than the whole model at its last exit (``bounds``)::

    {"action": "count_graphs", "graphs_dir": "/graphs", "lengths": [9, 14],
     "max_tokens": 512, "graphs": ["static", "exit-1", "exit-2"],
     "bounds": {"predict-0": "exit-2"}}

``run_graphs`` writes ``result.npz`` with ``labels_i`` (and ``exits_i``) per point ``i``.
A static point's labels are the ``static`` graph's output. A point at a threshold runs the
``predict-I`` graph only for its exit layers; each example's label then comes from the
``exit-K`` graph of the exit it took, the graph its cost is counted from::

    {"action": "run_graphs", "graphs_dir": "/graphs", "weights_dir": "/weights",
     "num_labels": 2, "regression": false, "inputs": "/inputs/ids.npz",
     "points": [{"threshold": null}, {"threshold": 0.5, "predict": "predict-0"}],
     "num_layers": 6, "token_budget": 8192, "pad_id": 0, "pad_type_id": 0}
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from evaluator.cost.captured_graph import GRAPH_SUFFIX, TENSORS_SUFFIX, CapturedGraph, GraphInvalid
from evaluator.cost.graph_count import (
    GraphCounter,
    WorkMeter,
    check_batch,
    macs_by_length,
    parameter_count,
)
from evaluator.cost.graph_interpreter import interpret, state_tensors
from evaluator.cost.graph_reader import load_program
from evaluator.cost.per_example import FIT_LENGTHS
from evaluator.running.batching import DEFAULT_TOKEN_BUDGET, run_batches
from evaluator.running.model_inputs import read_inputs
from evaluator.running.sandboxed.protocol import JobFailed, progress, reporter

WEIGHT_SUFFIX = ".safetensors"
# The work ``predict`` may add to the whole model's (its decision: a softmax over exits...).
PREDICT_MARGIN = 0.01


def load_graph(folder: Path, name: str) -> CapturedGraph:
    try:
        return load_program((folder / f"{name}{GRAPH_SUFFIX}").read_bytes())
    except OSError as error:
        raise JobFailed("bad_graph", f"graph {name} is missing ({error})") from None
    except GraphInvalid as error:
        raise JobFailed("bad_graph", f"{describe_graph(name)}: {error}") from None


def describe_graph(name: str) -> str:
    kind, _, index = name.partition("-")
    return {"static": "forward without an exit layer", "exit": f"forward at exit {index}",
            "predict": f"predict (threshold {index})"}.get(kind, name)


# --- counting -----------------------------------------------------------------------------

def count_graphs_job(job: dict) -> dict:
    """Parameters of the model, and MACs per length of each static or exit graph."""
    folder = Path(job["graphs_dir"])
    names = [str(n) for n in job["graphs"]]
    bounds = {str(k): str(v) for k, v in (job.get("bounds") or {}).items()}
    graphs = {name: load_graph(folder, name) for name in [*names, *bounds]}
    lengths = sorted({int(n) for n in job["lengths"]})
    counters = {name: GraphCounter(graph, describe_graph(name)) for name, graph in
                graphs.items()}
    try:
        macs = {name: macs_by_length(counters[name], lengths, int(job["max_tokens"]))
                for name in names}
        for predict, whole in bounds.items():
            check_bound(counters[predict], counters[whole], lengths[-1],
                        int(job["max_tokens"]))
    except GraphInvalid as error:
        raise JobFailed("bad_graph", str(error)) from None
    progress(f"counted {len(names)} graph(s) at {len(lengths)} length(s)")
    return {"parameters": parameter_count(graphs),
            "macs": {name: {str(n): v for n, v in table.items()}
                     for name, table in macs.items()}}


def check_bound(predict: GraphCounter, whole: GraphCounter, longest: int,
                max_tokens: int) -> None:
    """``predict`` may compute no more than the whole model at its last exit (plus its
    decision): the exit it picks for an example must not come from more work than the
    model's, work that no example would be charged for."""
    for length in sorted({n for n in FIT_LENGTHS if n <= max_tokens} | {longest}):
        allowed = whole.at(length) * (1 + PREDICT_MARGIN)
        if predict.at(length) > allowed:
            raise GraphInvalid(
                f"{predict.what} does {predict.at(length):,} MACs at {length} tokens, more than "
                f"the whole model at its last exit ({whole.at(length):,}); predict() may only "
                "decide where each example leaves from the model's own outputs")
    predict.check_batches([longest])


# --- running ------------------------------------------------------------------------------

def load_weights(folder: Path) -> dict:
    """Every ``*.safetensors`` file in ``folder`` (never a pickle)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    files = sorted(p for p in folder.iterdir() if p.name.endswith(WEIGHT_SUFFIX))
    if not files:
        raise JobFailed("no_weights", "the model has no model.safetensors weights")
    state = {}
    for path in files:
        try:
            state.update(load_file(str(path)))
        except (SafetensorError, OSError, ValueError) as error:
            raise JobFailed("bad_weights", f"{path.name} is not a safetensors file ({error}); "
                            "pickle-based weights are never loaded") from None
    return state


class GraphRunner:
    """The job's graphs, loaded on first use with the submitted weights. Every batch a graph
    runs is measured and may do no more than its examples are counted for, one by one, at
    the batch's (padded) length."""

    def __init__(self, job: dict):
        self.folder = Path(job["graphs_dir"])
        self.weights = load_weights(Path(job["weights_dir"]))
        self.loaded: dict[str, tuple[CapturedGraph, list]] = {}
        self.counters: dict[str, GraphCounter] = {}

    def graph(self, name: str) -> tuple[CapturedGraph, list]:
        if name not in self.loaded:
            from safetensors.torch import load_file

            graph = load_graph(self.folder, name)
            try:
                captured = load_file(str(self.folder / f"{name}{TENSORS_SUFFIX}"))
                tensors = state_tensors(graph, self.weights, captured)
            except GraphInvalid as error:
                raise JobFailed("bad_weights", f"{describe_graph(name)}: {error}") from None
            except Exception as error:  # noqa: BLE001 - a foreign tensors file
                raise JobFailed("bad_graph", f"{describe_graph(name)}: its tensors cannot be "
                                f"read ({str(error)[:300]})") from None
            self.loaded[name] = graph, tensors
            self.counters[name] = GraphCounter(graph, describe_graph(name))
        return self.loaded[name]

    def outputs(self, name: str, ids, mask, types=None) -> list:
        """The outputs of graph ``name`` on one batch: token ids, attention mask and, if the
        graph takes them, segment ids."""
        graph, tensors = self.graph(name)
        counter = self.counters[name]
        wanted = sum(t is None for t in tensors)
        if wanted == 3 and types is None:  # captured only when the tokenizer gives them
            raise JobFailed("bad_graph", f"{counter.what} takes segment ids, but the "
                            "tokenizer gives none")
        users = iter((ids, mask, types))
        inputs = [next(users) if t is None else t for t in tensors]
        meter = WorkMeter()
        batch, length = int(ids.shape[0]), int(ids.shape[1])
        try:
            outputs = interpret(graph, inputs, observe=meter)
        except GraphInvalid as error:
            raise JobFailed("bad_graph", f"{counter.what}: {error}") from None
        try:
            check_batch(meter.work, batch, length, counter.single(length), counter.what)
        except GraphInvalid as error:
            raise JobFailed("bad_graph", str(error)) from None
        return outputs


def logits_step(runner: GraphRunner, name: str, num_labels: int, regression: bool):
    """A batch's labels from the last output of graph ``name`` (the exit's head)."""
    def step(ids, mask, types):
        last = runner.outputs(name, ids, mask, types)[-1]
        rows = ids.shape[0]
        expected = (rows, num_labels)
        if tuple(last.shape) != expected and not (regression and tuple(last.shape) == (rows,)):
            raise JobFailed("model_interface", f"{describe_graph(name)} returns "
                            f"{tuple(last.shape)} as its last output; expected the exit's "
                            f"logits, shape (batch, {num_labels})")
        if regression:
            return last.reshape(rows, -1)[:, 0], None
        return last.argmax(-1), None
    return step


def exits_step(runner: GraphRunner, name: str, num_layers: int):
    """A batch's exit layers: the second output of a ``predict-I`` graph."""
    def step(ids, mask, types):
        outputs = runner.outputs(name, ids, mask, types)
        if len(outputs) != 2:
            raise JobFailed("model_interface", "predict() must return a tuple "
                            "(labels, exit_layers)")
        exits = outputs[1]
        if exits.is_floating_point() or exits.shape != (ids.shape[0],) or (
                exits.numel() and (int(exits.min()) < 1 or int(exits.max()) > num_layers)):
            raise JobFailed("model_interface", f"predict() returned exit layers that are not "
                            f"whole numbers in 1..{num_layers}, one per example")
        return exits, None
    return step


def run_point(runner: GraphRunner, job: dict, point: dict, sequences: list,
              segments: list | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Labels (and exit layers) of one point over ``sequences`` (and their ``segments``)."""
    threshold = point.get("threshold")
    budget, pad = job.get("token_budget", DEFAULT_TOKEN_BUDGET), job["pad_id"]
    pad_type = job.get("pad_type_id", 0)
    num_labels, regression = int(job["num_labels"]), bool(job["regression"])
    if threshold is None:
        labels, _ = run_batches(logits_step(runner, "static", num_labels, regression),
                                sequences, pad, budget, reporter(None), segments, pad_type)
        return labels, None
    exits, _ = run_batches(exits_step(runner, point["predict"], int(job["num_layers"])),
                           sequences, pad, budget, reporter(threshold), segments, pad_type)
    exits = exits.astype(np.int64)
    labels = np.zeros(len(sequences), dtype=np.float64 if regression else np.int64)
    for layer in np.unique(exits):
        chosen = np.flatnonzero(exits == layer)
        got, _ = run_batches(logits_step(runner, f"exit-{int(layer)}", num_labels, regression),
                             [sequences[i] for i in chosen], pad, budget, None,
                             None if segments is None else [segments[i] for i in chosen],
                             pad_type)
        labels[chosen] = got
    return labels, exits


def run_graphs_job(job: dict) -> dict[str, np.ndarray]:
    """Predictions (and exit layers) of every point, as arrays named per point."""
    sequences, segments = read_inputs(job["inputs"])
    runner = GraphRunner(job)
    arrays = {}
    for i, point in enumerate(job["points"]):
        labels, exits = run_point(runner, job, point, sequences, segments)
        arrays[f"labels_{i}"] = labels
        if exits is not None:
            arrays[f"exits_{i}"] = exits
    return arrays
