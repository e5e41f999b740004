"""Config values transformers accepts but the platform cannot count or run faithfully,
refused with the key and the reason (``bad_config``).

- ``chunk_size_feed_forward``: chunked feed-forward needs every input length to be a
  multiple of the chunk; it saves memory and changes nothing else, so set it to 0;
- ``position_embedding_type`` other than ``absolute``: the transformers version the platform
  runs (5.x) has no relative position embeddings for BERT-family models and would quietly
  count and run the model with absolute ones;
- MobileBERT with ``key_query_shared_bottleneck: false`` and neither a bottleneck for the
  attention nor ``intra_bottleneck_size == hidden_size``: queries of ``hidden_size`` reach
  projections of ``intra_bottleneck_size``, which transformers cannot multiply;
- ``type_vocab_size: 0`` where the model looks up segment 0 for every token (BERT and its
  relatives; DeBERTa takes 0 to mean no segment embedding);
- ``pruned_heads`` that name no layer or head of the model, or all heads of a layer, or an
  architecture whose heads the platform does not prune (``families.NO_PRUNING``);
- DeBERTa-v2's convolution layer (``conv_kernel_size``, in deberta-v2-xlarge and larger):
  the counter traces shapes on PyTorch's meta device, where torch 2.13 cannot trace a
  convolution (DeBERTa-v3 has none).

    >>> check_config(config)   # returns None, or raises SubmissionInvalid
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from evaluator.cost.families import ATTENTION, NO_PRUNING, pruned_heads
from evaluator.errors import Problem, SubmissionInvalid

if TYPE_CHECKING:
    from transformers import PretrainedConfig

CONFIG_FILE = "config.json"
# Families that add a segment embedding to every token, whether or not segment ids are given.
SEGMENT_LOOKUP = frozenset({"bert", "albert", "roberta", "xlm-roberta", "camembert", "electra",
                            "mobilebert"})


def refuse(key: str, message: str) -> SubmissionInvalid:
    """``bad_config`` naming ``key`` of config.json."""
    return SubmissionInvalid([Problem("bad_config", f'"{key}": {message}', CONFIG_FILE)])


def _shown(value: object) -> str:
    return json.dumps(value, default=str)[:60]


def check_config(config: PretrainedConfig) -> None:
    """Refuse what the platform cannot count or run as the config says (see above)."""
    chunk = getattr(config, "chunk_size_feed_forward", 0)
    if chunk != 0:
        raise refuse("chunk_size_feed_forward", f"is {_shown(chunk)}; chunked feed-forward "
                     "only saves memory, and needs every input length to be a multiple of "
                     "the chunk, which test examples are not: set it to 0")
    positions = getattr(config, "position_embedding_type", "absolute")
    if positions != "absolute":
        raise refuse("position_embedding_type", f"is {_shown(positions)}; the transformers "
                     "version the platform runs has only absolute position embeddings for "
                     f"{config.model_type}, so the model would be counted and run as another "
                     "model: retrain with absolute positions, or submit model.py")
    if config.model_type == "mobilebert":
        _check_mobilebert(config)
    if config.model_type in SEGMENT_LOOKUP and getattr(config, "type_vocab_size", 1) < 1:
        raise refuse("type_vocab_size", f"is 0, but {config.model_type} looks up a segment "
                     "embedding for every token (segment 0 at least): set it to 1 or more")
    if config.model_type == "deberta-v2" and getattr(config, "conv_kernel_size", 0) != 0:
        raise refuse("conv_kernel_size", f"is {_shown(config.conv_kernel_size)}; DeBERTa-v2's "
                     "convolution layer cannot be counted: the platform traces shapes on "
                     "PyTorch's meta device, where a convolution cannot be traced (DeBERTa-v3 "
                     "models have no convolution)")
    check_pruned_heads(config)


def _check_mobilebert(config: PretrainedConfig) -> None:
    if (config.use_bottleneck and not config.key_query_shared_bottleneck
            and not config.use_bottleneck_attention
            and config.true_hidden_size != config.hidden_size):
        raise refuse("key_query_shared_bottleneck", "false needs use_bottleneck_attention: "
                     f"true (or intra_bottleneck_size equal to hidden_size): otherwise queries "
                     f"of width {config.hidden_size} meet projections of width "
                     f"{config.true_hidden_size}, which transformers cannot run")


def check_pruned_heads(config: PretrainedConfig) -> None:
    """Refuse ``pruned_heads`` the platform cannot apply (the format, the indices, the
    architecture)."""
    raw = getattr(config, "pruned_heads", None)
    if not raw:
        return
    heads: int = getattr(config, "num_attention_heads", 0) or 0
    if not isinstance(raw, dict) or not all(_is_index(k) and isinstance(v, list) and all(
            _is_index(h) for h in v) for k, v in raw.items()):
        raise refuse("pruned_heads", 'expected {"layer": [head, ...]} with whole-number layer '
                     "and head indices")
    if config.model_type in NO_PRUNING or config.model_type not in ATTENTION:
        why = NO_PRUNING.get(config.model_type, "its attention layout is not known")
        raise refuse("pruned_heads", f"cannot be applied to {config.model_type}: {why}")
    for layer, pruned in pruned_heads(config).items():
        if layer >= config.num_hidden_layers:
            raise refuse("pruned_heads", f"layer {layer} does not exist (the model has "
                         f"{config.num_hidden_layers} layers, numbered from 0)")
        if pruned[-1] >= heads:
            raise refuse("pruned_heads", f"layer {layer} has no head {pruned[-1]} (it has "
                         f"{heads}, numbered from 0)")
        if len(pruned) == heads:
            raise refuse("pruned_heads", f"prunes every head of layer {layer}; keep at least "
                         "one (or remove the layer)")


def _is_index(value: object) -> bool:
    if isinstance(value, str):
        return value.isdigit() and len(value) < 6
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
