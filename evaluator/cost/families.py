"""The standard architectures the platform builds from a ``config.json``, family by family.

What the counter needs to know about each architecture beyond its transformers class:

- ``LAYERS``: where its transformer layers are, so that each layer is counted on its own,
  and ``layer_kinds``: which layers cost the same (a pruned layer has fewer heads,
  ModernBERT's first layer has no attention LayerNorm and two of every three layers attend
  within a window);
- ``POSITION_OFFSET``: families numbering positions from ``pad_token_id + 1`` (RoBERTa);
- ``segment_types``: how many segment ids (``token_type_ids``) a model embeds;
- ``ATTENTION``: the attention's linear layers, to prune heads (``evaluator.cost.pruning``);
- ``sliding_windows``: ModernBERT's sliding-window layers and what they save against L²
  (``WindowSavings``).

    >>> layer_names(config)            # a BERT-base config
    ['encoder.layer.0', ..., 'encoder.layer.11']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PretrainedConfig

# RoBERTa's architecture under other names, and BERT's own relatives: same module layout.
BERT_LIKE = ("bert", "roberta", "xlm-roberta", "camembert", "electra", "mobilebert")

# The architectures the platform builds, by model_type, with the names people know them by
# (the site and the docs list these).
ARCHITECTURE_NAMES: dict[str, str] = {
    "bert": "BERT", "albert": "ALBERT", "roberta": "RoBERTa", "xlm-roberta": "XLM-RoBERTa",
    "camembert": "CamemBERT", "distilbert": "DistilBERT", "electra": "ELECTRA",
    "mobilebert": "MobileBERT", "deberta-v2": "DeBERTa-v2/v3", "mpnet": "MPNet",
    "modernbert": "ModernBERT",
}
SUPPORTED_MODEL_TYPES: tuple[str, ...] = tuple(ARCHITECTURE_NAMES)

# Where the layers are inside the base model (``model.base_model``), by model_type.
LAYERS: dict[str, str] = {
    **dict.fromkeys(BERT_LIKE, "encoder.layer"),
    "distilbert": "transformer.layer",
    "deberta-v2": "encoder.layer",
    "mpnet": "encoder.layer",
    "modernbert": "layers",
}

POSITION_OFFSET: frozenset[str] = frozenset({"roberta", "xlm-roberta", "camembert", "mpnet"})

# Families whose models take no segment ids (``token_type_ids``); the others add a segment
# embedding when ``type_vocab_size`` > 0.
NO_SEGMENT_IDS: frozenset[str] = frozenset({"distilbert", "mpnet", "modernbert"})


@dataclass(frozen=True)
class AttentionLayout:
    """Names inside one layer: the attention module holding the head count, its input
    projections (one output row block per head), and the output projection."""

    module: str
    projections: tuple[str, ...]
    output: str
    head_counts: tuple[str, ...] = ("num_attention_heads",)
    head_widths: tuple[str, ...] = ("all_head_size",)


_BERT_ATTENTION = AttentionLayout("attention.self", ("query", "key", "value"),
                                  "attention.output.dense")

ATTENTION: dict[str, AttentionLayout] = {
    **dict.fromkeys(BERT_LIKE, _BERT_ATTENTION),
    "distilbert": AttentionLayout("attention", ("q_lin", "k_lin", "v_lin"), "attention.out_lin",
                                  ("n_heads",), ()),
    # The relative-position projections exist without share_att_key; pruning cuts them too.
    "deberta-v2": AttentionLayout("attention.self", ("query_proj", "key_proj", "value_proj",
                                                     "pos_key_proj", "pos_query_proj"),
                                  "attention.output.dense"),
}

# Why head pruning is refused where it is.
NO_PRUNING: dict[str, str] = {
    "albert": "ALBERT shares one layer's weights between all layers, so a head cannot be "
              "removed from one layer only",
    "modernbert": "ModernBERT fuses the query, key and value projections into one matrix "
                  "(Wqkv), which the platform does not cut per head",
    "mpnet": "MPNet adds one relative-position bias per head, computed once for all layers, "
             "so a layer cannot have fewer heads than the others",
}


def segment_types(config: PretrainedConfig) -> int:
    """How many segment ids the model embeds (0: it takes none, or ignores them)."""
    if config.model_type in NO_SEGMENT_IDS:
        return 0
    return max(0, getattr(config, "type_vocab_size", 0) or 0)


def layer_names(config: PretrainedConfig) -> list[str]:
    """The module (relative to the base model) running each layer, in order.

    ALBERT runs one shared module per group of layers: its name appears once per layer
    using it.
    """
    layers = config.num_hidden_layers
    if config.model_type == "albert":
        groups = config.num_hidden_groups
        return [f"encoder.albert_layer_groups.{int(i / (layers / groups))}"
                for i in range(layers)]
    return [f"{LAYERS[config.model_type]}.{i}" for i in range(layers)]


def pruned_heads(config: PretrainedConfig) -> dict[int, list[int]]:
    """The config's ``pruned_heads`` as ``{layer index: sorted head indices}`` ({} if none).

    JSON keys are strings (``{"0": [1, 3]}``); both spellings are accepted.
    """
    raw = getattr(config, "pruned_heads", None) or {}
    return {int(layer): sorted(set(heads)) for layer, heads in raw.items() if heads}


def layer_kinds(config: PretrainedConfig) -> list[tuple]:
    """What makes a layer cost what it does, per layer: layers of one kind cost the same.

    The number of heads pruned from it; for ModernBERT, its attention (global or windowed)
    and whether it is the first (which has no attention LayerNorm).
    """
    pruned = pruned_heads(config)
    kinds: list[tuple] = [(len(pruned.get(i, ())),) for i in range(config.num_hidden_layers)]
    if config.model_type == "modernbert":
        kinds = [(*kind, config.layer_types[i], i == 0) for i, kind in enumerate(kinds)]
    return kinds


@dataclass(frozen=True)
class WindowSavings:
    """What a sliding-window layer does not compute compared with full attention.

    Each query attends to the keys at most ``reach`` positions away (both sides, clipped at
    the ends): ``window_scores(L)`` scores per head instead of L². Per score not computed,
    a head saves ``head_dim`` MACs of ``QKᵀ``, ``head_dim`` of ``AV`` and 2 of scaling and
    softmax (SPEC §3).
    """

    heads: int
    head_dim: int
    reach: int

    def window_scores(self, length: int) -> int:
        """Pairs (query, key) with ``|q - k| <= reach`` in a sequence of ``length`` tokens."""
        outside = max(0, length - self.reach - 1)
        return length * length - outside * (outside + 1)

    def at(self, length: int) -> int:
        """MACs saved by one layer at ``length`` tokens (0 while the window covers all)."""
        skipped = length * length - self.window_scores(length)
        return self.heads * (2 * self.head_dim + 2) * skipped


def sliding_windows(config: PretrainedConfig) -> dict[int, WindowSavings]:
    """ModernBERT's sliding-window layers (by index) and their savings; ``{}`` otherwise."""
    if config.model_type != "modernbert":
        return {}
    savings = WindowSavings(config.num_attention_heads,
                            config.hidden_size // config.num_attention_heads,
                            config.sliding_window)
    return {i: savings for i, kind in enumerate(config.layer_types)
            if kind == "sliding_attention"}
