"""Task metrics against hand-computed values: evaluator.metrics."""

from __future__ import annotations

import math

import pytest

from evaluator.benchmark import TASKS
from evaluator.errors import EvaluationFailed
from evaluator.metrics import (
    METRICS,
    acc_and_f1,
    accuracy,
    f1_positive,
    pearson_and_spearman,
    score_predictions,
)
from tests.evaluator.builders import true_labels


def test_it_has_a_metric_for_every_task():
    assert {t.metric for t in TASKS.values()} <= set(METRICS)


def test_it_computes_accuracy():
    assert accuracy(["1", "0", "2", "1"], ["1", "0", "0", "0"]) == 0.5
    assert score_predictions(TASKS["snli"], ["0", "1", "2", "2"], ["0", "1", "2", "0"]) == 75.0


def test_it_computes_f1_of_class_1():
    # TP = 2 (positions 0, 3), FP = 1 (position 2), FN = 1 (position 4):
    # precision 2/3, recall 2/3, F1 = 2/3.
    predictions = ["1", "0", "1", "1", "0"]
    labels = ["1", "0", "0", "1", "1"]
    assert f1_positive(predictions, labels) == pytest.approx(2 / 3)
    # F1 of class "0" would differ: TP 1, FP 1, FN 1 -> 0.5. Class "1" is the one scored.
    assert f1_positive(["0", "0"], ["1", "0"]) == 0.0


def test_it_averages_accuracy_and_f1_for_mrpc():
    # accuracy 3/4; TP 2, FP 1, FN 0 -> precision 2/3, recall 1, F1 = 0.8.
    predictions = ["1", "0", "1", "1"]
    labels = ["1", "0", "0", "1"]
    assert acc_and_f1(predictions, labels) == pytest.approx((0.75 + 0.8) / 2)
    assert score_predictions(TASKS["mrpc"], predictions, labels) == pytest.approx(77.5)


def test_it_averages_pearson_and_spearman_for_sts_b():
    # y is a monotone function of x, so Spearman = 1. Pearson by hand:
    # x - 4 = (-3, -2, -1, 6), y - 2.5 = (-1.5, -0.5, 0.5, 1.5);
    # sum of products 14, sums of squares 50 and 5: r = 14 / sqrt(250).
    x = ["1", "2", "3", "10"]
    y = ["1", "2", "3", "4"]
    pearson = 14 / math.sqrt(250)
    assert pearson_and_spearman(x, y) == pytest.approx((pearson + 1) / 2)
    assert score_predictions(TASKS["sts-b"], x, y) == pytest.approx(94.27188724, abs=1e-6)


def test_it_ranks_ties_for_spearman():
    # Ranks of x: 1, 2.5, 2.5, 4 against 1, 2, 3, 4; both series have mean 2.5.
    # Spearman: sum of products 4.5, squares 4.5 and 5 -> 4.5 / sqrt(22.5).
    # Pearson of the raw values is the same here, as x's values are its ranks shifted.
    x = ["0", "1.5", "1.5", "3"]
    y = ["1", "2", "3", "4"]
    r = 4.5 / math.sqrt(22.5)
    assert pearson_and_spearman(x, y) == pytest.approx(r)


@pytest.mark.parametrize(("predictions", "labels", "what"), [
    (["2.5", "2.5", "2.5"], ["1.0", "2.0", "4.0"], "predictions"),
    (["1.0", "2.0", "4.0"], ["3.000", "3.000", "3.000"], "labels"),
])
def test_it_refuses_to_correlate_a_constant_series(predictions, labels, what):
    with pytest.raises(EvaluationFailed, match=f"all 3 {what} are the same value"):
        score_predictions(TASKS["sts-b"], predictions, labels)


def test_it_refuses_predictions_and_labels_of_different_lengths():
    with pytest.raises(EvaluationFailed, match="3 predictions for 2 SST-2 test examples"):
        score_predictions(TASKS["sst-2"], ["1", "0", "1"], ["1", "0"])


def test_it_refuses_an_empty_test_set():
    with pytest.raises(EvaluationFailed):
        score_predictions(TASKS["sst-2"], [], [])


def test_it_scores_perfect_predictions_100_on_the_real_test_sets():
    for slug in ("sst-2", "snli", "scitail", "mrpc", "sts-b"):
        labels = list(true_labels(slug))
        assert score_predictions(TASKS[slug], labels, labels) == pytest.approx(100.0)


def test_it_scores_a_majority_guess_on_real_mrpc():
    # MRPC's test set has 1,147 paraphrases among 1,725 pairs. Always answering "1":
    # accuracy 1147/1725; precision 1147/1725, recall 1, so F1 = 2*1147 / (1725 + 1147).
    labels = list(true_labels("mrpc"))
    assert labels.count("1") == 1147
    expected = (1147 / 1725 + 2 * 1147 / (1725 + 1147)) / 2 * 100
    assert score_predictions(TASKS["mrpc"], ["1"] * 1725, labels) == pytest.approx(expected)


def test_it_scores_a_constant_guess_on_real_snli():
    labels = list(true_labels("snli"))
    assert score_predictions(TASKS["snli"], ["0"] * 9824, labels) == pytest.approx(
        labels.count("0") / 9824 * 100)
