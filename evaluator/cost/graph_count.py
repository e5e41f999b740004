"""Counting a captured graph under ELUE's rules (SPEC §3), in a process that never imported
the code it came from.

The graph (``evaluator.cost.captured_graph``) is interpreted on PyTorch's ``meta`` device at
one example of L tokens: every ATen call computes its output's shape, and
``evaluator.cost.graph_rules`` charges it. As for the standard architectures
(``evaluator.cost.per_example``), a quadratic in L is fitted through three lengths and
verified at more, including the longest needed; if it does not verify, each length is
counted. At every length traced the graph must also do no more uncounted element-wise work
than ``ELEMENTWISE_SHARE`` of its counted MACs (plus a small floor), so that no product
hides in multiplications and sums. And a batch may cost no more than its examples one by
one (``check_batch``): checked here for two examples, and by the runner
(``evaluator.running.sandboxed.graph_jobs``) for every batch it actually runs, measured with
the same ``WorkMeter``.

    >>> macs_by_length(graph, [9, 14, 31], max_tokens=512)
    {9: ..., 14: ..., 31: ...}
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from evaluator.cost.captured_graph import CapturedGraph, GraphInvalid, TensorSpec
from evaluator.cost.graph_interpreter import aten_name, interpret
from evaluator.cost.graph_rules import (
    ELEMENTWISE_FLOOR,
    ELEMENTWISE_SHARE,
    Shape,
    op_macs,
    op_work,
)
from evaluator.cost.per_example import FIT_LENGTHS, VERIFY_LENGTHS, Quadratic

if TYPE_CHECKING:
    import torch

BATCH_CHECK = 2


@dataclass(frozen=True)
class Work:
    """What one call of a graph does: MACs counted under SPEC §3, and element-wise work
    (elements computed by operations SPEC §3 does not count)."""

    macs: int
    elementwise: int


def _tensor_shape(tensor: torch.Tensor) -> Shape:
    return tuple(int(s) for s in tensor.shape)


def _shape(value) -> Shape | list[Shape] | None:
    import torch

    if isinstance(value, torch.Tensor):
        return _tensor_shape(value)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, torch.Tensor)
                                                           for v in value):
        return [_tensor_shape(v) for v in value]
    return None


def _positional(operator, args: tuple, kwargs: dict) -> list:
    """The call's arguments in schema order, keyword arguments moved into place."""
    values = list(args)
    for argument in operator._schema.arguments[len(values):]:
        values.append(kwargs.get(argument.name))
    return values


class WorkMeter:
    """An ``interpret`` observer adding up the MACs and element-wise work of the calls it
    sees, from their real shapes (on the meta device when counting, on the CPU when the
    platform runs the graph)."""

    def __init__(self):
        self.macs = 0
        self.elementwise = 0

    def __call__(self, operator, args: tuple, kwargs: dict, result) -> None:
        import torch

        name = aten_name(operator)
        values = _positional(operator, args, kwargs)
        shapes = [_shape(v) for v in values]
        first = result[0] if isinstance(result, (tuple, list)) and result else result
        out = _tensor_shape(first) if isinstance(first, torch.Tensor) else None
        self.macs += op_macs(name, shapes, out, values)
        self.elementwise += op_work(name, shapes, out)

    @property
    def work(self) -> Work:
        return Work(self.macs, self.elementwise)


def graph_work(graph: CapturedGraph, batch: int, length: int) -> Work:
    """MACs and element-wise work of one call on ``batch`` examples of ``length`` tokens."""
    import torch

    meter = WorkMeter()
    try:
        with torch.no_grad():
            interpret(graph, graph.meta_inputs(batch, length), device="meta", observe=meter)
    except GraphInvalid:
        raise
    except Exception as error:  # noqa: BLE001 - the graph is the submitter's
        raise GraphInvalid(f"the graph cannot be counted at {length} tokens "
                           f"({type(error).__name__}: {str(error)[:300]})") from None
    return meter.work


def check_work(work: Work, length: int, what: str) -> None:
    """Refuse a graph whose uncounted element-wise work is not small next to its MACs."""
    allowed = ELEMENTWISE_SHARE * work.macs + ELEMENTWISE_FLOOR
    if work.elementwise > allowed:
        raise GraphInvalid(
            f"{what} computes {work.elementwise:,} elements with element-wise operations at "
            f"{length} tokens against {work.macs:,} counted multiply-accumulates; "
            f"SPEC §3 leaves element-wise work uncounted only where it is small (at most "
            f"{ELEMENTWISE_SHARE:.0%} of the counted work): write products as matmul, linear "
            "or einsum")


def check_batch(work: Work, batch: int, length: int, single: Work, what: str) -> None:
    """Refuse a call of a graph on ``batch`` examples that did more than ``batch`` times
    what one example is counted for (sharing work across the batch is fine)."""
    if work.macs > batch * single.macs or work.elementwise > batch * single.elementwise:
        raise GraphInvalid(f"{what} did {work.macs:,} MACs and {work.elementwise:,} element-"
                           f"wise operations on {batch} examples of {length} tokens, more "
                           f"than {batch} times what one example is counted for "
                           f"({single.macs:,} and {single.elementwise:,}); an example's cost "
                           "must not grow with the other examples in its batch")


class GraphCounter:
    """One graph's MACs per length, each traced length checked (element-wise share, batch)."""

    def __init__(self, graph: CapturedGraph, what: str):
        self.graph = graph
        self.what = what
        self.traced: dict[int, Work] = {}

    def single(self, length: int) -> Work:
        """The work of one example of ``length`` tokens (traced once, checked)."""
        if length not in self.traced:
            work = graph_work(self.graph, 1, length)
            check_work(work, length, self.what)
            self.traced[length] = work
        return self.traced[length]

    def at(self, length: int) -> int:
        return self.single(length).macs

    def check_batches(self, lengths: Iterable[int]) -> None:
        for length in lengths:
            work = graph_work(self.graph, BATCH_CHECK, length)
            check_batch(work, BATCH_CHECK, length, self.single(length), self.what)


def macs_by_length(counter: GraphCounter, lengths: Iterable[int], max_tokens: int
                   ) -> dict[int, int]:
    """MACs at each of ``lengths``: a quadratic fitted at three lengths and verified at more
    (including the longest), else one trace per length (as ``evaluator.cost.per_example``)."""
    lengths = sorted({int(n) for n in lengths})
    if not lengths or lengths[0] < 1 or lengths[-1] > max_tokens:
        raise ValueError(f"lengths must lie in 1..{max_tokens}")
    fit_at = [n for n in FIT_LENGTHS if n <= max_tokens]
    counter.check_batches(sorted({fit_at[0] if fit_at else lengths[0], lengths[-1]}))
    if len(fit_at) == 3:
        fit = Quadratic.through({n: counter.at(n) for n in fit_at})
        checks = sorted({*VERIFY_LENGTHS, lengths[-1]} - set(fit_at))
        if all(fit.at(n) == counter.at(n) for n in checks):
            return {n: fit.at(n) for n in lengths}
    return {n: counter.at(n) for n in lengths}


def parameter_count(graphs: Mapping[str, CapturedGraph]) -> int:
    """Every element of every tensor the graphs hold: parameters, buffers and constants,
    whatever the code calls them (a weight kept as a plain tensor attribute is still a
    weight). The module's own tensors count once; constants a graph creates itself (its
    literals) count once per graph, taking the graph that holds the most."""
    own: dict[str, TensorSpec] = {}
    literals = 0
    for graph in graphs.values():
        made = 0
        for spec in graph.tensors:
            if spec.target.startswith("model."):
                own.setdefault(spec.target, spec)
            else:
                made += math.prod(spec.shape)
        literals = max(literals, made)
    return sum(math.prod(spec.shape) for spec in own.values()) + literals
