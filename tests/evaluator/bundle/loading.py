"""Building bundles and reading what ``load_bundle`` says of them: shared by the bundle
loading tests (``test_load.py``, ``test_load_prediction_files.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluator.bundle.load import Bundle, load_bundle
from evaluator.errors import Problem, SubmissionInvalid
from tests.evaluator.builders import PREDICTION_HEADER, true_labels, write

BERT_CONFIG = json.dumps({"model_type": "bert", "num_hidden_layers": 12})


def load(folder: Path, **kwargs) -> Bundle:
    """Load ``folder`` as an upload, into a fresh scratch directory each time."""
    scratch = folder.parent / "scratch"
    number = 0
    while (scratch / str(number)).exists():
        number += 1
    return load_bundle(folder, scratch / str(number), **kwargs)


def problems(folder: Path, **kwargs) -> list[Problem]:
    with pytest.raises(SubmissionInvalid) as caught:
        load(folder, **kwargs)
    return caught.value.problems


def codes(folder: Path, **kwargs) -> list[tuple[str, str | None, int | None]]:
    """(code, file, line) of every problem, in the order reported."""
    return [(p.code, p.file, p.line) for p in problems(folder, **kwargs)]


def rows(slug: str) -> list[list[str]]:
    """The rows ``[index, label]`` of a perfect prediction file, to break by hand."""
    return [[str(i), label] for i, label in enumerate(true_labels(slug))]


def as_tsv(table: list[list[str]], header: str = PREDICTION_HEADER) -> str:
    return "\n".join([header] + ["\t".join(r) for r in table]) + "\n"


def add_model(folder: Path, config: str = BERT_CONFIG, where: str = "") -> None:
    write(folder, f"{where}config.json", config)
    write(folder, f"{where}vocab.txt", "[PAD]\n[UNK]\n[CLS]\n[SEP]\n")
