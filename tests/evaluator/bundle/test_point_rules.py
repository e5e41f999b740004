"""The point rules that keep scores from being a label oracle (evaluator.bundle.point_rules):
the cap per task, near-identical points within a bundle and against earlier ones, and the
compact records the platform keeps. Built from the real SST-2 and STS-B test sets."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from evaluator.benchmark import TASKS
from evaluator.bundle.load import load_bundle
from evaluator.bundle.model_files import Manifest
from evaluator.bundle.point_rules import (
    DEFAULT_RULES,
    PointRules,
    PredictionRecord,
    cap_problems,
    decode,
    differing_examples,
    earlier_point_problems,
    encode,
    near_identical_problems,
    record_of,
)
from evaluator.errors import SubmissionInvalid
from tests.evaluator.builders import PREDICTION_HEADER, true_labels, tsv, write

SST2 = TASKS["sst-2"]


def changed(slug: str, indices) -> list[str]:
    """The task's true labels with the predictions at ``indices`` changed."""
    values = list(true_labels(slug))
    for i in indices:
        if TASKS[slug].labels is None:
            values[i] = f"{(float(values[i]) + 1.0) % 5:.3f}"
        else:
            values[i] = "1" if values[i] == "0" else "0"
    return values


def bundle_with(folder, points: dict[str, list[str]], slug: str = "sst-2"):
    """A declared-cost bundle with one prediction file per point name ("" = static)."""
    for name, values in points.items():
        write(folder, f"{slug}_{name}.tsv" if name else f"{slug}.tsv",
              tsv(PREDICTION_HEADER, values))
    write(folder, "costs.json", json.dumps({
        (f"{slug}_{name}" if name else slug): {"mflops": 900.0 + i, "mparams": 60.0}
        for i, name in enumerate(points)}))
    return folder


def refused(folder, tmp_path, rules: PointRules = DEFAULT_RULES):
    with pytest.raises(SubmissionInvalid) as error:
        load_bundle(folder, tmp_path / "scratch", rules=rules)
    return error.value.problems


def test_the_least_difference_is_a_share_of_the_test_set_with_a_floor():
    rules = PointRules(min_difference_percent=0.5, min_difference_examples=10)
    assert rules.min_difference(2210) == 12  # SST-2: 0.5% is 11.05
    assert rules.min_difference(1379) == 10  # STS-B: the floor
    assert rules.min_difference(25000) == 125  # IMDb
    assert rules.min_difference(4) == 4  # never more than all of them


def test_it_caps_the_points_per_task(tmp_path):
    points = {f"0.{i:02d}": changed("sst-2", range(20 * i, 20 * i + 20)) for i in range(17)}
    [problem] = refused(bundle_with(tmp_path / "b", points), tmp_path)
    assert problem.code == "too_many_points" and problem.file == "sst-2_0.16.tsv"
    assert "17 operating points on SST-2; at most 16 per task" in problem.message
    load_bundle(bundle_with(tmp_path / "b", points), tmp_path / "ok",
                rules=PointRules(max_points_per_task=17))


def test_it_caps_the_thresholds_of_a_model_to_run():
    manifest = Manifest((SST2,), tuple(i / 20 for i in range(17)))
    [problem] = cap_problems([], manifest, PointRules())
    assert (problem.code, problem.file) == ("too_many_points", "model/elue.json")
    assert cap_problems([], manifest, PointRules(max_points_per_task=17)) == []


def test_a_single_flip_is_refused_within_a_bundle(tmp_path):
    truth = list(true_labels("sst-2"))
    [problem] = refused(bundle_with(tmp_path / "b", {"": truth, "0.1": changed("sst-2", [7])}),
                        tmp_path)
    assert (problem.code, problem.file) == ("near_identical_points", "sst-2_0.1.tsv")
    assert "differ from sst-2.tsv in only 1 of 2,210 examples" in problem.message
    assert "at least 12 examples (0.5% of the test set)" in problem.message


def test_points_identical_or_far_enough_apart_are_accepted(tmp_path):
    truth = list(true_labels("sst-2"))
    bundle = load_bundle(bundle_with(tmp_path / "b", {
        "": truth, "0.1": list(truth), "0.2": changed("sst-2", range(12)),
        "0.3": changed("sst-2", range(100, 112))}), tmp_path / "accepted")
    assert len(bundle.points) == 4


def test_sts_b_scores_differ_by_value(tmp_path):
    truth = list(true_labels("sts-b"))
    problems = refused(bundle_with(tmp_path / "b", {
        "": truth, "0.1": changed("sts-b", range(9))}, "sts-b"), tmp_path)
    assert [p.code for p in problems] == ["near_identical_points"]
    load_bundle(bundle_with(tmp_path / "c", {"": truth, "0.1": changed("sts-b", range(10))},
                            "sts-b"), tmp_path / "accepted")


def test_records_are_compact_and_exact():
    values = changed("sst-2", [3, 5])
    data = encode(SST2, values)
    assert len(data) < 400  # 2,210 predictions
    assert [SST2.labels[i] for i in decode(SST2, data)] == values
    scores = changed("sts-b", [0])
    assert [f"{v:.3f}" for v in decode(TASKS["sts-b"], encode(TASKS["sts-b"], scores))] == [
        f"{float(v):.3f}" for v in scores]
    assert differing_examples(decode(SST2, data), decode(SST2, encode(SST2, values))) == 0


def test_it_names_the_earlier_point_a_new_one_is_close_to(tmp_path):
    earlier = PredictionRecord("sst-2", "0.5", "sst-2_0.5.tsv",
                               encode(SST2, changed("sst-2", range(40))), 42,
                               datetime(2026, 3, 1, tzinfo=UTC))
    bundle = load_bundle(bundle_with(tmp_path / "b", {
        "0.1": changed("sst-2", range(35)),   # 5 examples from the earlier point
        "0.3": changed("sst-2", range(60))}), tmp_path / "scratch")
    problems = earlier_point_problems([record_of(p) for p in bundle.points], [earlier])
    [problem] = problems
    assert (problem.code, problem.file) == ("near_identical_points", "sst-2_0.1.tsv")
    assert "sst-2_0.5.tsv of your submission 42 on 2026-03-01" in problem.message
    same = PredictionRecord("sst-2", "0.2", "sst-2_0.2.tsv", earlier.data)
    assert earlier_point_problems([same], [earlier]) == []  # identical: nothing new
    other_task = PredictionRecord("mrpc", "", "mrpc.tsv", earlier.data)
    assert earlier_point_problems([record_of(bundle.points[0])], [other_task]) == []


def test_a_model_run_is_held_to_the_rules_before_scoring():
    from evaluator.bundle.load import Bundle, PointFiles
    from evaluator.evaluate import check_model_points

    truth = list(true_labels("sst-2"))
    points = [PointFiles(SST2, "0.1", truth, "sst-2_0.1.tsv"),
              PointFiles(SST2, "0.2", changed("sst-2", [1, 2]), "sst-2_0.2.tsv")]
    with pytest.raises(SubmissionInvalid) as error:
        check_model_points(Bundle(None, points), PointRules())
    assert [p.code for p in error.value.problems] == ["near_identical_points"]
    assert near_identical_problems([record_of(points[0])]) == []
