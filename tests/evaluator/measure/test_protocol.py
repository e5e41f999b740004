"""The measurement protocol: a fixed, length-stratified sample that is the same for every
entry, warm-up examples outside it, and the protocol's name."""

from __future__ import annotations

import numpy as np

from evaluator.benchmark import TASKS
from evaluator.data import load_test_set
from evaluator.measure.protocol import (
    MeasureOptions,
    measured_sample,
    stratified_sample,
    text_lengths,
    warmup_indices,
)
from tests.conftest import ELUE_DATA_DIR


def test_the_sample_spreads_over_the_lengths():
    lengths = np.arange(1000)[::-1]  # example i has length 999 - i
    sample = stratified_sample(lengths, 10)
    assert len(sample) == 10 and len(set(sample)) == 10
    chosen = np.sort(lengths[sample])
    assert chosen[0] < 100 and chosen[-1] >= 900  # the shortest and the longest tenths
    assert np.all(np.diff(chosen) == 100)  # one per decile


def test_a_small_test_set_is_measured_whole():
    assert stratified_sample(np.array([3, 1, 2]), 1000).tolist() == [0, 1, 2]


def test_the_sample_follows_the_real_length_distribution():
    mrpc = load_test_set(ELUE_DATA_DIR, TASKS["mrpc"], with_labels=False)
    lengths = text_lengths(mrpc)
    sample, warmup = measured_sample(mrpc, MeasureOptions(sample_size=200, warmup=20))
    assert len(sample) == 200 and len(warmup) == 20
    assert not set(sample) & set(warmup)
    quartiles = np.percentile(lengths, [25, 50, 75])
    assert np.allclose(np.percentile(lengths[sample], [25, 50, 75]), quartiles, atol=1)


def test_the_sample_depends_on_the_test_set_only():
    """The same examples for every entry: nothing of a model (its tokenizer) goes in."""
    sst2 = load_test_set(ELUE_DATA_DIR, TASKS["sst-2"], with_labels=False)
    first = measured_sample(sst2, MeasureOptions())
    again = measured_sample(load_test_set(ELUE_DATA_DIR, TASKS["sst-2"], with_labels=False),
                            MeasureOptions())
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert len(first[0]) == 1000


def test_warmup_reuses_the_sample_only_when_nothing_else_is_left():
    lengths = np.array([4, 2, 8, 6])
    assert set(warmup_indices(lengths, np.array([0, 1]), 5)) == {2, 3}
    assert set(warmup_indices(lengths, np.arange(4), 2)) <= {0, 1, 2, 3}


def test_the_protocol_name_holds_what_makes_figures_comparable():
    assert MeasureOptions().name == "elue-measure/1 single-stream n=1000 warmup=50 reps=3"
    assert MeasureOptions(sample_size=200).name != MeasureOptions().name
