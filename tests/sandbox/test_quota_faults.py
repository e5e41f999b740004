"""Failures after submitted code ran are the submitter's (issue "Benchmark integrity",
finding 3): a model whose code spoils its result file, or that runs until the evaluation's
sandbox time is used up, fails counted against the daily quota, with its reason. The worker's
task runs in-process on the real sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluator.running.sandbox import sandbox_available
from leaderboard.models import Submission
from leaderboard.submissions import submit_bundle
from leaderboard.tasks import evaluate_submission
from tests.evaluator.builders import PREDICTION_HEADER, true_labels, tsv
from tests.evaluator.custom_models import COST_EFF, MODEL_CODE, multi_exit_model

pytestmark = [pytest.mark.slow, pytest.mark.django_db]
Status = Submission.Status


@pytest.fixture(autouse=True)
def sandbox_host():
    available, why = sandbox_available()
    if not available:
        pytest.fail(f"these tests need a host that can sandbox code: {why} (docs/sandbox.md)")


def code_bundle(root: Path, prelude: str) -> Path:
    """Kind 3: MRPC predictions and a COST-EFF-style model.py (no weights) whose
    ``prelude`` runs when the sandbox imports it."""
    honest = MODEL_CODE.format(hidden=COST_EFF.hidden, head_dim=COST_EFF.head_dim,
                               vocab=COST_EFF.vocab, positions=COST_EFF.positions,
                               heads=COST_EFF.heads, ffn=COST_EFF.ffn)
    multi_exit_model(root / "model", COST_EFF, prelude + honest)
    (root / "mrpc.tsv").write_text(tsv(PREDICTION_HEADER, list(true_labels("mrpc"))))
    return root


SPOIL = '''
import atexit

def _spoil():
    open("result.json", "wb").write(b"[" * 200000)

atexit.register(_spoil)
'''

LOOP = "while True:\n    pass\n"


@pytest.mark.parametrize("prelude, budget, reason", [
    (SPOIL, 600, "capturing model.py gave no usable result"),
    (LOOP, 8, "the model used up the sandbox time of one submission (8 s in all"),
])
def test_a_model_that_spoils_its_results_or_its_time_fails_against_the_quota(
        alice, stored, tmp_path, enqueued, settings, prelude, budget, reason):
    settings.ELUE_SANDBOX_BUDGET_SECONDS = budget
    submission = submit_bundle(alice, code_bundle(tmp_path / "b", prelude), name="Mallory")
    assert evaluate_submission.apply(args=[submission.pk]).get() == "failed"
    submission.refresh_from_db()
    assert submission.status == Status.FAILED, submission.failure_reason
    assert reason in submission.failure_reason
    assert not submission.platform_fault
    assert submission in Submission.objects.counted_for_quota(alice, submission.created_at)
