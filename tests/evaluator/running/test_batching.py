"""Length-sorted batching under a token budget (evaluator.running.batching)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from evaluator.running.batching import check_output, length_batches, pad_batch, run_batches


def test_it_puts_every_example_in_exactly_one_batch_within_the_budget():
    rng = np.random.default_rng(7)
    lengths = rng.integers(3, 300, size=1000)
    batches = length_batches(lengths, token_budget=2048)
    seen = np.concatenate(batches)
    assert sorted(seen.tolist()) == list(range(1000))
    for batch in batches:
        assert len(batch) * lengths[batch].max() <= 2048 or len(batch) == 1
    # Sorted by length: each batch's shortest is at least the previous batch's longest.
    for before, after in zip(batches, batches[1:], strict=False):
        assert lengths[after].min() >= lengths[before].max()


def test_it_wastes_almost_no_padding_on_real_like_lengths():
    lengths = np.random.default_rng(1).integers(5, 70, size=1821)  # SST-2-like
    batches = length_batches(lengths, token_budget=8192)
    padded = sum(len(b) * lengths[b].max() for b in batches)
    assert padded / lengths.sum() < 1.1  # padding everything to 128 would be 3.4 times
    assert 128 * len(lengths) / lengths.sum() > 3.3


def test_it_gives_an_example_longer_than_the_budget_a_batch_of_its_own():
    batches = length_batches(np.array([600, 5, 700]), token_budget=512)
    assert [b.tolist() for b in batches] == [[1], [0], [2]]


def test_it_caps_the_batch_size():
    assert [len(b) for b in length_batches(np.ones(600, dtype=int), 10**6, max_batch=256)] \
        == [256, 256, 88]


def test_it_pads_on_the_right_with_a_mask():
    ids, mask = pad_batch([np.array([7, 8, 9]), np.array([5])], pad_id=0)
    assert ids.tolist() == [[7, 8, 9], [5, 0, 0]]
    assert mask.tolist() == [[1, 1, 1], [1, 0, 0]]


def test_it_returns_results_in_input_order_under_inference_mode():
    sequences = [np.arange(n) for n in (9, 2, 5, 2, 7)]
    modes = []

    def step(ids, mask, types):
        modes.append(torch.is_inference_mode_enabled())
        return mask.sum(1), mask.sum(1) % 3 + 1

    progress = []
    labels, exits = run_batches(step, sequences, 0, token_budget=10,
                                progress=lambda done, total: progress.append((done, total)))
    assert labels.tolist() == [9, 2, 5, 2, 7]
    assert exits.tolist() == [1, 3, 3, 3, 2]
    assert all(modes) and progress[-1] == (5, 5)


def test_it_refuses_a_predict_that_returns_the_wrong_shape():
    with pytest.raises(ValueError, match=r"returned 6 labels for a batch of 3 examples"):
        check_output("labels", torch.zeros(3, 2), 3)
    with pytest.raises(ValueError, match="expected a torch.Tensor"):
        check_output("labels", [0, 1, 0], 3)


def test_it_writes_predictions_as_the_task_spells_them():
    from evaluator.benchmark import TASKS
    from evaluator.running.model_runs import prediction_strings

    assert prediction_strings(TASKS["snli"], np.array([2, 0, 1])) == ["2", "0", "1"]
    assert prediction_strings(TASKS["sts-b"], np.array([-0.3, 2.25, 5.7])) == ["0", "2.25", "5"]


def test_it_samples_distinct_examples_reproducibly():
    from evaluator.running.agreement import sample_indices

    first = sample_indices(1725, 200, seed=42)
    assert len(set(first.tolist())) == 200 and first.tolist() == sorted(first.tolist())
    assert (first == sample_indices(1725, 200, seed=42)).all()
    assert len(sample_indices(50, 200, seed=1)) == 50


def test_it_pads_segment_ids_with_the_pad_type_id_beside_the_tokens():
    sequences = [np.array([101, 7, 102, 8, 102]), np.array([101, 9, 102])]
    segments = [np.array([0, 0, 0, 1, 1]), np.array([0, 0, 0])]
    seen = []

    def step(ids, mask, types):
        seen.append((ids.tolist(), mask.tolist(), types.tolist()))
        return mask.sum(1), None

    run_batches(step, sequences, 0, segments=segments, pad_segment=2)
    ids, mask, types = seen[0]
    assert ids == [[101, 9, 102, 0, 0], [101, 7, 102, 8, 102]]  # sorted by length
    assert types == [[0, 0, 0, 2, 2], [0, 0, 0, 1, 1]]


def test_a_step_gets_no_segment_ids_when_the_tokenizer_gives_none():
    seen = []
    run_batches(lambda ids, mask, types: (seen.append(types), (mask.sum(1), None))[1],
                [np.arange(3)], 0)
    assert seen == [None]
