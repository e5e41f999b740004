"""The published ElasticBERT-BASE reference curve (SPEC §4, §5) shipped with the evaluator,
so that the offline checker scores exactly as the platform does without a database."""

from __future__ import annotations

import csv
from collections import defaultdict
from pathlib import Path

from evaluator.pareto import Point

REFERENCE_CSV = Path(__file__).resolve().parent / "resources" / "reference.csv"


def read_reference_rows(path: Path = REFERENCE_CSV) -> list[dict[str, str]]:
    """The rows of a reference CSV: task, layers, performance, mflops, mflops_basis, source."""
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def reference_curves(path: Path = REFERENCE_CSV) -> dict[str, list[Point]]:
    """The reference points per task slug, as (MFLOPs, performance)."""
    curves: dict[str, list[Point]] = defaultdict(list)
    for row in read_reference_rows(path):
        curves[row["task"]].append(Point(float(row["mflops"]), float(row["performance"])))
    return dict(curves)
