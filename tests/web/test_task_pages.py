"""Task pages: the chart's data, the table, and the test-input download (never labels)."""

from __future__ import annotations

import json
import re

import pytest

from evaluator.benchmark import TASKS
from leaderboard.charts import FRONT_IN_BUDGET_NAME, FRONT_NAME, REFERENCE_NAME
from leaderboard.models import Entry
from leaderboard.testdata import import_test_data
from tests.conftest import ELUE_DATA_DIR

pytestmark = pytest.mark.django_db


def figures(html: str) -> dict:
    found = re.search(r'<script id="task-figures" type="application/json">(.*?)</script>',
                      html, re.S)
    return json.loads(found[1])


def test_it_draws_the_reference_every_entry_and_the_front(client, seeded):
    html = client.get("/tasks/sst-2/").content.decode()
    figure = figures(html)["mflops"]
    traces = {t["name"]: t for t in figure["data"]}
    assert traces[REFERENCE_NAME]["x"] == sorted(traces[REFERENCE_NAME]["x"])
    assert "HashEE" in traces and "TinyBERT-6L" in traces
    assert figure["layout"]["xaxis"]["type"] == "log"
    front = traces[FRONT_NAME]
    assert front["x"] == sorted(front["x"]) and front["y"] == sorted(front["y"])
    # every front point is one of the entries' points
    entry_points = {(x, y) for t in figure["data"][2:] for x, y in zip(t["x"], t["y"], strict=True)}
    assert set(zip(front["x"], front["y"], strict=True)) <= entry_points


def test_it_offers_a_parameter_view_without_the_reference(client, seeded):
    mparams = figures(client.get("/tasks/sst-2/").content.decode())["mparams"]
    names = [t["name"] for t in mparams["data"]]
    assert REFERENCE_NAME not in names and FRONT_NAME in names
    assert mparams["layout"]["xaxis"]["title"]["text"].startswith("MParams")


def test_it_leaves_private_entries_out(client, seeded):
    Entry.objects.filter(name="HashEE").update(visibility=Entry.Visibility.PRIVATE)
    html = client.get("/tasks/sst-2/").content.decode()
    assert "HashEE" not in [t["name"] for t in figures(html)["mflops"]["data"]]
    assert 'data-entry="HashEE"' not in html


def test_it_lists_entries_by_score_on_the_task(client, seeded):
    html = client.get("/tasks/mrpc/").content.decode()
    scores = [float(s) for s in re.findall(r'<td class="num score">([-\d.]+)</td>', html)]
    assert scores == sorted(scores, reverse=True) and len(scores) >= 10


def test_it_downloads_the_inputs_and_never_the_labels(client, seeded, settings, tmp_path):
    settings.ELUE_DATA_ROOT = tmp_path / "hidden"
    import_test_data(ELUE_DATA_DIR, [TASKS["mrpc"]])
    response = client.get("/tasks/mrpc/test-inputs.tsv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = body.splitlines()
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert lines[0].split("\t") == ["index", "#1 ID", "#2 ID", "#1 String", "#2 String"]
    assert len(lines) == 1 + 1725
    labels = (ELUE_DATA_DIR / "MRPC" / "test_full.tsv").read_text("utf-8-sig").splitlines()
    assert labels[1] not in body and "label" not in lines[0].lower()
    assert 'href="/tasks/mrpc/test-inputs.tsv"' in client.get("/tasks/mrpc/").content.decode()


def test_it_says_when_inputs_are_not_loaded(client, seeded, settings, tmp_path):
    settings.ELUE_DATA_ROOT = tmp_path / "empty"
    assert client.get("/tasks/sst-2/test-inputs.tsv").status_code == 404
    assert "not loaded on this server" in client.get("/tasks/sst-2/").content.decode()


def test_it_404s_for_an_unknown_task(client, seeded):
    assert client.get("/tasks/cola/").status_code == 404


def test_it_serves_plotly_itself_with_long_caching(client, db):
    import plotly

    response = client.get(f"/vendor/plotly-{plotly.__version__}.min.js")
    head = next(iter(response.streaming_content))
    assert response.status_code == 200 and b"plotly" in head.lower()
    assert "max-age=31536000" in response["Cache-Control"]
    assert client.get("/vendor/plotly-0.0.1.min.js").status_code == 404


def test_the_chart_groups_the_legend_by_kind_with_readable_ticks(client, seeded):
    figure = figures(client.get("/tasks/sst-2/").content.decode())["mflops"]
    groups = [t["legendgroup"] for t in figure["data"]]
    assert groups[:2] == ["benchmark", "benchmark"]
    assert groups[2:] == sorted(groups[2:], key=["published", "declared", "verified",
                                                 "model"].index)
    titled = [t["legendgrouptitle"]["text"] for t in figure["data"] if "legendgrouptitle" in t]
    assert titled[-1] == "Published" and titled.count("Published") == 1
    assert figure["layout"]["legend"]["traceorder"] == "grouped"
    axis = figure["layout"]["xaxis"]
    # SST-2's points span less than a decade: every digit gets a tick.
    assert axis["type"] == "log" and {"1k", "2k", "3k", "4k"} <= set(axis["ticktext"])
    assert all(10 ** axis["range"][0] <= v <= 10 ** axis["range"][1] for v in axis["tickvals"])


def test_a_budget_shades_what_is_over_it_and_draws_the_front_within_it(client, seeded):
    html = client.get("/tasks/sst-2/?max_mflops=2000&max_mparams=50").content.decode()
    mflops = figures(html)["mflops"]
    [band] = mflops["layout"]["shapes"]
    assert band["x0"] == 2000 and band["x1"] > 10 ** mflops["layout"]["xaxis"]["range"][1]
    assert "over budget" in band["label"]["text"]
    front = next(t for t in mflops["data"] if t["name"] == FRONT_IN_BUDGET_NAME)
    assert front["x"] and max(front["x"]) <= 2000
    bert = next(t for t in mflops["data"] if t["name"] == "BERT-BASE")
    # 3L (1,060 MFLOPs, 45.7 M) is within; 4L has 52.8 M params, 6L and 12L are over both.
    assert bert["marker"]["opacity"] == [1.0, 0.2, 0.2, 0.2]
    [params_band] = figures(html)["mparams"]["layout"]["shapes"]
    assert params_band["x0"] == 50


def test_a_budget_ranks_the_task_by_each_entrys_best_point_within_it(client, seeded):
    html = client.get("/tasks/mrpc/?max_mflops=3000").content.decode()
    rows = re.findall(r'<tr class="entry" data-entry="([^"]+)">.*?<td>([^<]+)</td>\s*'
                      r'<td class="num perf">([\d.]+)</td>\s*<td class="num">([\d,.]+)</td>',
                      html, re.S)
    assert rows and "TinyBERT-6L" not in {name for name, *_ in rows}  # 6L: 4,559 MFLOPs
    performance = [float(p) for _, _, p, _ in rows]
    assert performance == sorted(performance, reverse=True)
    assert all(float(m.replace(",", "")) <= 3000 for *_, m in rows)
    assert dict((n, p) for n, p, _, _ in rows)["BERT-BASE"] == "3L"
    assert 'href="/tasks/sst-2/?max_mflops=3000"' in html  # the tabs keep the budget


def test_an_unreadable_budget_on_a_task_page_is_a_form_error(client, seeded):
    response = client.get("/tasks/mrpc/?max_mparams=%D9%A1%D9%A2")
    assert response.status_code == 400
    assert "Max MParams: must be a number" in response.content.decode()


def test_it_shows_the_printed_score_beside_each_entrys(client, seeded):
    html = client.get("/tasks/mrpc/").content.decode()
    bert = re.search(r'<tr data-entry="BERT-BASE">(.*?)</tr>', html, re.S)[1]
    assert '<td class="num score">-5.53</td>' in bert
    assert '<td class="num paper">-5.88<sup class="paper-diff"' in bert
    tiny = re.search(r'<tr data-entry="TinyBERT-6L">(.*?)</tr>', html, re.S)[1]
    assert '<td class="num paper">-2.60</td>' in tiny
def test_names_reach_the_chart_escaped_in_the_legend_and_every_hover(client, seeded, alice):
    from leaderboard.published import PublishedPoint, create_published_entry

    link = '<a href="https://evil.example">Win</a> 100%{y}'
    from tests.reviews import approved

    approved(create_published_entry(alice, [PublishedPoint("sst-2", "<b>6L</b>", 1, 99.0)],
                                    name=link))
    traces = figures(client.get("/tasks/sst-2/").content.decode())["mflops"]["data"]
    shown = "&lt;a href=\"https://evil.example\"&gt;Win&lt;/a&gt; 100&#37;{y}"
    entry = next(t for t in traces if t["name"] == shown)
    assert entry["text"] == ["&lt;b&gt;6L&lt;/b&gt;"] and shown in entry["hovertemplate"]
    front = next(t for t in traces if t["name"] == FRONT_NAME)
    assert f"{shown} (&lt;b&gt;6L&lt;/b&gt;)" in front["text"]  # cheapest and best: on it
    assert not any("<a " in text for t in traces for text in [t["name"], *t.get("text", [])])


def test_every_page_has_a_content_security_policy_without_inline_scripts(client, seeded):
    for path in ("/", "/tasks/sst-2/", "/about/", "/accounts/login/", "/api/docs/"):
        response = client.get(path)
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "object-src 'none'" in policy, path
        assert "frame-ancestors 'none'" in policy and "unsafe-eval" not in policy
        html = response.content.decode()
        # Only external scripts and JSON data: an inline script would be blocked.
        assert not re.findall(r'<script(?![^>]*(?:\bsrc=|type="application/json"))', html), path
