"""ELUE's counting rules (SPEC §3) for the ATen operators of a captured graph.

A model's code is captured as a graph of ATen operators (``torch.export``) and counted op by
op from the shapes each op sees: the same rules as ``evaluator.cost.fvcore_rules`` applies to
the standard architectures, in multiply-accumulates (MACs). Every operator a captured graph
may hold is listed here, in one of five groups:

- ``COUNTED``: matrix products, attention, LayerNorm and softmax, each with its SPEC rule;
- ``REDUCTIONS`` and ``WRITES`` **(ours)**: sums, means, maxima, and writes at computed
  positions (which may accumulate) cost one MAC per element they read or write. SPEC §3's
  models have none in their layers; charging them keeps a product written as a
  multiplication and a sum from counting as free;
- ``ELEMENTWISE``: arithmetic, activations, comparisons. SPEC §3 does not count them
  (residual additions, GELU, ...), so they cost no MACs, but the work they do (an element
  each) is measured: a graph in which they do more work than a fraction of its counted MACs
  is refused (``evaluator.cost.graph_count``), since a product summed by halving additions
  would otherwise count as free;
- ``NO_WORK``: views, copies, indexing, lookups, tensor creation, shape arithmetic, asserts;
- anything else is refused (convolutions, recurrent layers, random numbers, custom ops).

    >>> op_macs("linear", [(1, 8, 64), (128, 64), (128,)], (1, 8, 128), [])
    65536
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Shape = tuple[int, ...]
# Per argument: its shape if a tensor, a list of shapes if a list of tensors, else None.
Shapes = Sequence[Any]
# (input shapes, in argument order with None for non-tensors; output shape, None if the
# result is not a tensor; the other arguments) -> MACs
Rule = Callable[[Shapes, Shape | None, Sequence[Any]], int]

# Uncounted element-wise work allowed per counted MAC. A transformer does well under 5% (BERT-
# base: about 0.2%; a 64-wide toy with 16-wide heads at 512 tokens: about 5%).
ELEMENTWISE_SHARE = 0.5
ELEMENTWISE_FLOOR = 4096  # element-wise work always allowed per example (a tiny model)


def _contraction(operand: int) -> Rule:
    """Each output element costs the inner dimension of ``operand`` (bias not counted)."""

    def rule(shapes: Shapes, out: Shape | None, args: Sequence[Any]) -> int:
        if out is None:  # as math.prod(None) would
            raise TypeError("the product's result is not a tensor")
        return math.prod(out) * shapes[operand][-1]

    return rule


def _layer_norm(shapes: Shapes, out: Shape | None, args: Sequence[Any]) -> int:
    """1 per element to normalise, 1 more with affine parameters (argument 2, the weight)."""
    affine = len(shapes) > 2 and shapes[2] is not None
    return math.prod(shapes[0]) * (2 if affine else 1)


def _softmax(shapes: Shapes, out: Shape | None, args: Sequence[Any]) -> int:
    """2 per score: the softmax and the scaling (``fvcore_rules.softmax_macs``)."""
    return 2 * math.prod(shapes[0])


def _attention(shapes: Shapes, out: Shape | None, args: Sequence[Any]) -> int:
    """``scaled_dot_product_attention(q, k, v)``: (d + dv + 2) per query and key."""
    query, value = shapes[0], shapes[2]
    return math.prod(query[:-1]) * value[-2] * (query[-1] + value[-1] + 2)


def _einsum(shapes: Shapes, out: Shape | None, args: Sequence[Any]) -> int:
    """NumPy's optimal contraction order, as fvcore counts ``aten::einsum``."""
    equation = str(args[0]).replace(" ", "")
    operands = [np.broadcast_to(np.zeros(()), shape) for shape in shapes[1] or ()]
    path = np.einsum_path(equation, *operands, optimize="optimal")[1]
    for line in path.split("\n"):
        if "optimized flop" in line.lower():
            return int(float(line.split(":")[-1]) // 2)
    raise ValueError(f"cannot count einsum {equation!r}")


COUNTED: dict[str, Rule] = {
    "linear": _contraction(0), "matmul": _contraction(0), "mm": _contraction(0),
    "bmm": _contraction(0), "mv": _contraction(0), "dot": _contraction(0),
    "addmm": _contraction(1), "baddbmm": _contraction(1), "addmv": _contraction(1),
    "einsum": _einsum,
    "layer_norm": _layer_norm, "native_layer_norm": _layer_norm,
    "softmax": _softmax, "_softmax": _softmax, "log_softmax": _softmax,
    "_log_softmax": _softmax, "_safe_softmax": _softmax,
    "scaled_dot_product_attention": _attention,
}

ELEMENTWISE: frozenset[str] = frozenset({
    "add", "add_", "sub", "sub_", "rsub", "mul", "mul_", "div", "div_", "neg", "abs",
    "pow", "sqrt", "rsqrt", "exp", "log", "log1p", "expm1", "reciprocal", "square",
    "clamp", "clamp_", "clamp_min", "clamp_max", "maximum", "minimum", "sign", "floor", "ceil",
    "round", "trunc", "remainder", "fmod", "floor_divide", "lerp", "addcmul", "addcdiv",
    "gelu", "relu", "relu_", "silu", "sigmoid", "tanh", "erf", "hardtanh", "leaky_relu", "elu",
    "softplus", "mish", "hardswish", "hardsigmoid", "gelu_", "tanh_", "sigmoid_",
    "eq", "ne", "lt", "le", "gt", "ge", "logical_and", "logical_or", "logical_not",
    "logical_xor", "__and__", "__or__", "__xor__", "__invert__", "bitwise_and", "bitwise_or",
    "bitwise_not", "bitwise_xor", "where", "masked_fill", "masked_fill_", "isnan", "isinf",
    "nan_to_num", "cos", "sin",
})

# One MAC per element read (``scatter``/``index_put`` below: per element written).
REDUCTIONS: frozenset[str] = frozenset({
    "sum", "mean", "prod", "amax", "amin", "max", "min", "argmax", "argmin", "logsumexp",
    "linalg_vector_norm", "norm", "var", "std", "var_mean", "std_mean", "cumsum", "cumprod",
    "any", "all", "count_nonzero", "topk", "sort", "argsort", "kthvalue",
})

NO_WORK: frozenset[str] = frozenset({
    # views and reshapes
    "view", "_unsafe_view", "reshape", "permute", "transpose", "t", "expand", "expand_as",
    "unsqueeze", "unsqueeze_", "squeeze", "squeeze_", "flatten", "unflatten", "select",
    "slice", "narrow", "split", "split_with_sizes", "chunk", "unbind", "alias", "movedim",
    "view_as", "as_strided", "diagonal", "contiguous", "detach", "detach_", "resolve_conj",
    "resolve_neg", "lift", "lift_fresh", "view_copy", "expand_copy", "permute_copy",
    "transpose_copy", "t_copy", "unsqueeze_copy", "squeeze_copy", "select_copy", "slice_copy",
    "alias_copy", "unbind_copy", "split_copy",
    # copies, gathers and lookups
    "clone", "copy", "copy_", "to", "_to_copy", "type_as", "lift_fresh_copy", "cat", "concat",
    "stack", "index", "index_select", "gather", "repeat", "roll", "flip", "tril", "triu",
    "pad", "constant_pad_nd", "embedding", "slice_scatter", "select_scatter", "fill", "fill_",
    "zero_", "one_hot", "dropout", "feature_dropout", "alpha_dropout",
    # new tensors
    "arange", "ones", "zeros", "full", "empty", "ones_like", "zeros_like", "full_like",
    "empty_like", "new_ones", "new_zeros", "new_full", "new_empty", "scalar_tensor",
    # shapes and checks
    "sym_size", "sym_numel", "sym_stride", "sym_storage_offset", "_assert_tensor_metadata",
    "_assert_scalar", "sym_constrain_range", "sym_constrain_range_for_size", "_assert_async",
    "sym_is_contiguous",
})

# Writes into a tensor at computed positions; with accumulation they sum, so each written
# value costs a MAC (argument 2: the index of ``scatter``, the values of ``index_put``).
WRITES: frozenset[str] = frozenset({"index_put", "index_put_", "scatter", "scatter_"})

KNOWN: frozenset[str] = frozenset(COUNTED) | ELEMENTWISE | REDUCTIONS | WRITES | NO_WORK

# Python functions on shape numbers (SymInts) that export records between ATen ops.
SHAPE_FUNCTIONS: frozenset[str] = frozenset({
    "_operator.getitem", "_operator.add", "_operator.sub", "_operator.mul",
    "_operator.floordiv", "_operator.truediv", "_operator.mod", "_operator.neg",
    "_operator.pow", "_operator.eq", "_operator.ne", "_operator.lt", "_operator.le",
    "_operator.gt", "_operator.ge", "_operator.and_", "_operator.or_", "_operator.not_",
    "torch.sym_max", "torch.sym_min", "torch.sym_not", "torch.sym_int", "torch.sym_float",
    "torch.sym_sqrt", "math.ceil", "math.floor", "math.trunc",
})


def refusal(name: str) -> str | None:
    """Why the ATen operator ``name`` (``"linear"``) cannot be in a counted graph, or
    ``None`` if ELUE has a rule for it."""
    if name in KNOWN:
        return None
    return (f"aten.{name}, which ELUE's counter has no rule for (SPEC §3): express the model "
            "with linear layers, matmul, softmax, LayerNorm and element-wise operations")


def op_macs(name: str, shapes: Shapes, out: Shape | None, args: Sequence[Any]) -> int:
    """MACs of one call of the ATen operator ``name`` (0 if it is not counted)."""
    rule = COUNTED.get(name)
    if rule:
        return int(rule(shapes, out, args))
    if name in REDUCTIONS and shapes and isinstance(shapes[0], tuple):
        return math.prod(shapes[0])
    if name in WRITES and len(shapes) > 2 and isinstance(shapes[2], tuple):
        return math.prod(shapes[2])
    return 0


def op_work(name: str, shapes: Shapes, out: Shape | None) -> int:
    """Element-wise work of one call, which SPEC §3 does not count: one per output element
    of an element-wise operation."""
    if name in ELEMENTWISE and out is not None:
        return math.prod(out)
    return 0
