"""Operating points of submitted models: tokenising once, capturing a ``model.py``'s graphs,
running kind 4, counting custom code per task, and checking kind-3 files against a re-run
sample (SPEC §2 kinds 3 and 4).

``evaluator.evaluate`` calls these in order::

    tokens = tokenize(bundle.model, test_sets)
    with CapturedGraphs(bundle, options, progress, gives_segments(tokens)) as graphs:
        bundle.points = run_points(bundle, test_sets, tokens, options, progress, graphs)
        costs = custom_costs(bundle, tokens, options, graphs)
        checks = rerun_agreements(bundle, tokens, options, progress, graphs)    # weights

A ``model.py`` is captured once per number of labels, with every graph the evaluation needs
(``graph_plans``); counting and running then use only those graphs. Segment ids from the
tokenizer go wherever token ids go: into a standard architecture's run and, as an input of
the captured graphs, into a ``model.py``'s (``evaluator.running.model_inputs``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from evaluator.bundle.load import Bundle, PointFiles
from evaluator.bundle.model_files import ModelDefinition
from evaluator.bundle.names import exit_layer_file, prediction_file
from evaluator.cost.architectures import MAX_TOKENS, load_config, max_tokens
from evaluator.cost.definition import check_exit_layers
from evaluator.cost.families import segment_types
from evaluator.cost.token_lengths import load_tokenizer
from evaluator.data import TestSet
from evaluator.errors import Problem, SubmissionInvalid
from evaluator.running.agreement import Agreement, agreement, sample_indices
from evaluator.running.custom_code import (
    CapturedModel,
    CustomCost,
    GraphPlan,
    capture,
    count_captured,
)
from evaluator.running.model_inputs import TokenIds
from evaluator.running.model_runs import prediction_strings, run_captured, run_model
from evaluator.running.model_sandbox import ModelRunOptions

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

    def inputs(self, indices: Sequence[int] | np.ndarray | None = None) -> TokenIds:
        """What the model is fed: every example, or those at ``indices``."""
        everything = TokenIds(self.ids, self.type_ids, self.pad_id, self.pad_type_id)
        return everything if indices is None else everything.subset(indices)


def gives_segments(tokens: dict[str, Tokens]) -> bool:
    """Whether the tokenizer gave segment ids (then a ``model.py`` that takes them gets
    them: its graphs are captured with them as an input)."""
    return any(t.type_ids is not None for t in tokens.values())


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


def rerun_points(bundle: Bundle) -> list[PointFiles]:
    """Kind 3 with weights: the points re-run to check the files. Only tasks in
    ``elue.json`` (all tasks without one); only static points of a standard architecture
    (it has no thresholds)."""
    model = bundle.model
    if model is None or not model.runnable or bundle.runs_model:
        return []
    wanted = {t.slug for t in model.manifest.tasks} if model.manifest else None
    return [p for p in bundle.points if (wanted is None or p.task.slug in wanted)
            and (model.is_custom or not p.point)]


# --- what to capture of a model.py --------------------------------------------------------

@dataclass
class _Needs:
    static: bool = False
    exits: set[int] = field(default_factory=set)
    thresholds: set[float] = field(default_factory=set)

    def run(self, threshold: float | None, num_layers: int) -> None:
        """Running a point: the static graph, or ``predict`` and every exit's graph."""
        if threshold is None:
            self.static = True
        else:
            self.thresholds.add(threshold)
            self.exits.update(range(1, num_layers + 1))


def _model(bundle: Bundle) -> ModelDefinition:
    """The bundle's model definition, which every caller here needs."""
    if bundle.model is None:
        raise ValueError("the submission has no model definition")
    return bundle.model


def _run_thresholds(model: ModelDefinition) -> list[float | None]:
    """The thresholds of a model the platform runs; ``[None]`` (one static point) if none."""
    # Loading refuses a model to run without an elue.json.
    assert model.manifest is not None
    return list(model.manifest.thresholds) or [None]


def graph_plans(bundle: Bundle, segments: bool = False) -> dict[int, GraphPlan]:
    """The graphs of a ``model.py`` the evaluation needs, per number of labels: to count
    each point (static, or at the exit layers of its file), and to run each point the
    platform runs (kind 4, and the kind-3 re-run); with segment ids if ``segments``."""
    model = _model(bundle)
    layers = model.num_layers
    if layers is None:  # loading refuses a model.py whose config.json gives no depth
        raise ValueError("a custom model's config.json must give its number of layers")
    needs: dict[int, _Needs] = {}
    if bundle.runs_model:
        for task in bundle.tasks:
            for threshold in _run_thresholds(model):
                needs.setdefault(task.num_labels, _Needs()).run(threshold, layers)
    for point in bundle.points:
        need = needs.setdefault(point.task.num_labels, _Needs())
        if point.exit_layers is None:
            need.static = True
        else:
            exits = np.asarray(point.exit_layers, dtype=np.int64)
            check_exit_layers(point.exit_layers_file, exits, layers)
            need.exits.update(int(k) for k in np.unique(exits))
    for point in rerun_points(bundle):
        needs[point.task.num_labels].run(point.threshold, layers)
    return {labels: GraphPlan(labels, need.static, tuple(sorted(need.exits)),
                              tuple(sorted(need.thresholds)), model_max_tokens(model, labels),
                              segments)
            for labels, need in needs.items()}


class CapturedGraphs:
    """A ``model.py``'s graphs per number of labels, captured on first use (one sandbox run
    of the submitted code each) and removed on ``close``. Empty for a standard
    architecture. ``segments``: the tokenizer gives segment ids (``gives_segments``)."""

    def __init__(self, bundle: Bundle, options: ModelRunOptions,
                 progress: Progress | None = None, segments: bool = False):
        self.bundle = bundle
        self.options = options
        self.progress = progress
        # Planned now, before a kind-4 run fills in the bundle's points.
        self.plans = graph_plans(bundle, segments) if bundle.model and bundle.model.is_custom \
            else {}
        self.captured: dict[int, CapturedModel] = {}

    def __getitem__(self, num_labels: int) -> CapturedModel:
        if num_labels not in self.captured:
            plan = self.plans[num_labels]
            if self.progress:
                self.progress(f"capturing model.py's graphs ({len(plan.names)}) for "
                              f"{num_labels} label(s)")
            self.captured[num_labels] = capture(_model(self.bundle), plan, self.options,
                                                self.progress)
        return self.captured[num_labels]

    def close(self) -> None:
        for captured in self.captured.values():
            captured.close()
        self.captured.clear()

    def __enter__(self) -> CapturedGraphs:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _run(bundle: Bundle, graphs: CapturedGraphs, task, inputs: TokenIds, thresholds,
         options: ModelRunOptions, progress: Progress | None):
    """The model's outputs at ``thresholds``: its captured graphs if it is code, else the
    standard architecture."""
    model = _model(bundle)
    if model.is_custom:
        return run_captured(graphs[task.num_labels], task, inputs, thresholds, options,
                            progress)
    return run_model(model, task, inputs, thresholds, options, progress)


def run_points(bundle: Bundle, test_sets: dict[str, TestSet], tokens: dict[str, Tokens],
               options: ModelRunOptions, progress: Progress | None = None,
               graphs: CapturedGraphs | None = None) -> list[PointFiles]:
    """Kind 4: run the model on every task of its ``elue.json``, one point per threshold
    (a static point without thresholds), as if their files had been submitted."""
    if graphs is None:
        with CapturedGraphs(bundle, options, progress, gives_segments(tokens)) as own:
            return run_points(bundle, test_sets, tokens, options, progress, own)
    model = _model(bundle)
    thresholds = _run_thresholds(model)
    points = []
    for slug, test_set in test_sets.items():
        task = test_set.task
        check_inputs(model, task.num_labels, tokens[slug])
        if progress:
            progress(f"{task.name}: running the model on {len(test_set):,} examples")
        outputs = _run(bundle, graphs, task, tokens[slug].inputs(), thresholds, options,
                       progress)
        for output in outputs:
            point = _point_name(output.threshold)
            exits = None if output.exit_layers is None or not point else \
                [int(k) for k in output.exit_layers]
            points.append(PointFiles(task, point, prediction_strings(task, output.labels),
                                     prediction_file(task, point), exits,
                                     exit_layer_file(task, point) if exits else None))
    return points


def custom_costs(bundle: Bundle, tokens: dict[str, Tokens], options: ModelRunOptions,
                 graphs: CapturedGraphs) -> dict[str, CustomCost]:
    """Count ``model.py``'s captured graphs once per number of labels, at the lengths of
    every task that has that many."""
    by_labels: dict[int, list[str]] = {}
    for task in bundle.tasks:
        by_labels.setdefault(task.num_labels, []).append(task.slug)
    costs = {}
    for labels, slugs in by_labels.items():
        lengths = np.concatenate([tokens[slug].lengths for slug in slugs])
        cost = count_captured(graphs[labels], lengths, options)
        costs.update(dict.fromkeys(slugs, cost))
    return costs


def rerun_agreements(bundle: Bundle, tokens: dict[str, Tokens], options: ModelRunOptions,
                     progress: Progress | None = None, graphs: CapturedGraphs | None = None
                     ) -> dict[tuple[str, str], Agreement]:
    """Kind 3 with weights: re-run a random sample of each point's examples (drawn with
    ``options.seed``) and compare with its files (``rerun_points``)."""
    if graphs is None:
        with CapturedGraphs(bundle, options, progress, gives_segments(tokens)) as own:
            return rerun_agreements(bundle, tokens, options, progress, own)
    model = _model(bundle)
    checked = rerun_points(bundle)
    results = {}
    for task in bundle.tasks:
        points = [p for p in checked if p.task.slug == task.slug]
        if not points:
            continue
        check_inputs(model, task.num_labels, tokens[task.slug])
        indices = sample_indices(len(tokens[task.slug].ids), options.sample_size,
                                 options.seed)
        if progress:
            progress(f"{task.name}: re-running {len(indices)} examples to check the files")
        outputs = _run(bundle, graphs, task, tokens[task.slug].inputs(indices),
                       [p.threshold for p in points], options, None)
        for point, output in zip(points, outputs, strict=True):
            results[(task.slug, point.point)] = agreement(
                task, point.predictions, point.exit_layers, indices, output)
    return results
