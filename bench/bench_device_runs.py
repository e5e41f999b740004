"""A BERT-base-size model run by the platform against a plain loop on the same batches, on
the same device (the CPU here; a GPU with ``--device cuda``).

    .venv/bin/python bench/bench_device_runs.py [--device cpu|cuda] [--tasks sst-2,...|all]
                                                [--imdb-like 25000] [--threads 2] [--dtype fp32]

The model is BERT-base (12 layers, hidden size 768, bert-base-uncased's vocabulary) with
random weights, saved as a standard architecture (``config.json`` + ``model.safetensors``):
weights do not change how long it runs. For each task:

1. the platform: ``run_model`` (a sandboxed process on the device: start, load the weights,
   length-sorted batches under the token budget, results written back), timed from the
   outside, start-up included;
2. a plain loop in this process calling the same model on the same length-sorted batches on
   the same device (the ceiling; model already loaded, no sandbox).

``--imdb-like N`` adds N generated examples with IMDb's length profile (about 260 tokens on
average after truncation at 512, since IMDb's test set is not distributed with the data).
Prints each task's times, the platform/plain throughput ratio and the whole run's total.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluator.benchmark import TASKS, TaskSpec  # noqa: E402
from evaluator.bundle.model_files import read_model  # noqa: E402
from evaluator.cost.reference_flops import REFERENCE_CONFIG  # noqa: E402
from evaluator.cost.token_lengths import reference_tokenizer_dir  # noqa: E402
from evaluator.data import load_test_set  # noqa: E402
from evaluator.running.batching import length_batches, pad_batch  # noqa: E402
from evaluator.running.custom_code import ModelRunOptions, run_model  # noqa: E402
from evaluator.running.devices import select_device, worker_device  # noqa: E402
from evaluator.running.model_points import tokenize  # noqa: E402
from evaluator.running.sandbox import SandboxPolicy  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "elue-data"
TOKENIZER_FILES = ("vocab.txt", "tokenizer.json", "tokenizer_config.json",
                   "special_tokens_map.json")


def bert_base(folder: Path, num_labels: int) -> Path:
    """BERT-base with random weights, saved as the platform loads a standard model."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(**{k: v for k, v in REFERENCE_CONFIG.items() if k != "model_type"},
                        num_labels=num_labels)
    BertForSequenceClassification(config).save_pretrained(folder, safe_serialization=True)
    for name in TOKENIZER_FILES:
        (folder / name).write_bytes((reference_tokenizer_dir() / name).read_bytes())
    return folder


def imdb_like(count: int, seed: int = 0) -> list[list[int]]:
    """``count`` token sequences with IMDb's length profile under bert-base-uncased
    (median about 230 tokens, a long tail truncated at 512; mean about 260)."""
    rng = np.random.default_rng(seed)
    lengths = np.clip(rng.lognormal(np.log(230), 0.55, count), 16, 512).astype(int)
    return [[101, *rng.integers(1000, 30000, n - 2).tolist(), 102] for n in lengths]


def plain_loop(model, sequences: list, pad_id: int, device: str, dtype: str) -> float:
    """Seconds for the same length-sorted batches through the model in this process."""
    import torch

    lengths = np.array([len(s) for s in sequences])
    precision = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(dtype)
    start = time.perf_counter()
    with torch.inference_mode(), torch.autocast(device.split(":")[0], dtype=precision,
                                                enabled=precision is not None):
        for batch in length_batches(lengths):
            ids, mask = pad_batch([np.asarray(sequences[i]) for i in batch], pad_id)
            model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.argmax(
                -1).cpu()
    return time.perf_counter() - start


def run_task(name: str, task: TaskSpec, sequences: list, pad_id: int, folder: Path,
             options: ModelRunOptions, dtype: str) -> tuple[float, float]:
    import torch
    from transformers import AutoModelForSequenceClassification

    model, problems = read_model(folder, sorted(p.name for p in folder.iterdir()), "model")
    assert not problems, problems
    start = time.perf_counter()
    run_model(model, task, sequences, [None], pad_id, options)
    platform = time.perf_counter() - start
    device = "cuda" if options.device.is_cuda else "cpu"
    loaded = AutoModelForSequenceClassification.from_pretrained(folder).eval().to(device)
    plain_loop(loaded, sequences[:64], pad_id, device, dtype)  # warm-up
    plain = plain_loop(loaded, sequences, pad_id, device, dtype)
    del loaded
    if device == "cuda":
        torch.cuda.empty_cache()
    count = len(sequences)
    print(f"{name:>10}: {count:6,} examples  platform {platform:7.2f} s "
          f"({count / platform:7.1f}/s)  plain loop {plain:7.2f} s ({count / plain:7.1f}/s)  "
          f"platform/plain throughput {plain / platform:.3f}", flush=True)
    return platform, plain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--tasks", default="sst-2", help="comma-separated, or 'all'")
    parser.add_argument("--imdb-like", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dtype", default="fp32", choices=["fp32", "bf16", "fp16"])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=0, help="only the first N examples of "
                        "each task (a quick check, not a figure)")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    device = worker_device("cuda", 0) if args.device == "cuda" else select_device("cpu", 0, [])
    options = ModelRunOptions(SandboxPolicy(wall_seconds=3600, cpu_seconds=36000,
                                            memory_mib=8192, threads=args.threads),
                              device=device)
    slugs = [s for s in TASKS if s != "imdb"] if args.tasks == "all" \
        else [s for s in args.tasks.split(",") if s]
    totals = []
    with tempfile.TemporaryDirectory() as scratch:
        for slug in slugs:
            task = TASKS[slug]
            folder = bert_base(Path(scratch) / slug, task.num_labels)
            (folder / "elue.json").write_text(f'{{"tasks": ["{slug}"], "dtype": "{args.dtype}"}}')
            model, _ = read_model(folder, sorted(p.name for p in folder.iterdir()), "model")
            test_set = load_test_set(args.data, task, with_labels=False)
            tokens = tokenize(model, {slug: test_set})[slug]
            ids = tokens.ids[:args.limit] if args.limit else tokens.ids
            totals.append(run_task(slug, task, ids, tokens.pad_id, folder, options, args.dtype))
        if args.imdb_like:
            folder = bert_base(Path(scratch) / "imdb", 2)
            (folder / "elue.json").write_text(f'{{"tasks": ["imdb"], "dtype": "{args.dtype}"}}')
            totals.append(run_task("imdb-like", TASKS["imdb"], imdb_like(args.imdb_like), 0,
                                   folder, options, args.dtype))
    platform, plain = (sum(t[i] for t in totals) for i in (0, 1))
    print(f"{'total':>10}: platform {platform:.2f} s, plain loop {plain:.2f} s, "
          f"platform/plain throughput {plain / platform:.3f} ({args.device}, {args.dtype}, "
          f"{args.threads} CPU threads)")


if __name__ == "__main__":
    main()
