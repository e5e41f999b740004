"""How a kind-3 submission's prediction files compare with a re-run of the model on a random
sample of the test set (the sample's seed is a secret the worker draws per evaluation)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evaluator.benchmark import TaskSpec
from evaluator.running.model_runs import RunOutput, prediction_strings


@dataclass(frozen=True)
class Agreement:
    """A re-run sample compared with the submitted files: examples checked, and the
    percentage of predictions and of exit layers (``None`` for a static point) that match."""

    examples: int
    predictions: float
    exit_layers: float | None


def sample_indices(size: int, count: int, seed: int) -> np.ndarray:
    """``count`` distinct example indices out of ``size``, sorted, reproducible by ``seed``
    (a secret drawn per evaluation by the worker: a file cannot agree with the model on the
    sample only)."""
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(size, size=min(count, size), replace=False))


def agreement(task: TaskSpec, submitted: Sequence[str], submitted_exits: Sequence[int] | None,
              indices: np.ndarray, output: RunOutput) -> Agreement:
    """Compare the submitted predictions (all examples) with a re-run of ``indices``."""
    rerun = prediction_strings(task, output.labels)
    if task.is_regression:  # a few ulps of float noise between machines are not a mismatch
        same = [abs(float(submitted[i]) - float(r)) <= 1e-3 for i, r in zip(indices, rerun,
                                                                            strict=True)]
    else:
        same = [submitted[i] == r for i, r in zip(indices, rerun, strict=True)]
    exits = None
    if submitted_exits is not None and output.exit_layers is not None:
        exits = 100.0 * float(np.mean(np.asarray(submitted_exits)[indices] == output.exit_layers))
    return Agreement(len(indices), 100.0 * float(np.mean(same)), exits)
