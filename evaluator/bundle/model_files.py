"""The optional model definition inside a submission bundle (SPEC §2, "ours").

A Hugging Face ``config.json`` plus the tokenizer files, either at the top level of the
bundle (as ``save_pretrained`` leaves them in an ElasticBERT output folder) or in a
``model/`` folder (recommended), never both. Weights, when present, are safetensors
(``model.safetensors`` or its shards); custom model code (``*.py``) is accepted only in
``model/`` and only ever runs in the sandbox. This module checks that the definition is
complete and reads the number of layers; counting FLOPs is ``evaluator.cost.fvcore_rules``'s job.

A model the platform runs (kind 4, or kind 3 with weights) adds ``elue.json`` in ``model/``,
``{"tasks": ["mrpc"], "thresholds": [0.1, 0.3], "dtype": "bf16"}``: the tasks its weights are
for, for a ``model.py`` with ``predict()`` the thresholds that become its operating points,
and optionally the precision it runs at (``fp32``, the default; ``bf16`` or ``fp16`` under
autocast).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

from evaluator.benchmark import TASKS, TaskSpec
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
MANIFEST_FILE = "elue.json"
MODEL_CODE = "model.py"
MAX_THRESHOLDS = 32
DTYPES = ("fp32", "bf16", "fp16")
DEFAULT_DTYPE = "fp32"
# Weights formats that are pickles (loading one can run code): refused by name with advice.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle", ".joblib")
PICKLE_ADVICE = ("pickle-based weights are never loaded (loading a pickle can run code); "
                 "save them as model.safetensors (save_pretrained(..., "
                 "safe_serialization=True) or safetensors.torch.save_file)")


@dataclass(frozen=True)
class Manifest:
    """``model/elue.json``: the tasks the weights are for, the thresholds to run, and the
    precision to run at."""

    tasks: tuple[TaskSpec, ...]
    thresholds: tuple[float, ...] = field(default_factory=tuple)
    dtype: str = DEFAULT_DTYPE


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
    manifest: Manifest | None = None

    @property
    def code_files(self) -> tuple[str, ...]:
        """Custom model code; its presence means FLOPs are counted in the sandbox."""
        return tuple(f for f in self.files if f.endswith(".py"))

    @property
    def weight_files(self) -> tuple[str, ...]:
        return tuple(f for f in self.files if WEIGHTS.fullmatch(f))

    @property
    def is_custom(self) -> bool:
        return MODEL_CODE in self.files

    @property
    def runnable(self) -> bool:
        """Whether the platform can run it: it has weights (and, if custom, ``model.py``)."""
        return bool(self.weight_files)


def is_model_file(name: str, in_model_folder: bool) -> bool:
    """Whether ``name`` belongs to a model definition at that place."""
    if name == CONFIG_FILE or name in TOKENIZER_FILES or WEIGHTS.fullmatch(name):
        return True
    return in_model_folder and (name.endswith(".py") or name == MANIFEST_FILE)


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
    manifest = None
    if MANIFEST_FILE in files:
        manifest, more = read_manifest(directory / MANIFEST_FILE, _shown(label, MANIFEST_FILE))
        problems += more
    problems += _check_code(set(files), manifest, layers, label)
    if problems:
        return None, problems
    return ModelDefinition(directory, config, layers, tuple(sorted(files)), manifest), []


def _check_code(files: set[str], manifest: Manifest | None, layers: int | None,
                label: str) -> list[Problem]:
    """``model.py`` is needed next to other code and for thresholds; a depth for exits."""
    problems = []
    if any(f.endswith(".py") for f in files) and MODEL_CODE not in files:
        problems.append(Problem("model_incomplete", "custom code needs a model.py defining "
                                "build(num_labels)", _shown(label, sorted(files)[0])))
    if manifest and manifest.thresholds and MODEL_CODE not in files:
        problems.append(Problem("bad_manifest", "thresholds need a model.py with predict(); a "
                                "standard architecture is run as a static model",
                                _shown(label, MANIFEST_FILE)))
    if MODEL_CODE in files and layers is None:
        problems.append(Problem("bad_config", "a custom model's config.json must give its "
                                'number of layers ("num_hidden_layers")',
                                _shown(label, CONFIG_FILE)))
    return problems


def read_manifest(path: Path, name: str) -> tuple[Manifest | None, list[Problem]]:
    """Validate ``elue.json``: ``{"tasks": [slug, ...], "thresholds": [number, ...],
    "dtype": "fp32" | "bf16" | "fp16"}``."""
    raw, problems = _read_config(path, name)
    if raw is None:
        return None, [Problem("bad_manifest", p.message, name, p.line) for p in problems]
    unknown = sorted(set(raw) - {"tasks", "thresholds", "dtype"})
    if unknown:
        problems.append(Problem("bad_manifest", f"unknown key {unknown[0]!r}; expected "
                                '"tasks" and optionally "thresholds" and "dtype"', name))
    tasks = raw.get("tasks")
    if not (isinstance(tasks, list) and tasks and all(t in TASKS for t in tasks)
            and len(set(tasks)) == len(tasks)):
        problems.append(Problem("bad_manifest", '"tasks" must be a non-empty list of distinct '
                                f"task names out of {', '.join(TASKS)}", name))
    thresholds = raw.get("thresholds", [])
    if not (isinstance(thresholds, list) and len(thresholds) <= MAX_THRESHOLDS and all(
            _is_number(t) for t in thresholds) and len(set(thresholds)) == len(thresholds)):
        problems.append(Problem("bad_manifest", '"thresholds" must be a list of at most '
                                f"{MAX_THRESHOLDS} distinct finite numbers", name))
    dtype = raw.get("dtype", DEFAULT_DTYPE)
    if dtype not in DTYPES:
        problems.append(Problem("bad_manifest", f'"dtype" must be one of {", ".join(DTYPES)} '
                                f"(got {json.dumps(dtype)[:40]})", name))
    if problems:
        return None, problems
    return Manifest(tuple(TASKS[t] for t in tasks), tuple(float(t) for t in thresholds),
                    dtype), []


def _is_number(value: object) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value))


def is_pickle_weights(name: str) -> bool:
    """A weights file in a pickle-based format (``model.pt``, ``weights.bin``...)."""
    return name.lower().endswith(PICKLE_SUFFIXES)


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
