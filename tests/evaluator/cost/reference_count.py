"""An independent count to pin the platform's counter: PyTorch's own ``FlopCounterMode`` for
the matrix products, plus SPEC §3's extras counted from what the model really runs.

    reference_macs(model, length) = FlopCounterMode FLOPs / 2          (matrix products)
                                  + 2 × elements of every affine LayerNorm (1 without)
                                  + 2 × elements of every softmax      (scaling and softmax)

The model runs its own forward pass (no fvcore, no jit trace) on the meta device, built
straight from transformers, not through ``evaluator.cost``.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode
from transformers import AutoConfig, AutoModelForSequenceClassification


class SoftmaxElements(TorchDispatchMode):
    """Counts the elements every softmax normalises (one per attention score)."""

    def __init__(self):
        super().__init__()
        self.elements = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func in (torch.ops.aten._softmax.default, torch.ops.aten.softmax.int):
            self.elements += math.prod(args[0].shape)
        return func(*args, **(kwargs or {}))


def transformers_model(raw: dict, num_labels: int, device: str = "meta") -> nn.Module:
    """``raw``'s sequence classifier as transformers builds it (eager attention)."""
    fields = {k: v for k, v in raw.items() if k != "model_type"}
    config = AutoConfig.for_model(raw["model_type"], num_labels=num_labels, **fields)
    with torch.device(device):
        model = AutoModelForSequenceClassification.from_config(
            config, attn_implementation="eager", dtype=torch.float32)
    return model.eval()


def layer_norm_macs(model: nn.Module, run) -> int:
    """2 per element of each LayerNorm with a weight (1 without) during ``run()``."""
    counted = []

    def hook(module, inputs, output):
        counted.append(output.numel() * (2 if module.weight is not None else 1))

    handles = [m.register_forward_hook(hook) for m in model.modules()
               if isinstance(m, nn.LayerNorm)]
    try:
        run()
    finally:
        for handle in handles:
            handle.remove()
    return sum(counted)


def reference_macs(model: nn.Module, length: int, token: int = 5) -> int:
    """MACs of one example of ``length`` tokens by the rules above."""
    device = next(model.parameters()).device
    # A warning about padding reads token values, which meta tensors do not have.
    for module in model.modules():
        if hasattr(module, "warn_if_padding_and_no_attention_mask"):
            module.warn_if_padding_and_no_attention_mask = lambda *args: None
    ids = torch.full((1, length), token, dtype=torch.long, device=device)
    flops = FlopCounterMode(display=False)
    softmax = SoftmaxElements()

    def run():
        with torch.no_grad(), flops, softmax:
            model(input_ids=ids)

    norms = layer_norm_macs(model, run)
    assert flops.get_total_flops() % 2 == 0
    return flops.get_total_flops() // 2 + norms + 2 * softmax.elements


def window_pairs(raw: dict, length: int) -> int:
    """(query, key) pairs transformers' own ModernBERT sliding-window mask lets through."""
    from transformers.masking_utils import create_bidirectional_sliding_window_mask

    config = AutoConfig.for_model(raw["model_type"], **{k: v for k, v in raw.items()
                                                         if k != "model_type"})
    config._attn_implementation = "eager"
    mask = create_bidirectional_sliding_window_mask(
        config=config, inputs_embeds=torch.zeros(1, length, config.hidden_size),
        attention_mask=torch.ones(1, length, dtype=torch.long))
    if mask is None:  # nothing masked
        return length * length
    return int((mask == 0).sum()) if mask.dtype != torch.bool else int(mask.sum())
