"""Entries: reading, published entries from JSON points, visibility and deletion."""

from __future__ import annotations

import pytest

from leaderboard.models import Basis, Entry
from leaderboard.published import PublishedPoint, create_published_entry
from tests.api.conftest import errors
from tests.reviews import approved

pytestmark = pytest.mark.django_db

POINTS = [
    {"task": "sst-2", "name": "fast", "mflops": 150.0, "performance": 84.0, "mparams": 40.0,
     "mflops_basis": "computed", "source": "Table 2"},
    {"task": "sst-2", "name": "slow", "mflops": 900.0, "performance": 92.5},
    {"task": "mrpc", "mflops": 400.0, "performance": 86.0},
]


def published(client, **fields):
    return client.post("/api/v1/entries/", {"name": "Tiny", "points": POINTS, **fields},
                       format="json")


def private_entry(owner) -> Entry:
    """Approved by staff, so that only its visibility hides it."""
    return approved(create_published_entry(owner, [PublishedPoint("sst-2", "", 10, 99)],
                                           name="Secret", visibility=Entry.Visibility.PRIVATE))


def test_it_creates_and_scores_a_published_entry(as_alice, seeded):
    response = published(as_alice, affiliation="Lab", paper_url="https://example.org/p")
    assert response.status_code == 201, response.content
    entry = response.json()
    assert (entry["kind"], entry["owner"], entry["is_dynamic"]) == ("published", "alice", True)
    assert [(p["task"], p["name"]) for p in entry["points"]] == [
        ("sst-2", "fast"), ("sst-2", "slow"), ("mrpc", "static")]
    assert {s["task"] for s in entry["scores"]} == {"sst-2", "mrpc"}
    assert entry["overall"] is not None and entry["points"][0]["mflops_basis"] == "computed"
    assert {p["task"] for p in entry["pareto"]} == {"sst-2", "mrpc"}


def test_it_lists_every_problem_with_its_field_path(as_alice, seeded):
    points = [{"task": "sst-9", "mflops": -1, "performance": 130, "mflops_basis": "guess"},
              {"task": "mrpc", "mflops": 5, "performance": 50}]
    response = published(as_alice, points=points)
    assert response.status_code == 400
    fields = {e["field"]: e for e in errors(response)}
    assert set(fields) == {"points[0].task", "points[0].mflops", "points[0].performance",
                           "points[0].mflops_basis"}
    assert "point 1: mflops must be a positive number, got -1" in fields[
        "points[0].mflops"]["message"]
    assert not Entry.objects.filter(name="Tiny").exists()


def test_it_reports_type_errors_with_their_field_path(as_alice, seeded):
    response = as_alice.post("/api/v1/entries/", {"points": [{"task": "mrpc",
                                                              "mflops": "lots"}]}, format="json")
    assert response.status_code == 400
    by_field = {e["field"]: e for e in errors(response)}
    assert set(by_field) == {"name", "points[0].mflops", "points[0].performance"}
    assert by_field["points[0].mflops"]["code"] == "invalid"
    assert by_field["name"]["message"] == "name: This field is required."


def test_it_shows_points_with_their_cost_spread_and_pareto_status(anon, seeded, alice):
    entry = approved(create_published_entry(alice, [PublishedPoint("sst-2", "", 1.0, 99.9)],
                                            name="Best"))
    detail = anon.get(f"/api/v1/entries/{entry.pk}/").json()
    [point] = detail["points"]
    assert point["on_front"] and point["dominated_by"] == []
    assert {"median_mflops", "p95_mflops", "exit_histogram", "rerun_examples",
            "rerun_prediction_agreement", "rerun_exit_agreement"} <= set(point)
    weak = Entry.objects.public().exclude(pk=entry.pk).filter(points__task__slug="sst-2").first()
    weak_detail = anon.get(f"/api/v1/entries/{weak.pk}/").json()
    sst2 = next(p for p in weak_detail["pareto"] if p["task"] == "sst-2")
    assert {"id": entry.pk, "name": "Best"} in sst2["dominated_by"] and not sst2["on_front"]


def test_it_says_when_a_cost_was_counted_from_code_it_never_ran(anon, seeded, alice):
    entry = approved(create_published_entry(alice, [PublishedPoint("sst-2", "", 1.0, 80.0)],
                                            name="Code"))
    entry.points.update(mflops_basis=Basis.CODE)
    [point] = anon.get(f"/api/v1/entries/{entry.pk}/").json()["points"]
    assert point["mflops_basis"] == "code"


def test_it_hides_private_entries_from_everyone_but_the_owner_and_staff(
        anon, as_alice, as_bob, as_staff, alice, seeded):
    entry = private_entry(alice)
    for client, seen in ((anon, False), (as_bob, False), (as_alice, True), (as_staff, True)):
        detail = client.get(f"/api/v1/entries/{entry.pk}/")
        assert detail.status_code == (200 if seen else 404)
        names = {e["name"] for e in client.get("/api/v1/entries/?page_size=200").json()[
            "results"]}
        assert ("Secret" in names) is seen
    assert as_bob.delete(f"/api/v1/entries/{entry.pk}/").status_code == 404


def test_it_filters_entries_by_kind(anon, seeded):
    kinds = {e["kind"] for e in anon.get("/api/v1/entries/?kind=published").json()["results"]}
    assert kinds == {"published"}
    response = anon.get("/api/v1/entries/?kind=magic")
    assert response.status_code == 400 and errors(response)[0]["field"] == "kind"


def test_it_lets_the_owner_change_visibility(as_alice, as_bob, alice, seeded):
    entry = private_entry(alice)
    response = as_alice.patch(f"/api/v1/entries/{entry.pk}/", {"visibility": "public"},
                              format="json")
    assert response.status_code == 200 and response.json()["visibility"] == "public"
    refused = as_bob.patch(f"/api/v1/entries/{entry.pk}/", {"visibility": "private"},
                           format="json")
    assert refused.status_code == 403
    assert "only the owner" in errors(refused)[0]["message"]
    bad = as_alice.patch(f"/api/v1/entries/{entry.pk}/", {"visibility": "secret"},
                         format="json")
    assert bad.status_code == 400 and errors(bad)[0]["field"] == "visibility"


def test_it_lets_the_owner_delete_but_not_others(as_alice, as_bob, alice, seeded):
    entry = approved(create_published_entry(alice, [PublishedPoint("sst-2", "", 10, 70)],
                                            name="Gone"))
    assert as_bob.delete(f"/api/v1/entries/{entry.pk}/").status_code == 403
    assert as_alice.delete(f"/api/v1/entries/{entry.pk}/").status_code == 204
    assert not Entry.objects.filter(pk=entry.pk).exists()


def test_it_keeps_seeded_entries_for_staff_to_delete(as_alice, as_staff, seeded):
    seeded_entry = Entry.objects.filter(owner=None).first()
    assert as_alice.delete(f"/api/v1/entries/{seeded_entry.pk}/").status_code == 403
    assert as_staff.delete(f"/api/v1/entries/{seeded_entry.pk}/").status_code == 204


def test_it_creates_a_published_entry_once_per_idempotency_key(as_alice, seeded):
    first = as_alice.post("/api/v1/entries/", {"name": "Once", "points": POINTS}, format="json",
                          HTTP_IDEMPOTENCY_KEY="k-1")
    again = as_alice.post("/api/v1/entries/", {"name": "Once", "points": POINTS}, format="json",
                          HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"] and again["Idempotent-Replayed"] == "true"
    assert Entry.objects.filter(name="Once").count() == 1


def test_a_new_published_entry_waits_for_review(as_alice, anon, seeded):
    entry = published(as_alice).json()
    assert entry["review"] == "pending" and entry["review_reason"] == ""
    assert anon.get(f"/api/v1/entries/{entry['id']}/").status_code == 404
    assert "Tiny" not in {e["name"] for e in anon.get(
        "/api/v1/entries/?page_size=200").json()["results"]}


def test_it_refuses_too_many_points_with_one_error(as_alice, seeded):
    flood = [{"task": "sst-2", "name": f"p{i}", "mflops": 1.0 + i, "performance": 80.0}
             for i in range(20_000)]
    response = published(as_alice, points=flood)
    assert response.status_code == 400
    [problem] = errors(response)
    assert (problem["code"], problem["field"]) == ("too_many_points", "points")
    assert "at most 72 points; this one has 20000" in problem["message"]
    per_task = published(as_alice, points=flood[:25])
    assert per_task.status_code == 400
    assert [e["code"] for e in errors(per_task)] == ["too_many_task_points"]
    assert not Entry.objects.filter(name="Tiny").exists()


def test_it_answers_429_over_the_daily_limit_of_published_entries(as_alice, seeded, settings):
    settings.ELUE_DAILY_PUBLISHED = 1
    assert published(as_alice).status_code == 201
    refused = published(as_alice, name="Again")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 86_000
    [problem] = errors(refused)
    assert problem["code"] == "quota_exceeded"
    assert problem["message"].startswith("daily limit of 1 published entries reached")
def test_it_gives_the_printed_score_beside_each_recomputed_one(anon, seeded):
    bert = Entry.objects.get(name="BERT-BASE")
    body = anon.get(f"/api/v1/entries/{bert.pk}/").json()
    scores = {s["task"]: s for s in body["scores"]}
    assert scores["mrpc"]["published_score"] == -5.88
    assert round(scores["mrpc"]["score"], 2) == -5.53
    paper = {p["task"]: p for p in body["published_scores"]}
    assert list(paper) == ["sst-2", "imdb", "snli", "scitail", "mrpc", "sts-b", "overall"]
    assert paper["overall"]["published_score"] == -3.70
    assert round(paper["overall"]["recomputed"], 2) == -3.67 and paper["overall"]["differs"]
    assert paper["sst-2"] | {"recomputed": None} == {
        "task": "sst-2", "published_score": -4.55, "recomputed": None, "differs": False,
        "reasons": [], "source": "ELUE talk slides, Oct 2021, ELUE-score table (2 decimals)"}
    assert any("4L point on SST-2" in r for r in paper["mrpc"]["reasons"])


def test_an_entry_without_printed_scores_has_none(anon, seeded, alice):
    entry = approved(create_published_entry(
        alice, [PublishedPoint("sst-2", "6L", 1000.0, 90.0)], name="Alice-Net"))
    body = anon.get(f"/api/v1/entries/{entry.pk}/").json()
    assert body["published_scores"] == [] and body["scores"][0]["published_score"] is None
