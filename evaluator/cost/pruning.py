"""Attention heads removed as a config's ``pruned_heads`` says (HeadPrune and the like).

transformers 5 no longer prunes heads itself: a config with ``{"pruned_heads": {"0": [2]}}``
would be built, counted and run as the unpruned model. The platform removes them after
building: each pruned head's rows of the query, key and value projections (and of DeBERTa's
relative-position projections) and its columns of the output projection go, and the
attention's head count shrinks. The model then computes, and is charged, exactly what the
pruned model computes: per pruned head and layer, ``4·L·H·d`` MACs of projections and
``(2·d + 2)·L²`` of attention fewer (SPEC §3), and its weights fit the pruned shapes.

    >>> prune_heads(model, config)    # in place, before counting or loading weights
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from evaluator.cost.families import ATTENTION, layer_names, pruned_heads

if TYPE_CHECKING:
    import torch
    from torch import nn
    from transformers import PretrainedConfig, PreTrainedModel


def _kept(width: int, heads: int, pruned: list[int]) -> torch.Tensor:
    """Indices of the rows (or columns) of the heads that stay, of ``width`` in all."""
    import torch

    size = width // heads
    return torch.tensor([h * size + i for h in range(heads) if h not in pruned
                         for i in range(size)], dtype=torch.long)


def _cut(linear: nn.Linear, index: torch.Tensor, dim: int) -> None:
    """Keep only ``index`` of ``linear``'s outputs (``dim`` 0) or inputs (``dim`` 1)."""
    from torch import nn

    weight = linear.weight.index_select(dim, index.to(linear.weight.device))
    linear.weight = nn.Parameter(weight.detach().clone())
    if dim == 0 and linear.bias is not None:
        bias = linear.bias.index_select(0, index.to(linear.bias.device))
        linear.bias = nn.Parameter(bias.detach().clone())
    linear.out_features, linear.in_features = linear.weight.shape


def prune_heads(model: PreTrainedModel, config: PretrainedConfig) -> None:
    """Remove the heads ``config.pruned_heads`` names from ``model`` (checked beforehand by
    ``config_checks.check_pruned_heads``); layers beyond a truncated model are skipped."""
    layout = ATTENTION.get(config.model_type)
    names = layer_names(config)
    for index, pruned in pruned_heads(config).items():
        if index >= len(names) or layout is None:
            continue
        layer = model.base_model.get_submodule(names[index])
        attention = layer.get_submodule(layout.module)
        heads = getattr(attention, layout.head_counts[0])
        output = cast("nn.Linear", layer.get_submodule(layout.output))
        kept = _kept(output.in_features, heads, pruned)
        for name in layout.projections:
            if hasattr(attention, name):
                _cut(getattr(attention, name), kept, 0)
        _cut(output, kept, 1)
        for name in layout.head_counts:
            setattr(attention, name, heads - len(pruned))
        for name in layout.head_widths:
            setattr(attention, name, len(kept))
