"""Operating points of submitted models: tokenising once, running kind 4, counting custom
code per task, and checking kind-3 files against a re-run sample (SPEC §2 kinds 3 and 4).

``evaluator.evaluate`` calls these in order::

    tokens = tokenize(bundle.model, test_sets)
    bundle.points = run_points(bundle, test_sets, tokens, options, progress)   # kind 4
    costs = custom_costs(bundle, tokens, options)                              # model.py
    checks = rerun_agreements(bundle, tokens, options, progress)               # weights
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from evaluator.bundle.load import Bundle, PointFiles
from evaluator.bundle.model_files import ModelDefinition
from evaluator.bundle.names import exit_layer_file, prediction_file
from evaluator.cost.architectures import MAX_TOKENS, load_config, max_tokens
from evaluator.cost.families import segment_types
from evaluator.cost.token_lengths import load_tokenizer
from evaluator.data import TestSet
from evaluator.errors import Problem, SubmissionInvalid
from evaluator.running.custom_code import (
    Agreement,
    CustomCost,
    ModelRunOptions,
    TokenIds,
    agreement,
    count_custom,
    prediction_strings,
    run_model,
    sample_indices,
)

Progress = Callable[[str], None]


@dataclass
class Tokens:
    """A task's test inputs as token ids (special tokens included, truncated), their
    lengths, the tokenizer's padding id, and the segment ids (``token_type_ids``, ``None``
    when the tokenizer gives none) with their padding id."""

    ids: list[list[int]]
    lengths: np.ndarray
    pad_id: int
    type_ids: list[list[int]] | None = None
    pad_type_id: int = 0

    def inputs(self, indices: Sequence[int] | None = None) -> TokenIds:
        """What the model is fed: every example, or those at ``indices``."""
        everything = TokenIds(self.ids, self.type_ids, self.pad_id, self.pad_type_id)
        return everything if indices is None else everything.subset(indices)


def model_max_tokens(model: ModelDefinition, num_labels: int) -> int:
    """512, or the model's position count if smaller (SPEC §3)."""
    if model.is_custom:
        positions = model.config.get("max_position_embeddings", MAX_TOKENS)
        return max(1, min(MAX_TOKENS, positions if isinstance(positions, int) else MAX_TOKENS))
    return max_tokens(load_config(model.directory, num_labels))


def tokenize(model: ModelDefinition, test_sets: dict[str, TestSet]) -> dict[str, Tokens]:
    """Every task's inputs under the model's tokenizer (no submitter code, offline), with
    the segment ids the tokenizer gives (BERT's ``[CLS] a [SEP]`` 0s, ``b [SEP]`` 1s)."""
    # The config first: the tokenizer's loader reads config.json too, less carefully.
    limits = {slug: model_max_tokens(model, t.task.num_labels) for slug, t in test_sets.items()}
    tokenizer = load_tokenizer(model.directory)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    pad_type_id = getattr(tokenizer, "pad_token_type_id", 0) or 0
    tokens = {}
    for slug, test_set in test_sets.items():
        limit = limits[slug]
        firsts = [t[0] for t in test_set.texts]
        seconds = [t[1] for t in test_set.texts] if test_set.texts and \
            len(test_set.texts[0]) == 2 else None
        # As a plain transformers loop calls it: segment ids when the tokenizer has them.
        encoded = tokenizer(firsts, seconds, truncation=True, max_length=limit,
                            padding=False)
        ids = encoded["input_ids"]
        tokens[slug] = Tokens(ids, np.array([len(i) for i in ids], dtype=np.int64), pad_id,
                              encoded.get("token_type_ids"), pad_type_id)
    return tokens


def check_inputs(model: ModelDefinition, num_labels: int, tokens: Tokens) -> None:
    """Refuse a standard architecture whose embeddings cannot take the tokenizer's ids (a
    plain transformers loop would fail on them too, less clearly)."""
    if model.is_custom or not tokens.ids:
        return
    config = load_config(model.directory, num_labels)
    highest = max((max(ids) for ids in tokens.ids if ids), default=0)
    if highest >= config.vocab_size:
        raise SubmissionInvalid([Problem(
            "bad_tokenizer", f"the tokenizer gives token id {highest}, but config.json's "
            f"vocab_size is {config.vocab_size}: they do not belong together")])
    segments = segment_types(config)
    if tokens.type_ids is not None and segments:
        top = max((max(types) for types in tokens.type_ids if types), default=0)
        if top >= segments:
            raise SubmissionInvalid([Problem(
                "bad_tokenizer", f"the tokenizer gives segment id {top} to the second "
                f"sentence of a pair, but config.json's type_vocab_size is {segments}")])


def _point_name(threshold: float | None) -> str:
    return "" if threshold is None else f"{threshold:g}"


def run_points(bundle: Bundle, test_sets: dict[str, TestSet], tokens: dict[str, Tokens],
               options: ModelRunOptions, progress: Progress | None = None) -> list[PointFiles]:
    """Kind 4: run the model on every task of its ``elue.json``, one point per threshold
    (a static point without thresholds), as if their files had been submitted."""
    model = bundle.model
    thresholds = list(model.manifest.thresholds) or [None]
    points = []
    for slug, test_set in test_sets.items():
        task = test_set.task
        check_inputs(model, task.num_labels, tokens[slug])
        if progress:
            progress(f"{task.name}: running the model on {len(test_set):,} examples")
        outputs = run_model(model, task, tokens[slug].inputs(), thresholds, options, progress)
        for output in outputs:
            point = _point_name(output.threshold)
            exits = None if output.exit_layers is None or not point else \
                [int(k) for k in output.exit_layers]
            points.append(PointFiles(task, point, prediction_strings(task, output.labels),
                                     prediction_file(task, point), exits,
                                     exit_layer_file(task, point) if exits else None))
    return points


def custom_costs(bundle: Bundle, tokens: dict[str, Tokens], options: ModelRunOptions
                 ) -> dict[str, CustomCost]:
    """Count ``model.py`` in the sandbox once per task, at its lengths and exit layers."""
    model = bundle.model
    costs = {}
    for task in bundle.tasks:
        points = [p for p in bundle.points if p.task.slug == task.slug]
        exits = sorted({k for p in points if p.exit_layers for k in p.exit_layers})
        static = any(p.exit_layers is None for p in points)
        costs[task.slug] = count_custom(model, task.num_labels, tokens[task.slug].lengths,
                                        exits, static, model_max_tokens(model, task.num_labels),
                                        options)
    return costs


def rerun_agreements(bundle: Bundle, tokens: dict[str, Tokens], options: ModelRunOptions,
                     progress: Progress | None = None) -> dict[tuple[str, str], Agreement]:
    """Kind 3 with weights: re-run a random sample of each point's examples and compare
    with its files. Only tasks in ``elue.json`` (all tasks without one); only static points
    of a standard architecture (it has no thresholds)."""
    model = bundle.model
    wanted = {t.slug for t in model.manifest.tasks} if model.manifest else None
    results = {}
    for task in bundle.tasks:
        if wanted is not None and task.slug not in wanted:
            continue
        points = [p for p in bundle.points if p.task.slug == task.slug
                  and (model.is_custom or not p.point)]
        if not points:
            continue
        check_inputs(model, task.num_labels, tokens[task.slug])
        indices = sample_indices(len(tokens[task.slug].ids), options.sample_size,
                                 options.seed)
        if progress:
            progress(f"{task.name}: re-running {len(indices)} examples to check the files")
        outputs = run_model(model, task, tokens[task.slug].inputs(indices),
                            [p.threshold for p in points], options)
        for point, output in zip(points, outputs, strict=True):
            results[(task.slug, point.point)] = agreement(
                task, point.predictions, point.exit_layers, indices, output)
    return results
