"""Running a captured graph: one ATen call per node through a ``torch.fx.Interpreter`` (no
generated code), on the meta device for counting or on real tensors, and the tensors a real
run takes (the submitted weights, the captured constants).

    >>> outputs = interpret(graph, graph.meta_inputs(1, 64), device="meta")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from evaluator.cost.captured_graph import CapturedGraph, GraphInvalid

if TYPE_CHECKING:
    import torch


def aten_name(target: Any) -> str:
    """``"linear"`` for ``torch.ops.aten.linear.default``."""
    return target._schema.name.split("::", 1)[1]


Observer = Callable[[Any, tuple, dict, Any], None]  # (ATen operator, args, kwargs, output)


def interpret(graph: CapturedGraph, inputs: list, device: str = "cpu",
              observe: Observer | None = None) -> list:
    """Run ``graph`` on ``inputs`` (its tensors and the caller's inputs, in order), one
    ATen call per node, every tensor it creates on ``device``; ``observe(operator, args,
    kwargs, output)`` sees each ATen call. Returns the flat outputs."""
    import torch

    place = torch.device(device)

    class Run(torch.fx.Interpreter):
        def call_function(self, target, args, kwargs):
            if not isinstance(target, torch._ops.OpOverload) and any(
                    isinstance(a, torch.Tensor) for a in (*args, *kwargs.values())):
                # Python's operators on tensors would compute unseen by the rules.
                raise GraphInvalid(f"the graph applies {target} to a tensor; only ATen "
                                   "operators may compute on tensors")
            args = tuple(place if isinstance(a, torch.device) else a for a in args)
            if "device" in kwargs:
                kwargs = {**kwargs, "device": place}
            result = super().call_function(target, args, kwargs)
            if observe is not None and isinstance(target, torch._ops.OpOverload):
                observe(target, args, kwargs, result)
            return result

    return list(Run(torch.nn.Module(), graph=graph.graph).run(*inputs))


def state_tensors(graph: CapturedGraph, weights: Mapping[str, torch.Tensor],
                  captured: Mapping[str, torch.Tensor]) -> list:
    """The graph's tensors for a real run: parameters and persistent buffers from the
    submitted ``weights`` (by name, same shape), constants and other buffers as captured."""
    tensors: list[torch.Tensor | None] = []
    for spec in graph.inputs:
        if spec is None:
            tensors.append(None)
            continue
        source = weights if spec.in_state_dict else captured
        key = spec.weight_name if spec.in_state_dict else spec.target
        where = "the weights" if spec.in_state_dict else "the captured constants"
        if key not in source:
            raise GraphInvalid(f"{key} is not in {where}")
        tensor = source[key]
        if tuple(tensor.shape) != spec.shape:
            raise GraphInvalid(f"{key} has shape {tuple(tensor.shape)} in {where}; the model "
                               f"built by build() has {spec.shape}")
        if tensor.dtype != spec.dtype and not (tensor.is_floating_point()
                                               and spec.dtype.is_floating_point):
            raise GraphInvalid(f"{key} is {tensor.dtype} in {where}; the model has {spec.dtype}")
        tensors.append(tensor.to(spec.dtype))
    return tensors
