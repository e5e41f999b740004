"""The ``elue`` client end to end: a real bundle through a live server and a real worker,
and the messages for what goes wrong (tokens, bundles, server)."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from leaderboard.models import ApiToken, Entry, Submission
from leaderboard.tokens import create_token
from tests.cli.conftest import Elue
from tests.conftest import ELUE_DATA_DIR
from tests.evaluator.builders import PREDICTION_HEADER, true_labels, tsv, write
from tests.pipeline.bundles import FIVE_TASKS, declared_bundle, malformed_bundle

# Live servers need transactional tests; keep the migrations' task rows for the next test.
pytestmark = [pytest.mark.slow,
              pytest.mark.django_db(transaction=True)]


def test_it_submits_a_real_bundle_and_waits_for_its_scores(live_stack, alice, alice_token,
                                                           tmp_path):
    elue = Elue(live_stack.url, alice_token, tmp_path)
    bundle = declared_bundle(tmp_path / "six-layers.zip", FIVE_TASKS, seed=3)
    run = elue("submit", str(bundle), "--name", "CLI six layers", "--affiliation", "Lab",
               "--wait", "--interval", "0.3")
    assert run.returncode == 0, run.stdout + run.stderr
    submission = Submission.objects.get()
    assert submission.status == Submission.Status.SCORED
    assert f"Submitted: submission {submission.pk} (CLI six layers), queued" in run.stdout
    for status in ("received", "validating", "queued", "running", "scored"):
        assert re.search(rf"^\s+\S*\s+{status}\s", run.stdout, re.M), (status, run.stdout)
    scores = {s.task.slug: s.score for s in submission.entry.scores.all()}
    assert set(scores) == set(FIVE_TASKS)
    for slug, score in scores.items():
        shown = re.escape(f"{score:+.2f}")  # "+" is a regex operator
        assert re.search(rf"^  {re.escape(slug)}\s+ELUE score\s+{shown}\s", run.stdout,
                         re.M), (slug, run.stdout)
    assert "Overall ELUE score: " in run.stdout and "(5 of 6 tasks scored)" in run.stdout

    status = elue("status", str(submission.pk))
    assert status.returncode == 0 and f"{submission.pk} (CLI six layers" in status.stdout
    assert "scored" in status.stdout and "ELUE score" in status.stdout

    csv_run = elue("leaderboard", "--csv")
    assert csv_run.returncode == 0
    header, *rows = csv_run.stdout.splitlines()
    assert header.startswith("rank,entry_id,name,kind")
    assert any(",CLI six layers,declared,alice," in row for row in rows)
    assert len(rows) == Entry.objects.public().count()
    table = elue("leaderboard", "--task", "sst-2")
    assert table.returncode == 0 and "CLI six layers" in table.stdout


def test_it_waits_for_a_failed_evaluation_and_prints_why(live_stack, alice_token, tmp_path):
    folder = tmp_path / "constant"
    write(folder, "sts-b.tsv", tsv(PREDICTION_HEADER, ["2.5"] * len(true_labels("sts-b"))))
    write(folder, "costs.json", json.dumps({"sts-b": {"mflops": 2358.04, "mparams": 66.96}}))
    run = Elue(live_stack.url, alice_token, tmp_path)("submit", str(folder), "--name",
                                                      "Constant", "--wait", "--interval", "0.3")
    assert run.returncode == 1, run.stdout + run.stderr
    submission = Submission.objects.get()
    assert submission.status == Submission.Status.FAILED
    assert f"submission {submission.pk} (Constant) failed: sts-b.tsv: all" in run.stdout
    assert "are the same value" in run.stdout


def test_it_prints_every_problem_of_an_invalid_bundle(live_stack, alice_token, tmp_path):
    elue = Elue(live_stack.url, alice_token, tmp_path)
    run = elue("submit", str(malformed_bundle(tmp_path / "bad.zip")), "--name", "Bad")
    assert run.returncode == 1, run.stdout + run.stderr
    assert "the server refused the request (400)" in run.stderr
    assert re.search(r"mrpc\.tsv line 3: .*\"yes\"", run.stderr), run.stderr
    assert "mrpc.tsv line 6:" in run.stderr and "snli.tsv" in run.stderr
    assert not Submission.objects.exists()


def test_it_retries_a_lost_response_without_submitting_twice(live_stack, alice_token,
                                                             tmp_path, monkeypatch):
    """The first upload reaches the server but its answer is lost: the retry, with the same
    Idempotency-Key, gets the same submission back."""
    import requests

    from elue_cli.client import Client

    client = Client(live_stack.url, alice_token)
    real, calls = client.session.request, []

    def lose_first_answer(*args, **kwargs):
        response = real(*args, **kwargs)
        calls.append(response.status_code)
        if len(calls) == 1:
            raise requests.ConnectionError("connection reset")
        return response

    monkeypatch.setattr(client.session, "request", lose_first_answer)
    monkeypatch.setattr("elue_cli.client.time.sleep", lambda seconds: None)
    bundle = declared_bundle(tmp_path / "b.zip", ("sst-2", "mrpc"))
    submission = client.submit(bundle, {"name": "Retried"})
    assert calls == [201, 201]
    assert Submission.objects.get().pk == submission["id"]


def test_it_says_when_the_quota_resets(redis_stack, live_server, alice_token, tmp_path,
                                       settings):
    settings.ELUE_DAILY_SUBMISSIONS = 1
    elue, bundle = Elue(live_server.url, alice_token, tmp_path), declared_bundle(
        tmp_path / "b.zip", ("mrpc",))
    assert elue("submit", str(bundle), "--name", "First").returncode == 0
    run = elue("submit", str(bundle), "--name", "Over")
    assert run.returncode == 1
    assert "the server refused the request (429)" in run.stderr
    assert "daily limit of 1 submissions reached" in run.stderr
    assert re.search(r"Try again after \d{4}-\d{2}-\d{2}T", run.stderr), run.stderr


def test_it_says_clearly_when_the_token_is_wrong_or_expired(live_server, alice, tmp_path):
    wrong = Elue(live_server.url, "elue_0000_not-a-real-secret", tmp_path)("status", "1")
    assert wrong.returncode == 3
    assert "authentication failed: unknown or revoked API token" in wrong.stderr
    assert "/accounts/tokens/" in wrong.stderr
    new = create_token(alice, "laptop", expires_in_days=30)
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(days=1))
    expired = Elue(live_server.url, new.plaintext, tmp_path)("status", "1")
    assert expired.returncode == 3
    assert re.search(r"API token 'laptop' expired on \d{4}-\d{2}-\d{2}", expired.stderr)
    missing = Elue(live_server.url, None, tmp_path)("submit", "x.zip", "--name", "X")
    assert missing.returncode == 3 and "no API token" in missing.stderr


def test_it_reads_the_token_from_the_config_file(live_server, alice, alice_token, tmp_path):
    elue = Elue("", None, tmp_path)
    (tmp_path / "config.toml").write_text(f'url = "{live_server.url}"\n'
                                          f'token = "{alice_token}"\n')
    run = elue("status", "999", ELUE_URL="")
    assert run.returncode == 1 and "(404)" in run.stderr  # authenticated: a 404, not a 401


def test_it_says_when_the_server_cannot_be_reached(tmp_path):
    run = Elue("http://127.0.0.1:9", "elue_a_b", tmp_path)("status", "1")
    assert run.returncode == 4 and "cannot reach the ELUE server at http://127.0.0.1:9" in (
        run.stderr)


def test_it_checks_a_bundle_offline(tmp_path):
    bundle = declared_bundle(tmp_path / "b.zip", ("sst-2", "mrpc"))
    run = Elue("", None, tmp_path)("check", str(bundle), "--data", str(ELUE_DATA_DIR))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "SST-2 (" in run.stdout and "MRPC (" in run.stdout
    assert "Overall ELUE score:" in run.stdout and "(2 of 6 tasks scored)" in run.stdout
    bad = Elue("", None, tmp_path)("check", str(malformed_bundle(tmp_path / "bad.zip")),
                                   "--data", str(ELUE_DATA_DIR))
    assert bad.returncode == 1 and "mrpc.tsv line 3" in bad.stdout


def test_it_ranks_the_leaderboard_within_a_budget(live_stack, alice_token, tmp_path):
    elue = Elue(live_stack.url, alice_token, tmp_path)
    run = elue("leaderboard", "--max-mflops", "1500")
    assert run.returncode == 0, run.stdout + run.stderr
    header, *rows = run.stdout.splitlines()
    assert header.split()[:7] == ["#", "name", "kind", "MParams", "perf", "vs", "ref"]
    names = [row[5:33].strip() for row in rows]
    assert "BERT-BASE" in names and "TinyBERT-6L" not in names  # its 6L costs 2,119 MFLOPs
    bad = elue("leaderboard", "--max-mflops", "²")
    assert bad.returncode == 1 and "max_mflops" in bad.stderr, bad.stdout + bad.stderr
