"""The optional model definition inside a submission bundle (SPEC §2, "ours").

A Hugging Face ``config.json`` plus the tokenizer files, either at the top level of the
bundle (as ``save_pretrained`` leaves them in an ElasticBERT output folder) or in a
``model/`` folder (recommended), never both. Weights, when present, are safetensors
(``model.safetensors`` or its shards); custom model code (``*.py``) is accepted only in
``model/`` and only ever runs in the sandbox. This module checks that the definition is
complete and reads the number of layers; counting FLOPs is ``evaluator.flops``'s job.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from evaluator.errors import Problem

MODEL_FOLDER = "model"
CONFIG_FILE = "config.json"
TOKENIZER_FILES = frozenset({
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
    "vocab.txt", "vocab.json", "merges.txt", "spiece.model", "sentencepiece.bpe.model",
    "spm.model",
})
# At least one of these is needed to tokenise the test inputs (SPEC §3 counts real lengths).
VOCABULARY_FILES = frozenset({"tokenizer.json", "vocab.txt", "vocab.json", "spiece.model",
                              "sentencepiece.bpe.model", "spm.model"})
WEIGHTS = re.compile(r"model(-[0-9]{5}-of-[0-9]{5})?\.safetensors|model\.safetensors\.index\.json")
# Keys different architectures use for their depth (BERT & co., DistilBERT, GPT-2 style).
LAYER_KEYS = ("num_hidden_layers", "n_layers", "num_layers", "n_layer")
MAX_CONFIG_BYTES = 1024 * 1024


@dataclass
class ModelDefinition:
    """A validated model definition: where it is, its config and its depth.

    ``files`` are the definition's file names inside ``directory`` (sorted);
    ``num_layers`` is ``None`` when ``config.json`` does not say.
    """

    directory: Path
    config: dict
    num_layers: int | None
    files: tuple[str, ...]

    @property
    def code_files(self) -> tuple[str, ...]:
        """Custom model code; its presence means FLOPs are counted in the sandbox."""
        return tuple(f for f in self.files if f.endswith(".py"))

    @property
    def weight_files(self) -> tuple[str, ...]:
        return tuple(f for f in self.files if WEIGHTS.fullmatch(f))


def is_model_file(name: str, in_model_folder: bool) -> bool:
    """Whether ``name`` belongs to a model definition at that place."""
    if name == CONFIG_FILE or name in TOKENIZER_FILES or WEIGHTS.fullmatch(name):
        return True
    return in_model_folder and name.endswith(".py")


def read_model(directory: Path, files: list[str], label: str
               ) -> tuple[ModelDefinition | None, list[Problem]]:
    """Validate the model files ``files`` found in ``directory`` (``label`` names the place)."""
    problems = _check_complete(set(files), label)
    if problems:
        return None, problems
    config, problems = _read_config(directory / CONFIG_FILE, _shown(label, CONFIG_FILE))
    if config is None:
        return None, problems
    layers, problems = _num_layers(config, _shown(label, CONFIG_FILE))
    if problems:
        return None, problems
    return ModelDefinition(directory, config, layers, tuple(sorted(files))), []


def _shown(label: str, name: str) -> str:
    return f"{label}/{name}" if label else name


def _check_complete(files: set[str], label: str) -> list[Problem]:
    where = f"the {label}/ folder" if label else "the top level"
    missing = []
    if CONFIG_FILE not in files:
        missing.append("config.json")
    if not files & VOCABULARY_FILES:
        missing.append("a tokenizer vocabulary (tokenizer.json, vocab.txt, vocab.json, "
                       "spiece.model ...)")
    elif "vocab.json" in files and not files & {"merges.txt", "tokenizer.json"}:
        missing.append("merges.txt (a BPE vocab.json needs it)")
    if not missing:
        return []
    return [Problem("model_incomplete", f"the model definition in {where} lacks "
                    f"{' and '.join(missing)}", _shown(label, CONFIG_FILE))]


def _read_config(path: Path, name: str) -> tuple[dict | None, list[Problem]]:
    if path.stat().st_size > MAX_CONFIG_BYTES:
        return None, [Problem("file_too_large", f"is larger than {MAX_CONFIG_BYTES:,} bytes",
                              name)]
    try:
        config = json.loads(path.read_bytes().decode("utf-8"))
    except UnicodeDecodeError:
        return None, [Problem("bad_config", "is not UTF-8 text", name)]
    except json.JSONDecodeError as exc:
        return None, [Problem("bad_config", f"is not valid JSON: {exc.msg}", name, exc.lineno)]
    except RecursionError:  # "[[[[..." a million deep
        return None, [Problem("bad_config", "is nested too deeply", name)]
    if not isinstance(config, dict):
        return None, [Problem("bad_config", "must be a JSON object", name, 1)]
    return config, []


def _num_layers(config: dict, name: str) -> tuple[int | None, list[Problem]]:
    key = next((k for k in LAYER_KEYS if k in config), None)
    if key is None:
        return None, []
    value = config[key]
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value, []
    return None, [Problem("bad_config", f'"{key}" is {json.dumps(value)[:40]}; it must be a '
                          "positive whole number of layers", name)]
