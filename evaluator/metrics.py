"""Task metrics (SPEC §1), chosen by ``TaskSpec.metric`` from a registry, reported ×100.

- ``accuracy``: share of predictions equal to the label (SST-2, IMDb, SNLI, SciTail);
- ``acc_and_f1``: (accuracy + F1 of class ``"1"``) / 2 (MRPC);
- ``pearson_and_spearman``: (Pearson r + Spearman ρ) / 2 of the scores (STS-B).

Example::

    score_predictions(TASKS["mrpc"], ["1", "0", "1", "1"], ["1", "0", "0", "1"])
    # accuracy 0.75, F1 0.8 -> 77.5
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import accuracy_score, f1_score

from evaluator.benchmark import TaskSpec
from evaluator.errors import EvaluationFailed

POSITIVE_LABEL = "1"

Metric = Callable[[Sequence[str], Sequence[str]], float]


def accuracy(predictions: Sequence[str], labels: Sequence[str]) -> float:
    """Fraction of exact matches, 0..1."""
    return float(accuracy_score(labels, predictions))


def f1_positive(predictions: Sequence[str], labels: Sequence[str]) -> float:
    """F1 of class ``"1"`` (MRPC's "paraphrase"), 0..1; 0 when it is never predicted."""
    return float(f1_score(labels, predictions, labels=[POSITIVE_LABEL], average="binary",
                          pos_label=POSITIVE_LABEL, zero_division=0.0))


def acc_and_f1(predictions: Sequence[str], labels: Sequence[str]) -> float:
    """(accuracy + F1 of class ``"1"``) / 2, as GLUE and ELUE report MRPC."""
    return (accuracy(predictions, labels) + f1_positive(predictions, labels)) / 2


def pearson_and_spearman(predictions: Sequence[str], labels: Sequence[str]) -> float:
    """(Pearson + Spearman correlation) / 2 of numeric scores, -1..1.

    A constant series has no correlation: that raises ``EvaluationFailed`` rather than
    returning NaN, which would poison every score computed from it.
    """
    x = np.asarray(predictions, dtype=float)
    y = np.asarray(labels, dtype=float)
    for values, what in ((x, "predictions"), (y, "labels")):
        if np.ptp(values) == 0:
            raise EvaluationFailed(f"all {len(values):,} {what} are the same value "
                                   f"({values[0]:g}); a correlation needs varying values")
    return (float(pearsonr(x, y).statistic) + float(spearmanr(x, y).statistic)) / 2


METRICS: dict[str, Metric] = {
    "accuracy": accuracy,
    "acc_and_f1": acc_and_f1,
    "pearson_and_spearman": pearson_and_spearman,
}


def score_predictions(task: TaskSpec, predictions: Sequence[str],
                      labels: Sequence[str]) -> float:
    """``task``'s metric of ``predictions`` against the hidden ``labels``, ×100.

    Both are in test-set index order, as ``PointFiles.predictions`` and ``TestSet.labels``.
    """
    if len(predictions) != len(labels):
        raise EvaluationFailed(f"{len(predictions):,} predictions for {len(labels):,} "
                               f"{task.name} test examples")
    if not labels:
        raise EvaluationFailed(f"the {task.name} test set is empty")
    value = METRICS[task.metric](predictions, labels) * 100
    if not math.isfinite(value):  # never hand a NaN on to rankings
        raise EvaluationFailed(f"the {task.name} metric is undefined for these predictions")
    return value
