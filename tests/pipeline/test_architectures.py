"""A DeBERTa-v3 model definition (its own SentencePiece tokenizer) on the five real tasks,
through the real pipeline: a Celery worker counts it and stores what the offline checker
reports for the same bundle."""

from __future__ import annotations

import json

import pytest

from evaluator.checker import check
from leaderboard.models import Entry, Submission
from leaderboard.submissions import submit_bundle
from tests.conftest import ELUE_DATA_DIR
from tests.evaluator.builders import PREDICTION_HEADER, tsv, write, zip_folder
from tests.evaluator.configs import DEBERTA_V3_XSMALL
from tests.evaluator.tokenizer_files import deberta_v3_tokenizer
from tests.pipeline.bundles import FIVE_TASKS, imperfect
from tests.stack import describe, finished

pytestmark = [pytest.mark.slow,
              pytest.mark.django_db(transaction=True)]


def deberta_bundle(target):
    folder = target.with_suffix("")
    write(folder, "model/config.json", json.dumps(DEBERTA_V3_XSMALL))
    deberta_v3_tokenizer(folder / "model")
    for slug in FIVE_TASKS:
        write(folder, f"{slug}.tsv", tsv(PREDICTION_HEADER, imperfect(slug)))
    return zip_folder(folder, target)


def test_a_worker_counts_a_deberta_v3_definition_as_the_checker_does(redis_stack, workers,
                                                                       alice, tmp_path):
    bundle = deberta_bundle(tmp_path / "deberta-v3-xsmall.zip")
    workers.start()
    submission = finished(submit_bundle(alice, bundle, name="DeBERTa-v3-xsmall"), 600,
                          workers)
    assert submission.status == Submission.Status.SCORED, describe(submission)
    entry = submission.entry
    assert entry.kind == Entry.Kind.VERIFIED
    expected = check(bundle, ELUE_DATA_DIR)
    stored = {p.task.slug: p for p in entry.points.select_related("task")}
    assert sorted(stored) == sorted(FIVE_TASKS)
    for task in expected.tasks:
        point, = task.points
        got = stored[task.task]
        assert (got.mflops, got.mparams, got.mflops_basis) == (point.mflops, point.mparams,
                                                               "counted")
        assert got.performance == pytest.approx(point.performance, abs=1e-9)
