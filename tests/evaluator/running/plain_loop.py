"""What a researcher's own transformers loop predicts: the reference the platform's runs are
compared with, example for example."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import torch

from evaluator.benchmark import TASKS
from evaluator.data import load_test_set
from tests.conftest import ELUE_DATA_DIR


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Small models one example at a time: on a busy machine a second thread only waits."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def plain_predictions(model, tokenizer_dir: Path, slug: str, count: int | None = None,
                      zero_segments: bool = False) -> list[str]:
    """Labels of the first ``count`` test examples of ``slug`` (all by default), one at a
    time, as ``tokenizer(a, b, truncation=True, max_length=512)`` and ``model(**encoded)``
    give them; with ``zero_segments``, all segment ids 0 (what the platform used to feed)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    texts = load_test_set(ELUE_DATA_DIR, TASKS[slug], with_labels=False).texts[:count]
    predictions = []
    with torch.inference_mode(), one_thread():
        for example in texts:
            encoded = tokenizer(*example, truncation=True, max_length=512, return_tensors="pt")
            if zero_segments:
                encoded["token_type_ids"] = torch.zeros_like(encoded["token_type_ids"])
            predictions.append(str(int(model.eval()(**encoded).logits.argmax(-1))))
    return predictions
