"""Time ELUE's FLOPs counting on the real test sets: tokenising, fitting, exact counting.

    .venv/bin/python bench/bench_flops.py [DATA_DIR] [--exact]

For each task found in DATA_DIR (default ../shared/elue-data): tokenise with bert-base-uncased,
build the ElasticBERT-BASE cost model (fit + verify), and print the reference MFLOPs. With
``--exact``, also count every distinct length with fvcore and check the fit against it.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluator.benchmark import TASKS  # noqa: E402
from evaluator.cost.architectures import config_from_dict  # noqa: E402
from evaluator.cost.per_example import Probe, build_cost_model, count_parts  # noqa: E402
from evaluator.cost.reference_flops import REFERENCE_CONFIG, reference_lengths  # noqa: E402
from evaluator.data import available_tasks, load_test_set  # noqa: E402

LAYERS = (1, 3, 4, 6, 12)
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "elue-data"


def exact_macs(config, lengths: np.ndarray) -> tuple[np.ndarray, float]:
    """Whole-model MACs of each example from per-length fvcore counts, and the time taken."""
    start = time.perf_counter()
    embeddings, layers, head = count_parts(Probe(config), lengths)
    per_length = {n: embeddings.at(n) + sum(part.at(n) for part in layers) + head.at(n)
                  for n in set(lengths)}
    return np.array([per_length[int(n)] for n in lengths]), time.perf_counter() - start


def bench_task(data_dir: Path, task, exact: bool) -> float:
    test_set = load_test_set(data_dir, task, with_labels=False)
    start = time.perf_counter()
    lengths = reference_lengths(test_set)
    tokenised = time.perf_counter()
    config = config_from_dict(REFERENCE_CONFIG, task.num_labels)
    cost = build_cost_model(config, lengths)
    counted = time.perf_counter()
    mflops = {k: 2 * cost.macs(lengths, num_layers=k).mean() / 1e6 for k in LAYERS}
    print(f"{task.name:8} {len(lengths):6,} ex  mean {lengths.mean():6.2f} max {lengths.max():3}  "
          f"tokenise {tokenised - start:5.2f}s  cost model {counted - tokenised:5.2f}s  "
          + "  ".join(f"{k}:{v:.2f}" for k, v in mflops.items()))
    if exact:
        macs, seconds = exact_macs(config, lengths)
        same = np.array_equal(macs, cost.macs(lengths))
        print(f"{'':8} exact per-length counting of {len(set(lengths.tolist()))} lengths: "
              f"{seconds:.2f}s, equal to the fit: {same}")
    return counted - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--exact", action="store_true", help="also count every length exactly")
    args = parser.parse_args()
    start = time.perf_counter()
    tasks = available_tasks(args.data_dir, list(TASKS.values()))
    total = sum(bench_task(args.data_dir, task, args.exact) for task in tasks)
    print(f"{len(tasks)} tasks: {total:.2f}s tokenising and counting "
          f"({time.perf_counter() - start:.2f}s with imports and loading)")


if __name__ == "__main__":
    main()
