"""Size limits of a submitted ``config.json``, checked before anything is built.

A 200-byte config can ask for a thousand layers or a billion-wide hidden size; building that
model (or even the transformers config object, which lists one entry per layer for some
architectures) would tie up a worker. So the raw JSON's size fields are checked first,
each a whole number within a range, and then the parameter count is estimated from the
config with a formula per family (the dominant terms: embeddings, layers' matrices, head),
before any model exists. The offline checker and the server apply the same limits, which
are constants of the evaluator rather than settings, so that both always agree.

    >>> check_sizes({"model_type": "bert", "num_hidden_layers": 1000}, "bert")
    SubmissionInvalid: config.json: "num_hidden_layers" is 1000; expected a whole number ...
    >>> estimated_parameters(config)        # BERT-base, 2 labels
    109360128
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, TypeGuard

from evaluator.errors import Problem, SubmissionInvalid

if TYPE_CHECKING:
    from transformers import PretrainedConfig

CONFIG_FILE = "config.json"

# ELUE's models are far smaller (BERT-large: 24 layers, hidden 1024, 335 M parameters; the
# largest parameter track is 110 M); these bound the work a config can ask for.
MAX_LAYERS = 48
MAX_WIDTH = 8192  # hidden sizes, embedding sizes
MAX_FFN = 32768  # feed-forward widths
MAX_HEADS = 256
MAX_VOCABULARY = 1_048_576
MAX_POSITIONS = 65_536
MAX_PARAMETERS = 1_000_000_000

# Raw config keys that size the model, with their allowed range, per key name. A key absent
# from the JSON takes the architecture's default.
SIZE_KEYS: dict[str, tuple[int, int]] = {
    "num_hidden_layers": (1, MAX_LAYERS), "n_layers": (1, MAX_LAYERS),
    "hidden_size": (1, MAX_WIDTH), "dim": (1, MAX_WIDTH), "embedding_size": (1, MAX_WIDTH),
    "true_hidden_size": (1, MAX_WIDTH), "intra_bottleneck_size": (1, MAX_WIDTH),
    "intermediate_size": (1, MAX_FFN), "hidden_dim": (1, MAX_FFN),
    "num_attention_heads": (1, MAX_HEADS), "n_heads": (1, MAX_HEADS),
    "vocab_size": (1, MAX_VOCABULARY), "max_position_embeddings": (1, MAX_POSITIONS),
    "type_vocab_size": (0, 16),
    "num_hidden_groups": (1, MAX_LAYERS), "inner_group_num": (1, 4),  # ALBERT
    "num_feedforward_networks": (1, 8),  # MobileBERT
    "position_buckets": (-1, 4096), "max_relative_positions": (-1, MAX_POSITIONS),  # DeBERTa
    "relative_attention_num_buckets": (1, 4096),  # MPNet
    "local_attention": (2, MAX_POSITIONS), "global_attn_every_n_layers": (1, MAX_LAYERS),
}


def _invalid(code: str, message: str) -> SubmissionInvalid:
    return SubmissionInvalid([Problem(code, message, CONFIG_FILE)])


def _is_whole(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def check_sizes(raw: dict, model_type: str) -> None:
    """Refuse size fields of the raw JSON that are not whole numbers within their range."""
    for key, (low, high) in SIZE_KEYS.items():
        if key not in raw:
            continue
        value = raw[key]
        if not _is_whole(value) or not low <= value <= high:
            shown = json.dumps(value)[:40]
            code = "model_too_large" if _is_whole(value) and value > high else "bad_config"
            raise _invalid(code, f'"{key}" is {shown}; expected a whole number from {low} to '
                                 f"{high:,} for a {model_type} model")


def _width(config: PretrainedConfig, *names: str) -> int:
    """The first of ``names`` that the config has set to a number (0 if none)."""
    for name in names:
        value = getattr(config, name, None)
        if _is_whole(value):
            return value
    return 0


def estimated_parameters(config: PretrainedConfig) -> int:
    """The dominant terms of the parameter count (weights of embeddings, layers and head;
    biases and LayerNorms left out), from the config alone."""
    hidden = _width(config, "hidden_size", "dim")
    ffn = _width(config, "intermediate_size", "hidden_dim")
    layers = _width(config, "num_hidden_layers", "n_layers")
    embedding = _width(config, "embedding_size") or hidden
    tables = _width(config, "vocab_size") + _width(config, "type_vocab_size")
    if config.model_type != "modernbert":  # rotary positions have no table
        tables += _width(config, "max_position_embeddings")
    layer = 4 * hidden * hidden + 2 * hidden * ffn
    if config.model_type == "modernbert":
        layer += hidden * ffn  # a gated feed-forward: its input projection is twice as wide
    elif config.model_type == "mobilebert":
        true = _width(config, "true_hidden_size")
        layer = 4 * true * true + 2 * true * ffn * _width(config, "num_feedforward_networks") \
            + 4 * hidden * true
    elif config.model_type == "albert":  # one set of layer weights per group
        layers = _width(config, "num_hidden_groups") * _width(config, "inner_group_num")
    if config.model_type == "deberta-v2" and getattr(config, "relative_attention", False):
        buckets = _width(config, "position_buckets")
        tables += 2 * (buckets if buckets > 0 else _width(config, "max_relative_positions"))
        if not getattr(config, "share_att_key", False):  # own relative-position projections
            layer += 2 * hidden * hidden
    projection = embedding * hidden if embedding != hidden else 0
    return tables * embedding + projection + layers * layer + hidden * hidden


def check_estimate(config: PretrainedConfig) -> int:
    """The estimated parameter count, refusing a config above ``MAX_PARAMETERS``."""
    estimate = estimated_parameters(config)
    if estimate > MAX_PARAMETERS:
        raise _invalid("model_too_large", f"about {estimate:,} parameters; the platform counts "
                                          f"and runs models of up to {MAX_PARAMETERS:,}")
    return estimate
