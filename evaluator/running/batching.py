"""Running a classifier over a test set in length-sorted batches (SPEC §2, kind 4).

Examples are sorted by token length and grouped so that a batch holds at most
``token_budget`` tokens once padded to its longest example. Neighbours in the sorted order
have (nearly) the same length, so padding is a few tokens per batch instead of padding
everything to 128 or 512, and long examples get small batches, short ones large batches.
Segment ids (``token_type_ids``: 0 for the first sentence of a pair, 1 for the second), when
the tokenizer gives them, are batched alongside the token ids and padded with the
tokenizer's pad type id.

    >>> batches = length_batches(np.array([5, 3, 9, 3]), token_budget=12)
    >>> [b.tolist() for b in batches]
    [[1, 3, 0], [2]]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

DEFAULT_TOKEN_BUDGET = 8192  # tokens per padded batch: BERT-base at L=128 is a batch of 64
MAX_BATCH = 256
# Step: (input_ids, attention_mask, token_type_ids or None) -> (labels, exit layers or None),
# one row per example.
Step = Callable[["torch.Tensor", "torch.Tensor", "torch.Tensor | None"],
                "tuple[torch.Tensor, torch.Tensor | None]"]


def length_batches(lengths: np.ndarray, token_budget: int = DEFAULT_TOKEN_BUDGET,
                   max_batch: int = MAX_BATCH) -> list[np.ndarray]:
    """Example indices in batches of similar length, each within ``token_budget`` tokens
    once padded (an example longer than the budget gets a batch of its own)."""
    lengths = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(lengths, kind="stable")
    batches, start = [], 0
    for end in range(1, len(order) + 1):
        longest = int(lengths[order[end - 1]])
        if end - start > 1 and ((end - start) * longest > token_budget
                                or end - start > max_batch):
            batches.append(order[start:end - 1])
            start = end - 1
    if start < len(order):
        batches.append(order[start:])
    return batches


def pad_rows(sequences: Sequence[np.ndarray], value: int) -> torch.Tensor:
    """The sequences as one (B, longest) ``torch.long`` tensor, padded on the right."""
    import torch

    rows = torch.full((len(sequences), max(len(s) for s in sequences)), value, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        rows[row, :len(sequence)] = torch.from_numpy(np.asarray(sequence, dtype=np.int64))
    return rows


def pad_batch(sequences: Sequence[np.ndarray], pad_id: int) -> tuple[torch.Tensor,
                                                                       torch.Tensor]:
    """``input_ids`` (B, longest) padded on the right with ``pad_id``, and the mask."""
    ids = pad_rows(sequences, pad_id)
    mask = pad_rows([np.ones(len(s), dtype=np.int64) for s in sequences], 0)
    return ids, mask


def run_batches(step: Step, sequences: Sequence[np.ndarray], pad_id: int,
                token_budget: int = DEFAULT_TOKEN_BUDGET,
                progress: Callable[[int, int], None] | None = None,
                segments: Sequence[np.ndarray] | None = None, pad_segment: int = 0
                ) -> tuple[np.ndarray, np.ndarray | None]:
    """Labels (and exit layers, if ``step`` gives them) of every sequence, in input order.

    ``segments`` are the sequences' token type ids (same lengths), padded with
    ``pad_segment``; ``step`` gets ``None`` for them without. Runs under
    ``torch.inference_mode``; ``progress(done, total)`` is called after each batch.
    """
    import torch

    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    labels: np.ndarray | None = None
    exits: np.ndarray | None = None
    done = 0
    with torch.inference_mode():
        for batch in length_batches(lengths, token_budget):
            ids, mask = pad_batch([sequences[i] for i in batch], pad_id)
            types = None if segments is None else pad_rows([segments[i] for i in batch],
                                                           pad_segment)
            got, left = step(ids, mask, types)
            labels = _scatter(labels, batch, check_output("labels", got, len(batch)),
                              len(sequences))
            if left is not None:
                exits = _scatter(exits, batch, check_output("exit layers", left, len(batch)),
                                 len(sequences))
            done += len(batch)
            if progress:
                progress(done, len(sequences))
    return labels if labels is not None else np.zeros(0), exits


def check_output(name: str, values, count: int) -> np.ndarray:
    """``values`` as a 1-D NumPy array of ``count`` finite numbers, or a ``ValueError``."""
    import torch

    if not isinstance(values, torch.Tensor):
        raise ValueError(f"predict() returned {type(values).__name__} for the {name}; "
                         "expected a torch.Tensor")
    array = values.detach().to("cpu").reshape(-1).numpy()
    if array.shape != (count,):
        raise ValueError(f"predict() returned {array.size} {name} for a batch of {count} "
                         f"examples (shape {tuple(values.shape)}); expected shape ({count},)")
    if not np.all(np.isfinite(array.astype(np.float64))):
        raise ValueError(f"predict() returned non-finite {name}")
    return array


def _scatter(target: np.ndarray | None, batch: np.ndarray, values: np.ndarray,
             total: int) -> np.ndarray:
    if target is None:
        target = np.zeros(total, dtype=np.float64 if values.dtype.kind == "f" else np.int64)
    target[batch] = values
    return target
