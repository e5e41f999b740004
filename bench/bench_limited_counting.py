"""What counting a standard architecture in a limited child process costs over counting it in
the worker's own process.

    .venv/bin/python bench/bench_limited_counting.py [DATA_DIR] [--task mrpc] [--repeats 3]

Counts BERT-base (the reference ``config.json`` and tokenizer) on one task's real test set
(``definition_costs``: tokenising, building on the meta device, tracing, fitting), best of
``--repeats``: in-process (after one warm-up, so imports are paid), then through
``run_limited`` (a fresh interpreter each time: imports, limits, seccomp filter, pickling the
test set there and the cost model back).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluator.benchmark import TASKS  # noqa: E402
from evaluator.cost.definition import definition_costs  # noqa: E402
from evaluator.cost.reference_flops import REFERENCE_CONFIG  # noqa: E402
from evaluator.cost.token_lengths import reference_tokenizer_dir  # noqa: E402
from evaluator.data import load_test_set  # noqa: E402
from evaluator.running.limited import run_limited  # noqa: E402
from evaluator.running.sandbox_policy import SandboxPolicy  # noqa: E402

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "elue-data"
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt",
                   "special_tokens_map.json")


def definition(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(REFERENCE_CONFIG))
    for name in TOKENIZER_FILES:
        shutil.copy(reference_tokenizer_dir() / name, folder / name)
    return folder


def best(runs: int, work) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--task", default="mrpc")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    test_set = load_test_set(args.data, TASKS[args.task], with_labels=False)
    with tempfile.TemporaryDirectory(prefix="elue-bench-count-") as folder:
        model = definition(Path(folder) / "model")
        definition_costs(model, [test_set])  # warm-up: imports
        inside = best(args.repeats, lambda: definition_costs(model, [test_set]))
        policy = SandboxPolicy()
        limited = best(args.repeats, lambda: run_limited(definition_costs, (model, [test_set]),
                                                         policy))
    print(f"{args.task}: {len(test_set.texts):,} examples, BERT-base, best of {args.repeats}")
    print(f"in the worker's process   {inside:6.2f} s")
    print(f"in a limited child         {limited:6.2f} s  (+{limited - inside:.2f} s)")


if __name__ == "__main__":
    main()
