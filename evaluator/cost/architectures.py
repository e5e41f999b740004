"""Models built from a submission's Hugging Face ``config.json`` (SPEC §2, kind 3).

The model is built with no weights and no code from the submitter: the config is read as
JSON, checked (sizes before anything is built: ``config_limits``; values the platform cannot
count or run faithfully: ``config_checks``), and handed to the transformers class of a
standard architecture (``families``), on PyTorch's ``meta`` device, with any pruned heads
removed (``pruning``). Meta tensors have shapes but no storage, so building and tracing
BERT-base allocates nothing and computes nothing (a FLOPs count depends on shapes only).
A config that transformers refuses, or builds but cannot run, is refused as ``bad_config``
naming the key to blame when one is (``refusing_what_fails``).

    >>> config = load_config(Path("submission/"), num_labels=2)
    >>> count_parameters(build_model(config))
    109483778
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evaluator.cost.config_checks import check_config
from evaluator.cost.config_limits import MAX_PARAMETERS, check_estimate, check_sizes
from evaluator.cost.families import POSITION_OFFSET, SUPPORTED_MODEL_TYPES
from evaluator.cost.pruning import prune_heads
from evaluator.errors import EvaluationFailed, Problem, SubmissionInvalid

if TYPE_CHECKING:
    from torch import nn
    from transformers import PretrainedConfig, PreTrainedModel

CONFIG_FILE = "config.json"

MAX_TOKENS = 512  # SPEC §3: examples are truncated at 512 tokens (or the model's maximum)
# Fewer positions cannot hold a sentence pair with its special tokens and a few words.
MIN_TOKENS = 16

IGNORED_CONFIG_KEYS = frozenset({"model_type", "quantization_config", "torch_dtype", "dtype"})
# Keys transformers keeps for bookkeeping: never the cause of a model that cannot be built.
BOOKKEEPING_KEYS = frozenset({
    "architectures", "transformers_version", "id2label", "label2id", "num_labels",
    "return_dict", "_name_or_path", "problem_type", "output_attentions",
    "output_hidden_states", "_attn_implementation_autoset", "dtype", "torch_dtype",
})
MAX_KEYS_TRIED = 40  # when a config fails, keys tried one by one to name the culprit
FIELD_IN_MESSAGE = re.compile(r"field '(\w+)'")  # transformers' strict config validation

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
    """A transformers config of a supported architecture with ``num_labels`` outputs,
    refused (``bad_config``, ``model_too_large``) before any model is built if it asks for
    too much or for what the platform cannot count faithfully."""
    model_type = check_architecture(raw)
    check_sizes(raw, model_type)
    transformers = offline_transformers()
    # The count is for float32 weights whatever the submitter trained in; quantisation
    # settings would make transformers reach for optional libraries.
    fields = {k: v for k, v in raw.items() if k not in IGNORED_CONFIG_KEYS}
    try:
        config = transformers.AutoConfig.for_model(model_type, **fields)
        config.num_labels = num_labels
    except Exception as error:  # strict dataclass validation raises its own exceptions
        named = FIELD_IN_MESSAGE.search(str(error))
        key = named.group(1) if named else _invalid_key(model_type, fields)
        where = f'"{key}": ' if key else ""
        raise _invalid("bad_config", f"{where}not a valid {model_type} config: "
                       f"{_first_line(error)}") from None
    check_config(config)
    check_estimate(config)
    if max_tokens(config) < MIN_TOKENS:
        raise _invalid("bad_config", f'"max_position_embeddings": {max_tokens(config)} usable '
                       f"positions; ELUE's examples need at least {MIN_TOKENS}")
    return config


def _invalid_key(model_type: str, fields: dict) -> str | None:
    """The key without which transformers accepts the config, if there is one."""
    transformers = offline_transformers()
    for key in sorted(fields)[:MAX_KEYS_TRIED]:
        try:
            transformers.AutoConfig.for_model(
                model_type, **{k: v for k, v in fields.items() if k != key})
        except Exception:
            continue
        return key
    return None


def _first_line(error: BaseException) -> str:
    """An exception as one readable line (transformers' messages span several)."""
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text[:300]}" if text else type(error).__name__


def load_config(path: Path, num_labels: int) -> PretrainedConfig:
    """Read ``config.json`` (``path`` is the file or its directory), check and return it."""
    return config_from_dict(read_config_json(path), num_labels)


def max_tokens(config: PretrainedConfig) -> int:
    """Longest input in tokens: 512, or fewer if the model has fewer positions (SPEC §3)."""
    positions = getattr(config, "max_position_embeddings", None) or MAX_TOKENS
    if config.model_type in POSITION_OFFSET:
        positions -= (config.pad_token_id or 0) + 1
    return max(1, min(MAX_TOKENS, positions))


def with_layers(config: PretrainedConfig, num_layers: int) -> PretrainedConfig:
    """A copy of ``config`` truncated to its first ``num_layers`` transformer layers."""
    truncated = copy.deepcopy(config)
    # Every supported config maps num_hidden_layers to its own name (DistilBERT: n_layers).
    truncated.num_hidden_layers = num_layers
    if isinstance(getattr(config, "layer_types", None), list):  # ModernBERT: one per layer
        truncated.layer_types = config.layer_types[:num_layers]
    return truncated


def build_model(config: PretrainedConfig, num_layers: int | None = None,
                attn_implementation: str = "eager", device: str = "meta") -> PreTrainedModel:
    """The sequence-classification model of ``config`` in eval mode, on ``device``, with
    its ``pruned_heads`` removed.

    ``num_layers`` truncates it. On the default ``meta`` device it has no weights at all,
    which is enough to count parameters and to trace it.
    """
    try:
        return _build(config, num_layers, attn_implementation, device)
    except BUILD_ERRORS as error:
        raise _invalid("bad_config", f"{_blamed(config)}cannot build the model "
                       f"({_first_line(error)})") from None


def _build(config: PretrainedConfig, num_layers: int | None, attn_implementation: str,
           device: str) -> PreTrainedModel:
    import torch

    transformers = offline_transformers()
    config = with_layers(config, num_layers or config.num_hidden_layers)
    with torch.device(device):
        model = transformers.AutoModelForSequenceClassification.from_config(
            config, attn_implementation=attn_implementation, dtype=torch.float32,
            trust_remote_code=False)
        prune_heads(model, config)
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


# --- configs transformers builds but cannot run -------------------------------------------

def runs(config: PretrainedConfig) -> bool:
    """Whether a copy of ``config`` cut to two layers builds and traces at a short length."""
    from evaluator.cost.fvcore_rules import total_macs

    try:
        model = _build(config, min(2, config.num_hidden_layers), "eager", "meta")
        total_macs(model, min(8, max_tokens(config)))
    except Exception:
        return False
    return True


def culprit_key(config: PretrainedConfig) -> str | None:
    """The submitted key without which ``config`` builds and traces, if there is one."""
    transformers = offline_transformers()
    fields = config.to_diff_dict()
    if runs(config):  # the failure needs more layers or lengths than the quick check
        return None
    keys = [k for k in sorted(fields) if k not in BOOKKEEPING_KEYS][:MAX_KEYS_TRIED]
    for key in keys:
        others = {k: v for k, v in fields.items() if k != key and k not in IGNORED_CONFIG_KEYS}
        try:
            candidate = transformers.AutoConfig.for_model(config.model_type, **others)
        except Exception:
            continue
        if runs(candidate):
            return key
    return None


@contextlib.contextmanager
def refusing_what_fails(config: PretrainedConfig) -> Iterator[None]:
    """Turn any failure to build or trace ``config``'s model into ``bad_config``, naming
    the key to blame when removing it alone makes the model work."""
    try:
        yield
    except (SubmissionInvalid, EvaluationFailed):
        raise
    except Exception as error:
        raise _invalid("bad_config", f"{_blamed(config)}transformers cannot build or run this "
                       f"{config.model_type} model ({_first_line(error)})") from None


def _blamed(config: PretrainedConfig) -> str:
    """``'"key" (value): '`` for the key to blame for a failure, or ``""``."""
    key = culprit_key(config)
    return f'"{key}" ({json.dumps(getattr(config, key, None), default=str)[:40]}): ' \
        if key else ""
