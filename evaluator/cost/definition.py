"""Verified cost of a model definition on a test set (SPEC §2 kind 3, SPEC §3).

One call per task: the definition directory holds ``config.json`` and the tokenizer files.

    >>> measure_static(Path("submission/"), test_set).mean_mflops
    >>> measure_dynamic(Path("submission/"), test_set, {"sst-2_infer_exit_layer_0.3.tsv": exits})
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from evaluator.cost.architectures import load_config, max_tokens
from evaluator.cost.per_example import CostModel, PointCost, build_cost_model, point_cost
from evaluator.cost.token_lengths import load_tokenizer, token_lengths
from evaluator.data import TestSet
from evaluator.errors import Problem, SubmissionInvalid


def definition_cost(directory: Path, test_set: TestSet) -> tuple[CostModel, np.ndarray]:
    """The cost model of the definition in ``directory`` and the test set's token lengths.

    Raises ``SubmissionInvalid`` for a definition the platform cannot build or tokenize with.
    """
    return definition_costs(directory, [test_set])[test_set.task.slug]


def definition_costs(directory: Path, test_sets: Sequence[TestSet]
                     ) -> dict[str, tuple[CostModel, np.ndarray]]:
    """``definition_cost`` for several tasks at once, per task slug.

    Tasks with the same number of labels share one architecture, so they share one cost
    model, fitted and verified over all their lengths: tracing is the expensive part.
    """
    # The config first: the tokenizer's loader reads config.json too, less carefully.
    configs = {t.task.num_labels: load_config(directory, t.task.num_labels) for t in test_sets}
    tokenizer = load_tokenizer(directory)
    lengths = {t.task.slug: token_lengths(tokenizer, t.texts,
                                          max_tokens(configs[t.task.num_labels]))
               for t in test_sets}
    models = {
        labels: build_cost_model(config, np.concatenate(
            [lengths[t.task.slug] for t in test_sets if t.task.num_labels == labels]))
        for labels, config in configs.items()
    }
    return {t.task.slug: (models[t.task.num_labels], lengths[t.task.slug]) for t in test_sets}


def measure_static(directory: Path, test_set: TestSet) -> PointCost:
    """The cost of the static model defined in ``directory``: all layers and one head."""
    cost, lengths = definition_cost(directory, test_set)
    return point_cost(cost, lengths)


def check_exit_layers(name: str | None, exits: np.ndarray, num_layers: int) -> None:
    """Refuse exit layers outside ``1..num_layers`` (``name`` is the exit-layer file's name)."""
    outside = exits[(exits < 1) | (exits > num_layers)]
    if outside.size:
        raise SubmissionInvalid([Problem(
            "exit_layer_out_of_range", f"exit layer {int(outside[0])} is outside 1..{num_layers} "
            f"(config.json has {num_layers} layers)", name)])


def measure_dynamic(directory: Path, test_set: TestSet,
                    exit_layers: Mapping[str, np.ndarray]) -> dict[str, PointCost]:
    """The cost of each operating point of a multi-exit model defined in ``directory``.

    ``exit_layers`` maps an exit-layer file's name to its 1-based exit layers in index order;
    each example is charged the layers and exit heads it went through.
    """
    cost, lengths = definition_cost(directory, test_set)
    for name, exits in exit_layers.items():
        check_exit_layers(name, np.asarray(exits), cost.num_layers)
    return {name: point_cost(cost, lengths, exits) for name, exits in exit_layers.items()}
