"""ELUE's counting rules (SPEC §3) as fvcore operator handles; MACs of one traced forward pass.

Everything here is in multiply-accumulates (MACs): fvcore counts one fused multiply-add as
one "flop", and ELUE reports FLOPs = 2 × MACs (``mflops()`` converts at the edge).

Counted, per example of L tokens:
- matrix products (linear, matmul, bmm, einsum): one MAC per multiply, bias not counted;
- attention: ``QKᵀ`` and ``AV`` as matrix products, plus 2 per attention score (the scaling
  and the softmax, L² each per head), whichever attention implementation runs;
- LayerNorm: 2 per element with affine parameters (1 without).
Not counted: embedding lookups, residual additions, activations (GELU, tanh, ReLU), dropout
and other element-wise ops (fvcore's defaults differ: LayerNorm 5 per element, and no rule
for ``aten::scaled_dot_product_attention``, so the defaults are cleared).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn

logger = logging.getLogger(__name__)

Handle = Callable[[list[Any], list[Any]], int]


def mflops(macs: float) -> float:
    """MACs to MFLOPs: ``mflops(11_183_851_008) == 22367.702016``."""
    return 2 * macs / 1e6


def _shape(value: Any) -> list[int] | None:
    """The shape of a traced tensor value, or ``None`` for ``None`` (e.g. a missing weight)."""
    from fvcore.nn.jit_handles import get_shape

    return get_shape(value)


def _tensor_shape(value: Any) -> list[int]:
    """The shape of a traced value that must be a tensor (an operand, an output)."""
    shape = _shape(value)
    if shape is None:  # the TypeError math.prod(None) would raise, with a clearer message
        raise TypeError("expected a tensor operand, got None")
    return shape


def contraction(operand: int) -> Handle:
    """Handle for a matrix product: each output element costs the inner dimension in MACs.

    ``operand`` is the input whose last dimension is contracted (0 for ``linear`` and
    ``matmul``, 1 for ``addmm`` whose input 0 is the bias). Broadcasting is covered because
    the output shape already holds every batch dimension.
    """

    def handle(inputs: list[Any], outputs: list[Any]) -> int:
        return math.prod(_tensor_shape(outputs[0])) * _tensor_shape(inputs[operand])[-1]

    return handle


def einsum_macs(inputs: list[Any], outputs: list[Any]) -> int:
    """``aten::einsum``: fvcore's own rule (MACs of the optimal contraction order)."""
    from fvcore.nn.jit_handles import einsum_flop_jit

    return int(einsum_flop_jit(inputs, outputs))


def layer_norm_macs(inputs: list[Any], outputs: list[Any]) -> int:
    """``aten::layer_norm``: 1 per element to normalise, 1 more for the affine scale-and-shift.

    Input 2 is the weight; ``None`` when the LayerNorm has no affine parameters.
    """
    elements = math.prod(_tensor_shape(inputs[0]))
    return elements * (2 if _shape(inputs[2]) is not None else 1)


def softmax_macs(inputs: list[Any], outputs: list[Any]) -> int:
    """``aten::softmax`` on attention scores: 2 per score, the softmax and the scaling.

    The scaling is charged here rather than on ``aten::mul``/``aten::div`` because models
    scale the scores, the queries or the keys (and the latter cost d·L, not L²); multiplies
    also implement GELU, which is not counted. Charging it with the softmax gives L² per head
    whatever the implementation does.
    """
    return 2 * math.prod(_tensor_shape(inputs[0]))


def attention_macs(inputs: list[Any], outputs: list[Any]) -> int:
    """``aten::scaled_dot_product_attention(q, k, v, ...)``: QKᵀ, scaling, softmax, AV.

    With q (..., Lq, d), k (..., Lk, d), v (..., Lk, dv): per query position and head,
    d·Lk + 2·Lk + dv·Lk MACs, i.e. (d + dv + 2)·L² per head when Lq = Lk = L.
    """
    query, value = _tensor_shape(inputs[0]), _tensor_shape(inputs[2])
    scores = math.prod(query[:-1]) * value[-2]
    return scores * (query[-1] + value[-1] + 2)


COUNTED_OPS: dict[str, Handle] = {
    "aten::linear": contraction(0),
    "aten::matmul": contraction(0),
    "aten::mm": contraction(0),
    "aten::bmm": contraction(0),
    "aten::addmm": contraction(1),
    "aten::baddbmm": contraction(1),
    "aten::einsum": einsum_macs,
    "aten::layer_norm": layer_norm_macs,
    "aten::softmax": softmax_macs,
    "aten::scaled_dot_product_attention": attention_macs,
}

# Ops that appear in the supported architectures' traces and cost nothing under ELUE's
# rules, on top of fvcore's own list of shape and copy ops. Anything else is logged.
NOT_COUNTED_OPS: tuple[str, ...] = (
    "aten::embedding",  # lookups
    "aten::add", "aten::add_", "aten::sub", "aten::rsub",  # residuals, masks, positions
    "aten::mul", "aten::mul_", "aten::div", "aten::div_",  # scalings, NoNorm, GELU parts
    "aten::gelu", "aten::tanh", "aten::relu", "aten::silu", "aten::sigmoid", "aten::erf",
    "aten::pow", "aten::sqrt", "aten::rsqrt", "aten::neg",  # pieces of GELU approximations
    "aten::dropout", "aten::feature_dropout",
    "aten::ne", "aten::lt", "aten::le", "aten::cumsum", "aten::where",  # position ids, masks
    "aten::pad", "aten::masked_fill_", "aten::fill_", "aten::repeat", "aten::expand_as",
    "aten::clone", "aten::ones_like", "aten::any", "aten::all", "aten::min",
    # relative-position buckets (DeBERTa, MPNet), rotary embeddings (ModernBERT), pooling
    "aten::abs", "aten::sign", "aten::log", "aten::ceil", "aten::clamp", "aten::gather",
    "aten::cos", "aten::sin", "aten::new_ones", "aten::sum", "aten::max", "aten::gt",
    "aten::ge", "aten::eq", "aten::bitwise_and", "aten::bitwise_or", "aten::floor_divide",
    "aten::abs_", "aten::masked_fill",
)


def _flop_count_analysis() -> type:
    # Importing fvcore.nn scripts a loss function, which newer torch reports as deprecated.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=Warning)
        from fvcore.nn import FlopCountAnalysis

    return FlopCountAnalysis


def _filler_token(model: nn.Module) -> int:
    """A token id that is not padding (RoBERTa derives positions from non-pad tokens)."""
    pad = getattr(getattr(model, "config", None), "pad_token_id", None)
    return 2 if pad == 1 else 1


def _device(model: nn.Module) -> torch.device:
    """Where the model lives: ``meta`` for models built by ``evaluator.cost.architectures``."""
    import torch

    parameter = next(model.parameters(), None)
    return torch.device("cpu") if parameter is None else parameter.device


def _report_unknown(unsupported: dict[str, int]) -> None:
    if unsupported:
        logger.warning("ops without an ELUE counting rule (counted as 0): %s",
                       ", ".join(f"{op} ×{n}" for op, n in sorted(unsupported.items())))


def module_macs(model: nn.Module, length: int) -> dict[str, int]:
    """MACs of ``model`` on one example of ``length`` tokens, by module name ('' = all).

    Traces the model once with fvcore configured to ELUE's rules. Ops whose result does not
    reach the output (an exit head feeding only a Python ``if``) vanish from any trace: count
    heads by tracing models that return their output (see ``evaluator.cost.per_example``).
    """
    import torch

    # On the meta device the trace records shapes and computes nothing.
    ids = torch.full((1, length), _filler_token(model), dtype=torch.long, device=_device(model))
    analysis = _flop_count_analysis()(model, (ids,))
    analysis.clear_op_handles().set_op_handle(**COUNTED_OPS)
    analysis.set_op_handle(**dict.fromkeys(NOT_COUNTED_OPS))
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    analysis.tracer_warnings("none")
    with torch.no_grad():
        by_module = {name: int(macs) for name, macs in analysis.by_module().items()}
    _report_unknown(analysis.unsupported_ops())
    return by_module


def total_macs(model: nn.Module, length: int) -> int:
    """MACs of ``model`` on one example of ``length`` tokens."""
    return module_macs(model, length)[""]

