"""The reference's FLOPs (ElasticBERT-BASE truncated to k layers) from the real test inputs."""

from __future__ import annotations

import csv

import pytest

from evaluator.benchmark import get_task
from evaluator.cost.reference_flops import reference_mflops
from evaluator.data import load_test_set
from tests.conftest import REPO_DIR

SHARED = REPO_DIR.parent / "shared"
DATA_DIR = SHARED / "elue-data"
pytestmark = [pytest.mark.slow]


def test_it_reproduces_the_spec_figures_on_sst2():
    test_set = load_test_set(DATA_DIR, get_task("sst-2"), with_labels=False)
    mflops = reference_mflops(test_set, [1, 3, 4, 6, 12])
    assert {k: round(v, 2) for k, v in mflops.items()} == {
        1: 354.28, 3: 1060.33, 4: 1413.36, 6: 2119.41, 12: 4237.56}


def computed_reference_rows() -> list[dict]:
    with open(SHARED / "elue" / "reference.csv", encoding="utf-8") as file:
        return [row for row in csv.DictReader(file) if row["mflops_basis"] == "computed"]


@pytest.mark.parametrize("slug", ["snli", "scitail", "mrpc", "sts-b"])
def test_it_reproduces_the_seeded_reference_flops(slug):
    rows = [r for r in computed_reference_rows() if r["task"] == slug]
    layers = [int(r["layers"]) for r in rows]
    test_set = load_test_set(DATA_DIR, get_task(slug), with_labels=False)
    mflops = reference_mflops(test_set, layers)
    assert len(rows) >= 3
    assert {k: round(v, 2) for k, v in mflops.items()} == {
        int(r["layers"]): float(r["mflops"]) for r in rows}
