"""The offline checker and the worker give the same numbers, on the five real tasks, and the
numbers the evaluator gave before it was regrouped into stages (pinned below)."""

from __future__ import annotations

import pytest

from evaluator.benchmark import TASKS
from evaluator.checker import check
from evaluator.score import overall_score
from leaderboard.models import Submission, TaskScore
from leaderboard.submissions import submit_bundle
from leaderboard.tasks import evaluate_submission
from leaderboard.testdata import import_test_data
from tests.conftest import ELUE_DATA_DIR
from tests.pipeline.bundles import FIVE_TASKS, verified_bundle

pytestmark = pytest.mark.slow

# Per task: (performance, MFLOPs, MParams, ELUE score) of the BERT-base definition with
# predictions wrong on every 7th example, as the evaluator computed them before the
# regrouping (commit 0be6fc9, `python -m evaluator check`).
BEFORE = {
    "sst-2": (85.70135746606334, 4237.558963113122, 109.483778, -2.898641750697024),
    "snli": (85.7084690553746, 4694.900528716612, 109.484547, -5.591531214974182),
    "scitail": (85.70084666039511, 6731.8408627958615, 109.483778, -8.099153672901949),
    "mrpc": (87.29997854370257, 9116.736008125217, 109.483778, -0.6000209307857034),
    "sts-b": (81.00862881499415, 4714.8145810007245, 109.483009, -6.591372545639459),
}
BEFORE_OVERALL = -4.756144022999663


@pytest.fixture
def bundle(tmp_path):
    return verified_bundle(tmp_path / "bert-base.zip", FIVE_TASKS)


def test_the_checker_gives_the_numbers_it_gave_before(bundle):
    """The same numbers, at the precision ELUE now keeps (docs/integrity.md): performance to
    one decimal, and the score from that performance against the unchanged reference, to
    two."""
    report = check(bundle, ELUE_DATA_DIR)
    expected_scores = {}
    for task in report.tasks:
        performance, mflops, mparams, score = BEFORE[task.task]
        [point] = task.points
        assert point.performance == round(performance, 1)
        assert (point.mflops, point.mparams) == pytest.approx((mflops, mparams), rel=1e-12)
        # The reference at the same MFLOPs is unchanged: only the performance moved.
        expected_scores[task.task] = round(score + point.performance - performance, 2)
        assert task.score == pytest.approx(expected_scores[task.task], abs=1e-9)
    assert set(expected_scores) == set(BEFORE)
    mean = sum(expected_scores.values()) / len(expected_scores)
    assert report.overall == pytest.approx(round(mean, 2), abs=1e-9)
    assert round(BEFORE_OVERALL, 1) == round(mean, 1)


def test_the_worker_stores_what_the_checker_computes(bundle, settings, tmp_path, data_root,
                                                     seeded, alice):
    settings.MEDIA_ROOT = tmp_path / "uploads"
    import_test_data(ELUE_DATA_DIR, [TASKS[slug] for slug in FIVE_TASKS])
    report = check(bundle, ELUE_DATA_DIR)
    submission = submit_bundle(alice, bundle, name="BERT-base")
    assert evaluate_submission.apply(args=[submission.pk]).get() == "scored"
    entry = Submission.objects.get(pk=submission.pk).entry
    for task in report.tasks:
        stored = entry.points.get(task__slug=task.task)
        expected = task.points[0]
        assert (stored.performance, stored.mflops, stored.mparams) == (
            expected.performance, expected.mflops, expected.mparams)
        score = TaskScore.objects.get(entry=entry, task__slug=task.task)
        assert score.score == task.score and score.reference_version == seeded
    scores = {s.task.slug: s.score for s in entry.scores.select_related("task")}
    assert overall_score(scores) == report.overall
