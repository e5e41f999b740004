"""Models built from a submission's Hugging Face ``config.json`` (SPEC §2, kind 3).

The model is built with no weights and no code from the submitter: the config is read as
JSON, checked, and handed to the transformers class of a standard architecture, on PyTorch's
``meta`` device. Meta tensors have shapes but no storage, so building and tracing BERT-base
allocates nothing and computes nothing (a FLOPs count depends on shapes only).

    >>> config = load_config(Path("submission/"), num_labels=2)
    >>> count_parameters(build_model(config))
    109483778
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaluator.errors import Problem, SubmissionInvalid

if TYPE_CHECKING:
    from torch import nn
    from transformers import PretrainedConfig, PreTrainedModel

CONFIG_FILE = "config.json"

# Architectures whose sequence-classification model ELUE has pinned with tests. Others may
# well work, but each needs a look at its ops (fvcore counts only what it is told to).
SUPPORTED_MODEL_TYPES: tuple[str, ...] = (
    "bert", "albert", "roberta", "distilbert", "electra", "mobilebert",
)

# RoBERTa numbers positions from pad_token_id + 1, so that many positions are unusable.
POSITION_OFFSET_MODEL_TYPES: frozenset[str] = frozenset({"roberta"})

MAX_TOKENS = 512  # SPEC §3: examples are truncated at 512 tokens (or the model's maximum)

# A guard against configs that would take minutes to trace; ELUE's models are far smaller
# (BERT-large has 335 M parameters, ELUE's largest parameter track is 110 M).
MAX_PARAMETERS = 1_000_000_000

IGNORED_CONFIG_KEYS = frozenset({"model_type", "quantization_config", "torch_dtype", "dtype"})

# Errors transformers raises on a config it cannot build (bad sizes, missing fields, ...).
BUILD_ERRORS = (ValueError, TypeError, AttributeError, AssertionError, KeyError, RuntimeError)


def offline_transformers() -> Any:
    """Import transformers with the Hugging Face Hub switched off (never touch the network)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    import transformers

    return transformers


def _invalid(code: str, message: str, file: str = CONFIG_FILE) -> SubmissionInvalid:
    return SubmissionInvalid([Problem(code, message, file)])


def config_path(path: Path) -> Path:
    """``path`` itself if it is a file, else ``path/config.json``."""
    path = Path(path)
    return path / CONFIG_FILE if path.is_dir() else path


def read_config_json(path: Path) -> dict:
    """The JSON object in the config file at ``path`` (a file or its directory)."""
    file = config_path(path)
    try:
        raw = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise _invalid("missing_file", "config.json not found") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _invalid("bad_config", f"not valid UTF-8 JSON ({error})") from None
    if not isinstance(raw, dict):
        raise _invalid("bad_config", "expected a JSON object")
    return raw


def check_architecture(raw: dict, file: str = CONFIG_FILE) -> str:
    """Return the config's ``model_type`` if ELUE can build it without submitter code.

    Raises ``SubmissionInvalid`` (code ``unsupported_architecture``) otherwise.
    """
    if "auto_map" in raw:
        raise _invalid("unsupported_architecture", "auto_map points at custom code, which the "
                       "platform never runs from a model definition; submit a standard "
                       f"architecture ({', '.join(SUPPORTED_MODEL_TYPES)})", file)
    model_type = raw.get("model_type")
    if model_type not in SUPPORTED_MODEL_TYPES:
        raise _invalid("unsupported_architecture", f"model_type {model_type!r} is not one of "
                       f"{', '.join(SUPPORTED_MODEL_TYPES)}", file)
    return model_type


def config_from_dict(raw: dict, num_labels: int) -> PretrainedConfig:
    """A transformers config of a supported architecture with ``num_labels`` outputs."""
    model_type = check_architecture(raw)
    transformers = offline_transformers()
    # The count is for float32 weights whatever the submitter trained in; quantisation
    # settings would make transformers reach for optional libraries.
    fields = {k: v for k, v in raw.items() if k not in IGNORED_CONFIG_KEYS}
    try:
        config = transformers.AutoConfig.for_model(model_type, **fields)
    except BUILD_ERRORS as error:
        raise _invalid("bad_config", f"not a valid {model_type} config ({error})") from None
    config.num_labels = num_labels
    return config


def load_config(path: Path, num_labels: int) -> PretrainedConfig:
    """Read ``config.json`` (``path`` is the file or its directory), check and return it."""
    return config_from_dict(read_config_json(path), num_labels)


def max_tokens(config: PretrainedConfig) -> int:
    """Longest input in tokens: 512, or fewer if the model has fewer positions (SPEC §3)."""
    positions = getattr(config, "max_position_embeddings", None) or MAX_TOKENS
    if config.model_type in POSITION_OFFSET_MODEL_TYPES:
        positions -= (config.pad_token_id or 0) + 1
    return max(1, min(MAX_TOKENS, positions))


def with_layers(config: PretrainedConfig, num_layers: int) -> PretrainedConfig:
    """A copy of ``config`` truncated (or extended) to ``num_layers`` transformer layers."""
    truncated = copy.deepcopy(config)
    # Every supported config maps num_hidden_layers to its own name (DistilBERT: n_layers).
    truncated.num_hidden_layers = num_layers
    return truncated


def build_model(config: PretrainedConfig, num_layers: int | None = None,
                attn_implementation: str = "eager", device: str = "meta") -> PreTrainedModel:
    """The sequence-classification model of ``config`` in eval mode, on ``device``.

    ``num_layers`` truncates it. On the default ``meta`` device it has no weights at all,
    which is enough to count parameters and to trace it. It returns tuples, not
    ``ModelOutput``s, so that it can be traced.
    """
    import torch

    transformers = offline_transformers()
    config = with_layers(config, num_layers or config.num_hidden_layers)
    config.return_dict = False
    try:
        with torch.device(device):
            model = transformers.AutoModelForSequenceClassification.from_config(
                config, attn_implementation=attn_implementation, dtype=torch.float32,
                trust_remote_code=False)
    except BUILD_ERRORS as error:
        raise _invalid("bad_config", f"cannot build the model ({error})") from None
    return model.eval()


def count_parameters(model: nn.Module) -> int:
    """``sum(p.numel() for p in model.parameters())``: shared weights counted once (SPEC §3)."""
    # parameters() yields each Parameter object once, so tied or shared weights count once.
    return sum(p.numel() for p in model.parameters())


def check_size(model: nn.Module) -> int:
    """The parameter count of ``model``, refusing models too large to be worth tracing."""
    parameters = count_parameters(model)
    if parameters > MAX_PARAMETERS:
        raise _invalid("model_too_large", f"{parameters:,} parameters; the platform counts "
                       f"FLOPs of models up to {MAX_PARAMETERS:,}")
    return parameters


def head_module_names(model: PreTrainedModel) -> tuple[str, str | None]:
    """The base model's name in ``model`` and its pooler's name, if it has one.

    The exit head of a classifier is everything outside the base model (classifier,
    pre-classifier) plus the base model's pooler.
    """
    prefix = model.base_model_prefix
    pooler = getattr(model.base_model, "pooler", None)
    return prefix, (f"{prefix}.pooler" if pooler is not None else None)
