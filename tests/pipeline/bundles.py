"""Submission bundles for the pipeline tests and benchmark, made from the real ELUE test sets."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from evaluator.benchmark import TASKS
from evaluator.cost.reference_flops import REFERENCE_CONFIG
from evaluator.cost.token_lengths import reference_tokenizer_dir
from tests.evaluator.builders import PREDICTION_HEADER, true_labels, tsv, write, zip_folder

FIVE_TASKS = ("sst-2", "snli", "scitail", "mrpc", "sts-b")
# ElasticBERT-BASE truncated to 6 layers on each task (docs/benchmarks.md), as a submitter of a
# 6-layer model would declare it.
DECLARED_COSTS = {"sst-2": 2119.41, "snli": 2348.08, "scitail": 3366.57, "mrpc": 4559.04,
                  "sts-b": 2358.04}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt",
                   "special_tokens_map.json")


def imperfect(slug: str, every: int = 7, seed: int = 0) -> list[str]:
    """The task's true labels with every ``every``-th one wrong (``seed`` shifts which), so
    that performance is a real number, not 100."""
    spec, labels = TASKS[slug], list(true_labels(slug))
    for i in range(seed % every, len(labels), every):
        if spec.labels is None:
            labels[i] = f"{(float(labels[i]) + 1.7) % 5:.3f}"
        else:
            labels[i] = spec.labels[(spec.labels.index(labels[i]) + 1) % len(spec.labels)]
    return labels


def declared_bundle(target: Path, tasks: tuple[str, ...] = FIVE_TASKS, seed: int = 0) -> Path:
    """A zip of prediction files plus ``costs.json`` (declared cost, SPEC §2 kind 2)."""
    folder = target.with_suffix("")
    for slug in tasks:
        write(folder, f"{slug}.tsv", tsv(PREDICTION_HEADER, imperfect(slug, seed=seed)))
    costs = {slug: {"mflops": DECLARED_COSTS[slug], "mparams": 66.96} for slug in tasks}
    write(folder, "costs.json", json.dumps(costs))
    return zip_folder(folder, target)


def verified_bundle(target: Path, tasks: tuple[str, ...]) -> Path:
    """A zip of prediction files plus a BERT-base model definition (``model/config.json`` and
    the bert-base-uncased tokenizer): the platform counts the FLOPs itself, which takes a
    worker several seconds."""
    folder = target.with_suffix("")
    write(folder, "model/config.json", json.dumps(REFERENCE_CONFIG))
    for name in TOKENIZER_FILES:
        shutil.copy(reference_tokenizer_dir() / name, folder / "model" / name)
    for slug in tasks:
        write(folder, f"{slug}.tsv", tsv(PREDICTION_HEADER, imperfect(slug)))
    return zip_folder(folder, target)


def malformed_bundle(target: Path) -> Path:
    """A zip with two bad files: MRPC's line 3 has a label that does not exist and line 6
    repeats an index; SNLI lacks its last four rows."""
    folder = target.with_suffix("")
    mrpc = list(true_labels("mrpc"))
    mrpc[1] = "yes"
    rows = tsv(PREDICTION_HEADER, mrpc).splitlines()
    rows[5] = "3\t" + rows[5].split("\t")[1]  # line 6 says index 3 again
    write(folder, "mrpc.tsv", "\n".join(rows) + "\n")
    write(folder, "snli.tsv", tsv(PREDICTION_HEADER, true_labels("snli")[:-4]))
    write(folder, "costs.json", json.dumps({"mrpc": {"mflops": 4559.04, "mparams": 66.96},
                                            "snli": {"mflops": 2348.08, "mparams": 66.96}}))
    return zip_folder(folder, target)
