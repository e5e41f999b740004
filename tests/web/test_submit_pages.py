"""Submitting through the site: bundles (zip or files), the live check, published rows."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from evaluator.benchmark import TASKS
from leaderboard.models import Entry, Submission
from leaderboard.testdata import import_test_data
from tests.conftest import ELUE_DATA_DIR
from tests.evaluator.builders import with_bad_header_offset, zip_of_empty_entries
from tests.pipeline.bundles import declared_bundle, malformed_bundle

pytestmark = pytest.mark.django_db
META = {"name": "Tiny", "visibility": "public", "paper_url": "", "code_url": ""}


@pytest.fixture
def server(settings, tmp_path, seeded):
    """Test data for SST-2, MRPC and SNLI on the server; uploads in a private folder."""
    settings.MEDIA_ROOT = tmp_path / "uploads"
    settings.ELUE_DATA_ROOT = tmp_path / "hidden"
    import_test_data(ELUE_DATA_DIR, [TASKS["sst-2"], TASKS["mrpc"], TASKS["snli"]])
    return settings.MEDIA_ROOT


def upload(path) -> SimpleUploadedFile:
    return SimpleUploadedFile(path.name, path.read_bytes())


def stored_files(server) -> list:
    return [p for p in server.rglob("*") if p.is_file()] if server.exists() else []


def test_it_queues_a_zip_and_goes_to_my_submissions(alice_client, server, tmp_path, enqueued,
                                                    django_capture_on_commit_callbacks):
    bundle = declared_bundle(tmp_path / "b.zip", tasks=("sst-2",))
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post("/submit/", {**META, "files": [upload(bundle)]})
    assert response.status_code == 302 and response["Location"] == "/me/submissions/"
    submission = Submission.objects.get()
    assert enqueued == [submission.pk] and submission.kind == Entry.Kind.DECLARED


def test_it_accepts_the_files_themselves(alice_client, server, tmp_path, enqueued):
    declared_bundle(tmp_path / "b.zip", tasks=("sst-2",))
    files = [upload(tmp_path / "b" / "sst-2.tsv"), upload(tmp_path / "b" / "costs.json")]
    response = alice_client.post("/submit/", {**META, "files": files})
    assert response.status_code == 302 and Submission.objects.count() == 1


def test_it_shows_every_problem_under_its_file(alice_client, server, tmp_path, enqueued):
    response = alice_client.post("/submit/", {**META, "files": [
        upload(malformed_bundle(tmp_path / "bad.zip"))]})
    html = response.content.decode()
    assert response.status_code == 400 and not Submission.objects.exists()
    mrpc = html[html.index('data-file="mrpc.tsv"'):]
    mrpc = mrpc[:mrpc.index("</div>")]
    assert "line 3:" in mrpc and "yes" in mrpc and "line 6:" in mrpc
    assert 'data-file="snli.tsv"' in html and "9,824" in html
    assert stored_files(server) == []


def test_it_refuses_odd_file_names(alice_client, server, tmp_path):
    files = [SimpleUploadedFile("my predictions.tsv", b"index\tprediction\n"),
             SimpleUploadedFile("b.zip", b"PK")]
    html = alice_client.post("/submit/", {**META, "files": files}).content.decode()
    assert "&#x27;my predictions.tsv&#x27; is not allowed" in html
    assert "not b.zip with other files" in html


def test_it_needs_files_and_a_name(alice_client, server):
    response = alice_client.post("/submit/", {"visibility": "public"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "choose a zip file" not in html  # files are checked once the form is valid
    assert re.search(r'id="id_name".*?This field is required', html, re.S)


def test_it_shows_when_the_quota_resets(alice_client, server, tmp_path, settings, enqueued):
    settings.ELUE_DAILY_SUBMISSIONS = 1
    bundle = declared_bundle(tmp_path / "b.zip", tasks=("sst-2",))
    alice_client.post("/submit/", {**META, "files": [upload(bundle)]})
    html = alice_client.post("/submit/", {**META, "files": [upload(bundle)]}).content.decode()
    assert "You have used your 1 submissions" in html and "the next one is possible at" in html


def test_the_live_check_reports_problems_as_json_and_stores_nothing(alice_client, server,
                                                                    tmp_path):
    bad = malformed_bundle(tmp_path / "bad.zip")
    body = alice_client.post("/submit/check/", {"files": [upload(bad)]}).json()
    assert body["ok"] is False
    assert {"file": "mrpc.tsv", "line": 3} in [
        {"file": p["file"], "line": p["line"]} for p in body["problems"]]
    good = declared_bundle(tmp_path / "good.zip", tasks=("sst-2", "mrpc"))
    body = alice_client.post("/submit/check/", {"files": [upload(good)]}).json()
    assert body == {"ok": True, "problems": [], "summary": {
        "tasks": ["SST-2", "MRPC"], "points": 2, "cost": "declared in costs.json",
        "ignored": []}}
    assert stored_files(server) == [] and not Submission.objects.exists()


def test_the_live_check_calls_a_crafted_header_offset_a_corrupt_archive(alice_client, server,
                                                                        tmp_path):
    bundle = with_bad_header_offset(declared_bundle(tmp_path / "b.zip", tasks=("sst-2",)))
    response = alice_client.post("/submit/check/", {"files": [upload(bundle)]})
    assert response.status_code == 200
    assert [p["code"] for p in response.json()["problems"]] == ["archive_corrupt"]
    many = zip_of_empty_entries(tmp_path / "many.zip", 5000)
    body = alice_client.post("/submit/check/", {"files": [upload(many)]}).json()
    assert [p["code"] for p in body["problems"]] == ["archive_too_many_members"]


def test_an_oversized_upload_is_refused_from_its_length_before_the_body_is_read(alice, server,
                                                                                tmp_path):
    # With CSRF enforced, a middleware that read the form for its token would read the whole
    # body (and the test payload would run out at once): the refusal must come first.
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    bundle = upload(declared_bundle(tmp_path / "b.zip", tasks=("sst-2",)))
    declared = str(600 * 1024 * 1024)
    page = client.post("/submit/", {**META, "files": [bundle]}, CONTENT_LENGTH=declared)
    assert page.status_code == 413
    assert "the upload is 600.0 MiB; this server accepts at most 512 MiB" in (
        page.content.decode())
    check = client.post("/submit/check/", {"files": [bundle]}, CONTENT_LENGTH=declared)
    assert check.status_code == 413
    assert [p["code"] for p in check.json()["problems"]] == ["upload_too_large"]
    assert not Submission.objects.exists()


def test_the_live_check_is_throttled_per_user(alice_client, server, tmp_path, settings):
    cache.clear()
    settings.ELUE_LIVE_CHECK_RATE = "2/minute"
    bundle = declared_bundle(tmp_path / "b.zip", tasks=("sst-2",))
    for _ in range(2):
        assert alice_client.post("/submit/check/", {"files": [upload(bundle)]}).json()["ok"]
    refused = alice_client.post("/submit/check/", {"files": [upload(bundle)]})
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert [p["code"] for p in refused.json()["problems"]] == ["throttled"]
    cache.clear()


def test_submitting_needs_an_account(client, server):
    assert client.get("/submit/")["Location"].startswith("/accounts/login/")
    assert client.post("/submit/check/").status_code == 302


ROW = {"task": "sst-2", "name": "6L", "mflops": "2000", "performance": "88.1",
       "mparams": "67", "mflops_basis": "declared", "source": "Table 2"}


def published(rows: list[dict]) -> dict:
    data = {"entry-name": "PaperNet", "entry-visibility": "public",
            "points-TOTAL_FORMS": str(len(rows)), "points-INITIAL_FORMS": "0"}
    for i, row in enumerate(rows):
        data |= {f"points-{i}-{k}": v for k, v in row.items()}
    return data


def test_it_creates_and_scores_a_published_entry(alice_client, seeded):
    blank = dict.fromkeys(ROW, "") | {"mflops_basis": "declared"}
    response = alice_client.post("/submit/published/", published([ROW, blank,
                                                                  ROW | {"task": "mrpc"}]))
    entry = Entry.objects.get(name="PaperNet")
    assert response["Location"] == f"/entries/{entry.pk}/"
    assert entry.kind == Entry.Kind.PUBLISHED and entry.scores.count() == 2


def test_it_puts_a_bad_row_error_next_to_that_row(alice_client, seeded):
    rows = [ROW, ROW | {"task": "mrpc", "performance": "130"}]
    html = alice_client.post("/submit/published/", published(rows)).content.decode()
    second = html[html.index('data-row="1"'):]
    second = second[:second.index("</tr>")]
    cell = second[second.index('data-field="performance"'):]
    assert "performance must be between 0 and 100" in cell[:cell.index("</td>")]
    first = html[html.index('data-row="0"'):]
    assert "must be between" not in first[:first.index("</tr>")]
    assert not Entry.objects.filter(name="PaperNet").exists()


def test_it_puts_a_duplicate_row_error_on_its_name(alice_client, seeded):
    html = alice_client.post("/submit/published/", published([ROW, ROW])).content.decode()
    second = html[html.index('data-row="1"'):]
    assert "appears twice" in second[:second.index("</tr>")]
