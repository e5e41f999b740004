"""Tasks (and their test inputs), the reference curve and the leaderboard."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from evaluator.benchmark import TASK_ORDER, TASKS
from leaderboard.models import Entry, ReferenceVersion, TaskScore
from leaderboard.published import PublishedPoint, create_published_entry
from tests.api.conftest import errors
from tests.conftest import ELUE_DATA_DIR
from tests.evaluator.builders import true_labels
from tests.reviews import approved

pytestmark = pytest.mark.django_db


def test_it_lists_the_six_tasks_with_their_data_status(anon, stored):
    tasks = anon.get("/api/v1/tasks/").json()["results"]
    assert [t["slug"] for t in tasks] == list(TASK_ORDER)
    by_slug = {t["slug"]: t for t in tasks}
    assert by_slug["sst-2"]["data"]["loaded"] and by_slug["sst-2"]["data"]["examples"] == len(
        true_labels("sst-2"))
    assert by_slug["sst-2"]["inputs_url"].endswith("/api/v1/tasks/sst-2/inputs/")
    assert by_slug["snli"]["data"] == {"loaded": False, "examples": None,
                                       "inputs_sha256": None, "imported_at": None}
    assert by_slug["sts-b"]["labels"] == [] and by_slug["mrpc"]["labels"] == ["0", "1"]


def test_it_shows_one_task(anon, stored):
    task = anon.get("/api/v1/tasks/mrpc/").json()
    assert (task["name"], task["metric"], task["test_size"]) == ("MRPC", "acc_and_f1",
                                                                 TASKS["mrpc"].test_size)
    assert anon.get("/api/v1/tasks/nope/").status_code == 404


def test_it_serves_the_test_inputs_but_never_the_labels(anon, stored):
    response = anon.get("/api/v1/tasks/mrpc/inputs/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/tab-separated-values")
    body = b"".join(response.streaming_content)
    assert body == (ELUE_DATA_DIR / "MRPC" / "test.tsv").read_bytes()
    assert body != (ELUE_DATA_DIR / "MRPC" / "test_full.tsv").read_bytes()


def test_it_says_when_a_task_has_no_inputs_on_the_server(anon, stored):
    response = anon.get("/api/v1/tasks/snli/inputs/")
    assert response.status_code == 404
    assert "SNLI are not loaded" in errors(response)[0]["message"]


def test_it_shows_the_current_reference_curve_and_its_history(anon, seeded):
    ReferenceVersion.objects.create(number=seeded.number + 1, note="re-measured")
    history = anon.get("/api/v1/reference/").json()["results"]
    assert [v["number"] for v in history] == [seeded.number + 1, seeded.number]
    old = anon.get(f"/api/v1/reference/{seeded.number}/").json()
    assert {p["task"] for p in old["points"]} >= {"sst-2", "mrpc"}
    assert all(p["mflops"] > 0 and 0 < p["performance"] <= 100 for p in old["points"])
    current = anon.get("/api/v1/reference/current/").json()
    assert current["number"] == seeded.number + 1 and current["points"] == []


def test_it_says_when_there_is_no_reference_curve(anon):
    response = anon.get("/api/v1/reference/current/")
    assert response.status_code == 404 and "no reference curve" in errors(response)[0]["message"]


def leaderboard(client, query: str = "") -> list[dict]:
    response = client.get(f"/api/v1/leaderboard/?page_size=200{query}")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_it_ranks_the_public_entries(anon, seeded, alice):
    approved(create_published_entry(alice, [PublishedPoint("sst-2", "", 10, 99)], name="Hidden",
                                    visibility=Entry.Visibility.PRIVATE))
    rows = leaderboard(anon)
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    assert len(rows) == Entry.objects.public().count() and "Hidden" not in {
        r["entry"]["name"] for r in rows}
    full = [r for r in rows if r["full_coverage"]]
    assert rows[:len(full)] == full
    overall = [r["overall"] for r in full if r["overall"] is not None]
    assert overall == sorted(overall, reverse=True)
    assert set(rows[0]["scores"]) == set(TASK_ORDER)


def test_it_filters_by_track_kind_and_task(anon, seeded, alice):
    approved(create_published_entry(alice, [PublishedPoint("mrpc", "", 50, 95, mparams=30)],
                                    name="Small"))
    small = leaderboard(anon, "&track=40")
    assert small and all(r["mparams"] is not None and r["mparams"] <= 40 for r in small)
    assert "Small" in {r["entry"]["name"] for r in small}
    assert {r["entry"]["kind"] for r in leaderboard(anon, "&kind=published")} == {"published"}
    mrpc = leaderboard(anon, "&task=mrpc")
    scores = [r["scores"]["mrpc"] for r in mrpc]
    assert None not in scores and scores == sorted(scores, reverse=True)
    assert len(mrpc) == TaskScore.objects.filter(task__slug="mrpc",
                                                 entry__visibility="public").count()


def test_it_refuses_unknown_filters_with_every_problem(anon, seeded):
    response = anon.get("/api/v1/leaderboard/?track=41&kind=magic&task=imdbx")
    assert response.status_code == 400
    assert {e["field"] for e in errors(response)} == {"track", "kind", "task"}


def test_it_gives_the_leaderboard_as_csv(anon, seeded):
    response = anon.get("/api/v1/leaderboard/?format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert len(rows) == Entry.objects.public().count()
    assert list(rows[0])[-6:] == list(TASK_ORDER) and rows[0]["rank"] == "1"
    assert rows[0]["name"] == leaderboard(anon)[0]["entry"]["name"]


def test_it_builds_the_leaderboard_in_a_constant_number_of_queries(anon, seeded, alice):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            leaderboard(anon)
        return len(queries)

    before = count()
    for i in range(5):
        approved(create_published_entry(alice, [PublishedPoint("sst-2", "", 100 + i, 80),
                                                PublishedPoint("mrpc", "", 100 + i, 80)],
                                        name=f"M{i}"))
    assert count() == before <= 4


def test_it_gives_a_csv_header_even_without_rows_and_errors_as_csv(anon, seeded):
    empty = anon.get("/api/v1/leaderboard/?format=csv&kind=model")
    assert empty.status_code == 200
    assert empty.content.decode().splitlines() == [",".join(
        ["rank", "entry_id", "name", "kind", "owner", "affiliation", "mparams", "overall",
         "coverage", *TASK_ORDER])]
    bad = anon.get("/api/v1/leaderboard/?format=csv&track=1")
    assert bad.status_code == 400
    header, row = bad.content.decode().splitlines()
    assert header == "code,message,file,line,field" and row.startswith("invalid_choice,")


def site_order(client, path: str) -> list[str]:
    html = client.get(path).content.decode()
    return re.findall(r'<tr class="entry[^"]*" data-entry="([^"]+)">', html)


@pytest.mark.parametrize("budget", ["max_mflops=30000&max_mparams=70", "max_mflops=1500",
                                    "max_mparams=50"])
def test_a_budget_ranks_the_board_as_the_site_does(anon, client, seeded, budget):
    rows = leaderboard(anon, f"&{budget}")
    assert [r["entry"]["name"] for r in rows] == site_order(client, f"/?{budget}")
    assert rows and all(r["budget"] is not None for r in rows)
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))


def test_a_budget_gives_each_entrys_best_point_within_it(anon, seeded):
    rows = {r["entry"]["name"]: r for r in leaderboard(anon, "&max_mflops=1500")}
    assert "TinyBERT-6L" not in rows
    bert = rows["BERT-BASE"]["budget"]
    assert bert["points"]["sst-2"] == {"point": "4L", "performance": 79.5, "mflops": 1413.36,
                                       "mparams": 52.78, "difference": pytest.approx(-6.2)}
    assert all(p["mflops"] <= 1500 for r in rows.values() for p in r["budget"]["points"].values())
    assert bert["coverage"] == len(bert["points"])
    assert leaderboard(anon)[0]["budget"] is None


def test_a_budget_on_one_task_ranks_as_the_task_page_does(anon, client, seeded):
    rows = leaderboard(anon, "&task=mrpc&max_mflops=3000")
    assert [r["entry"]["name"] for r in rows] == site_order(client, "/tasks/mrpc/?max_mflops=3000")
    performance = [r["budget"]["points"]["mrpc"]["performance"] for r in rows]
    assert performance == sorted(performance, reverse=True)
    assert all(set(r["budget"]["points"]) == {"mrpc"} for r in rows)


@pytest.mark.parametrize("query, field", [("max_mflops=%C2%B2", "max_mflops"),
                                          ("max_mparams=0", "max_mparams"),
                                          ("max_mflops=inf", "max_mflops"),
                                          ("max_mflops=1e3", "max_mflops")])
def test_it_refuses_an_unreadable_budget_with_a_clear_message(anon, seeded, query, field):
    response = anon.get(f"/api/v1/leaderboard/?{query}")
    assert response.status_code == 400
    [problem] = errors(response)
    assert problem["field"] == field and problem["code"] == "bad_value"
    assert "must be" in problem["message"]


def test_a_blank_budget_parameter_is_no_budget(anon, seeded):
    rows = leaderboard(anon, "&max_mflops=&max_mparams=")
    assert len(rows) == 16 and rows[0]["budget"] is None


def test_each_row_carries_the_scores_the_paper_printed(anon, seeded):
    rows = {r["entry"]["name"]: r for r in leaderboard(anon)}
    assert rows["BERT-BASE"]["published_scores"] == {
        "sst-2": -4.55, "imdb": -2.15, "snli": -1.50, "scitail": -3.35, "mrpc": -5.88,
        "sts-b": -4.75, "overall": -3.70}
    assert set(rows["HashEE"]["published_scores"].values()) == {None, 1.20}
    assert set(rows["CascadeBERT"]["published_scores"].values()) == {None}


def test_the_csv_within_a_budget_names_each_chosen_point(anon, seeded):
    response = anon.get("/api/v1/leaderboard/?format=csv&max_mflops=1500")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    bert = next(r for r in rows if r["name"] == "BERT-BASE")
    assert bert["sst-2_point"] == "4L" and bert["sst-2_performance"] == "79.5"
    assert [r["name"] for r in rows] == [r["entry"]["name"]
                                         for r in leaderboard(anon, "&max_mflops=1500")]
def test_csv_text_cells_never_start_a_formula_but_negative_scores_stay_numbers(anon, seeded,
                                                                              alice):
    approved(create_published_entry(
        alice, [PublishedPoint("sst-2", "", 5000, 50.0)],
        name='=HYPERLINK("http://evil.example","x")', affiliation="@SUM(1)"))
    approved(create_published_entry(alice, [PublishedPoint("sst-2", "", 5000, 50.5)],
                                    name="\tTabbed", affiliation="-2+3"))
    rows = list(csv.DictReader(io.StringIO(
        anon.get("/api/v1/leaderboard/?format=csv").content.decode())))
    by_name = {row["name"]: row for row in rows}
    evil = by_name["'=HYPERLINK(\"http://evil.example\",\"x\")"]
    assert evil["affiliation"] == "'@SUM(1)"
    assert by_name["'\tTabbed"]["affiliation"] == "'-2+3"
    assert float(evil["sst-2"]) < 0 and evil["sst-2"].startswith("-")  # a number, untouched
