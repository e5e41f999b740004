"""The test inputs a model is fed: token ids and, for tokenizers that give them, segment ids.

Segment ids (``token_type_ids``: 0 for ``[CLS] a [SEP]``, 1 for ``b [SEP]``) are what BERT,
ALBERT, ELECTRA and MobileBERT are fine-tuned with on sentence pairs; a model run without
them predicts something else than the same model in a plain transformers loop. They travel
with the token ids from the worker's tokenizer to every model call:

- ``TokenIds``: one task's inputs on the worker's side (``evaluator.running.model_points``);
- ``write_inputs`` / ``read_inputs``: the file a sandbox reads them from (``ids.npz``: flat
  ``ids`` and, when there are segment ids, ``type_ids``, with ``offsets`` where each example
  starts; readable without pickle);
- ``accepts_segments``: whether a model's ``forward`` or a ``predict()`` takes
  ``token_type_ids``, so that one written before they were passed is called as it was.

    >>> write_inputs(folder, TokenIds([[101, 7, 102, 8, 102]], [[0, 0, 0, 1, 1]]))
    >>> read_inputs(folder / "ids.npz")
    ([array([101, 7, 102, 8, 102])], [array([0, 0, 0, 1, 1])])
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

INPUTS_FILE = "ids.npz"
SEGMENTS = "token_type_ids"  # the keyword a model's forward and predict() take them as


@dataclass(frozen=True)
class TokenIds:
    """Test inputs as the tokenizer gives them: token ids per example, their segment ids
    (``token_type_ids``; ``None`` when the tokenizer has none), and the padding values."""

    ids: Sequence[Sequence[int]]
    type_ids: Sequence[Sequence[int]] | None = None
    pad_id: int = 0
    pad_type_id: int = 0

    def subset(self, indices: Sequence[int] | np.ndarray) -> TokenIds:
        """The examples at ``indices``, in that order (a re-run sample)."""
        types = None if self.type_ids is None else [self.type_ids[i] for i in indices]
        return replace(self, ids=[self.ids[i] for i in indices], type_ids=types)


def _flat(sequences: Sequence[Sequence[int]], total: int) -> np.ndarray:
    return np.fromiter((t for s in sequences for t in s), dtype=np.int64, count=total)


def write_inputs(folder: Path, tokens: TokenIds) -> None:
    """``tokens`` as ``folder/ids.npz``: flat token ids (and segment ids) plus offsets."""
    offsets = np.zeros(len(tokens.ids) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(s) for s in tokens.ids])
    arrays = {"ids": _flat(tokens.ids, int(offsets[-1])), "offsets": offsets}
    if tokens.type_ids is not None:
        arrays["type_ids"] = _flat(tokens.type_ids, int(offsets[-1]))
    folder.mkdir(parents=True, exist_ok=True)
    np.savez(folder / INPUTS_FILE, **arrays)  # type: ignore[arg-type]


def read_inputs(path: Path | str) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    """The token ids of every example in a file ``write_inputs`` wrote, and their segment
    ids (``None`` without)."""
    inputs = np.load(path, allow_pickle=False)
    offsets = inputs["offsets"]
    segments = _split(inputs["type_ids"], offsets) if "type_ids" in inputs else None
    return _split(inputs["ids"], offsets), segments


def _split(flat: np.ndarray, offsets: np.ndarray) -> list[np.ndarray]:
    return [flat[offsets[i]:offsets[i + 1]] for i in range(len(offsets) - 1)]


def accepts_segments(function: Callable | None, through_keywords: bool = True) -> bool:
    """Whether ``function`` takes ``token_type_ids``: by name, or (``through_keywords``)
    through ``**kwargs``; ``False`` for ``None`` (no such function)."""
    if function is None:
        return False
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == SEGMENTS or (through_keywords and p.kind is p.VAR_KEYWORD)
               for p in parameters)
