"""The measured reference of a hardware profile: ElasticBERT-BASE truncated to 1..12 layers
(BERT-base, bert-base-uncased's tokenizer), measured like any entry on this worker.

Weights do not change how long a forward pass takes, so the models are initialised at
random inside the sandbox (nothing to download or store). Only the single-stream scenario
runs: the reference curve is drawn on the latency and energy axes, and offline IMDb on a CPU
would take hours for nothing shown.

    >>> profile = measure_reference(test_sets, run_options, MeasureOptions(), "fp32",
    ...                             record=lambda slug, layers, measured: ...)
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np

from evaluator.benchmark import TaskSpec
from evaluator.bundle.model_files import CONFIG_FILE, Manifest, ModelDefinition
from evaluator.cost.reference_flops import REFERENCE_CONFIG
from evaluator.cost.token_lengths import reference_tokenizer_dir
from evaluator.data import TestSet
from evaluator.measure.energy import open_counter
from evaluator.measure.hardware import HardwareProfile, detect_profile
from evaluator.measure.protocol import MeasureOptions, measured_sample
from evaluator.measure.scenarios import Plan, PointMeasurement, measure_point
from evaluator.measure.session import ServedModel
from evaluator.measure.timers import Clock, MonotonicClock
from evaluator.running.custom_code import ModelRunOptions, model_job
from evaluator.running.model_points import tokenize

REFERENCE_LAYERS = tuple(range(1, 13))
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt",
                   "special_tokens_map.json")
Record = Callable[[str, int, PointMeasurement], None]
Progress = Callable[[str], None]


def reference_profile(options: ModelRunOptions, measure: MeasureOptions,
                      dtype: str) -> HardwareProfile:
    return detect_profile(options.device, options.policy.threads, dtype, measure.name)


def reference_model(folder: Path, task: TaskSpec, layers: int, dtype: str) -> ModelDefinition:
    """ElasticBERT-BASE cut to ``layers`` layers as a model definition in ``folder``."""
    config = {**REFERENCE_CONFIG, "num_hidden_layers": layers,
              "architectures": ["BertForSequenceClassification"]}
    (folder / CONFIG_FILE).write_text(json.dumps(config), encoding="utf-8")
    files = (CONFIG_FILE, *(f for f in TOKENIZER_FILES if (folder / f).is_file()))
    return ModelDefinition(folder, config, layers, tuple(sorted(files)),
                           Manifest((task,), (), dtype))


def measure_reference(test_sets: dict[str, TestSet], options: ModelRunOptions,
                      measure: MeasureOptions, dtype: str, record: Record,
                      layers: Iterable[int] = REFERENCE_LAYERS,
                      done: set[tuple[str, int]] = frozenset(),
                      progress: Progress | None = None,
                      clock: Clock | None = None) -> HardwareProfile:
    """Measure every (task, depth) not in ``done``, handing each result to ``record`` as it
    comes (a run stopped half-way keeps what it measured). Returns the profile measured."""
    clock = clock or MonotonicClock()
    counter, note = open_counter(options.device)
    single_stream_only = replace(measure, offline=False)
    folder = Path(tempfile.mkdtemp(prefix="elue-reference-"))
    try:
        for name in TOKENIZER_FILES:
            source = reference_tokenizer_dir() / name
            if source.is_file():
                shutil.copyfile(source, folder / name)
        for slug, test_set in test_sets.items():
            task = test_set.task
            tokens = tokenize(reference_model(folder, task, 12, dtype), {slug: test_set})[slug]
            sequences = [np.asarray(ids, dtype=np.int32) for ids in tokens.ids]
            plan = Plan(*measured_sample(test_set, measure), single_stream_only,
                        options.token_budget)
            for depth in layers:
                if (slug, depth) in done:
                    continue
                if progress:
                    progress(f"reference on {task.name}: {depth} layer(s)")
                model = reference_model(folder, task, depth, dtype)
                job = {**model_job(model, task, [None], tokens.pad_id, options),
                       "random_weights": True}
                with ServedModel.start(model, job, options) as served:
                    record(slug, depth, measure_point(served, 0, sequences, plan, clock,
                                                      counter, note))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return reference_profile(options, measure, dtype)
