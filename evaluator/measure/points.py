"""Measuring every platform-run point of a bundle (kind 4, and kind 3 with weights) on this
worker's hardware: one fresh sandbox per task serves the model, and each point (threshold)
is measured in turn with its own exits (``evaluator.measure.scenarios``).

The measuring sandbox is not the one that produced the predictions: it has never seen the
test inputs, which reach it one request at a time.

    >>> profile, measured = measure_bundle(bundle, test_sets, tokens, run_options, MeasureOptions())
    >>> measured[("mrpc", "0.5")].latency_p50_ms     # or a str: why it was not measured
    3.2
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from evaluator.benchmark import TaskSpec
from evaluator.bundle.load import Bundle, PointFiles
from evaluator.bundle.model_files import DEFAULT_DTYPE, ModelDefinition
from evaluator.data import TestSet
from evaluator.measure.energy import EnergyCounter, open_counter
from evaluator.measure.hardware import HardwareProfile, detect_profile
from evaluator.measure.protocol import MeasureOptions, measured_sample
from evaluator.measure.scenarios import Answers, Plan, PointMeasurement, measure_point
from evaluator.measure.session import ServedModel
from evaluator.measure.timers import Clock, MonotonicClock
from evaluator.running.custom_code import ModelCodeFailed, ModelRunOptions, model_job
from evaluator.running.model_points import Tokens

Progress = Callable[[str], None]
Measured = dict[tuple[str, str], PointMeasurement | str]  # a str: why it was not measured
MIN_SECONDS = 30.0  # less left before the deadline: not worth starting a task's measurement
NO_TIME_LEFT = ("not measured: the evaluation's time limit left no time to measure it (the "
                "model's run and FLOPs counting took most of it)")


def measurable_points(bundle: Bundle) -> list[PointFiles]:
    """The points the platform runs the model for: all of a kind-4 bundle; of a kind-3 one
    with weights, those it re-runs (tasks of its ``elue.json``; a standard architecture has
    no thresholds, so only its static points)."""
    model = bundle.model
    if model is None or not model.runnable:
        return []
    if bundle.runs_model:
        return list(bundle.points)
    wanted = {t.slug for t in model.manifest.tasks} if model.manifest else None
    return [p for p in bundle.points if (wanted is None or p.task.slug in wanted)
            and (model.is_custom or not p.point)]


def bundle_profile(model: ModelDefinition, options: ModelRunOptions,
                   measure: MeasureOptions) -> HardwareProfile:
    dtype = model.manifest.dtype if model.manifest else DEFAULT_DTYPE
    return detect_profile(options.device, options.policy.threads, dtype, measure.name)


def measure_bundle(bundle: Bundle, test_sets: dict[str, TestSet], tokens: dict[str, Tokens],
                   options: ModelRunOptions, measure: MeasureOptions,
                   progress: Progress | None = None, clock: Clock | None = None
                   ) -> tuple[HardwareProfile, Measured]:
    """The hardware profile and every measurable point's measurement (or why not)."""
    clock = clock or MonotonicClock()
    counter, note = open_counter(options.device)
    measured: Measured = {}
    points = measurable_points(bundle)
    for task in bundle.tasks:
        on_task = [p for p in points if p.task.slug == task.slug]
        if on_task:
            measured.update(measure_task(bundle.model, test_sets[task.slug], tokens[task.slug],
                                         on_task, options, measure, clock, counter, note,
                                         progress))
    return bundle_profile(bundle.model, options, measure), measured


def measure_task(model: ModelDefinition, test_set: TestSet, tokens: Tokens,
                 points: list[PointFiles], options: ModelRunOptions, measure: MeasureOptions,
                 clock: Clock, counter: EnergyCounter | None, note: str,
                 progress: Progress | None) -> Measured:
    """Serve the model once for the task and measure each of ``points``; a failure leaves
    the points not yet measured with its reason."""
    task = test_set.task
    left = measure.seconds_left(time.monotonic())
    if left is not None and left < MIN_SECONDS:
        return {(task.slug, p.point): NO_TIME_LEFT for p in points}
    if left is not None and left < options.policy.wall_seconds:  # stop at the deadline
        options = replace(options, policy=replace(options.policy, wall_seconds=left))
    sample, warmup = measured_sample(test_set, measure)
    plan = Plan(sample, warmup, measure, options.token_budget)
    sequences = [np.asarray(ids, dtype=np.int32) for ids in tokens.ids]
    job = model_job(model, task, [p.threshold for p in points], tokens.pad_id, options)
    measured: Measured = {}
    try:
        with ServedModel.start(model, job, options) as served:
            for index, point in enumerate(points):
                if progress:
                    progress(f"{task.name} {point.point or 'static'}: measuring latency, "
                             "throughput, memory and energy")
                measured[(task.slug, point.point)] = measure_point(
                    served, index, sequences, plan, clock, counter, note,
                    lambda answers, point=point: answer_agreement(task, point, answers),
                    progress)
    except ModelCodeFailed as error:
        for point in points:
            measured.setdefault((task.slug, point.point), str(error))
    return measured


def answer_agreement(task: TaskSpec, point: PointFiles, answers: Answers) -> float:
    """Percent of the measured predictions equal to the point's own predictions (a label the
    task does not have, or a value that is not a number, never agrees)."""
    indices = sorted(answers.labels)
    got = np.array([answers.labels[i] for i in indices], dtype=np.float64)
    if task.is_regression:
        low, high = task.label_range
        expected = np.array([float(point.predictions[i]) for i in indices])
        same = np.abs(np.clip(got, low, high) - expected) <= 1e-3
    else:
        names = [task.labels[int(v)] if np.isfinite(v) and v == int(v)
                 and 0 <= v < len(task.labels) else None for v in got]
        same = np.array([name == point.predictions[i] for name, i in zip(names, indices,
                                                                             strict=True)])
    return 100.0 * float(same.mean()) if len(indices) else 0.0
