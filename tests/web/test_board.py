"""The leaderboard page: sorting, tracks, links, and a constant number of queries."""

from __future__ import annotations

import re

import pytest

from leaderboard.models import OperatingPoint
from tests.web.synthetic import make_entries

pytestmark = pytest.mark.django_db


def names(html: str) -> list[str]:
    return re.findall(r'data-entry="([^"]+)"', html)


def test_it_sorts_by_name_both_ways(client, seeded):
    ascending = names(client.get("/?sort=name&dir=asc").content.decode())
    assert ascending == sorted(ascending, key=str.lower) and len(ascending) == 16
    assert names(client.get("/?sort=name&dir=desc").content.decode()) == ascending[::-1]


def test_it_sorts_by_a_task_score_with_missing_scores_last(client, seeded):
    html = client.get("/?sort=imdb&dir=asc").content.decode()
    rows = re.findall(r'<tr class="entry[^"]*" data-entry="([^"]+)">(.*?)</tr>', html, re.S)
    # A score cell may end with the † of a printed score that differs.
    imdb = [re.findall(r'<td class="num score">([^<]+)', body)[1] for _, body in rows]
    known = [float(v) for v in imdb if v != "&ndash;"]
    assert known == sorted(known) and known
    assert all(v == "&ndash;" for v in imdb[len(known):])


def test_it_marks_the_sorted_column_and_flips_its_link(client, seeded):
    html = client.get("/?sort=overall&dir=desc").content.decode()
    assert '<th rowspan="2" aria-sort="descending"><a href="?sort=overall&amp;dir=asc">' in html


def test_it_keeps_the_sort_when_switching_tracks(client, seeded):
    html = client.get("/?sort=params&dir=asc&track=55").content.decode()
    assert 'href="?track=70&amp;sort=params&amp;dir=asc"' in html
    params = [float(v) for v in re.findall(r'<td class="num">([\d.]+)</td>', html)]
    assert params == sorted(params) and max(params) <= 55


def test_it_ignores_an_unknown_sort_column(client, seeded):
    assert names(client.get("/?sort=secret&dir=sideways").content.decode()) == names(
        client.get("/").content.decode())


def test_it_links_entries_papers_and_the_score_explanation(client, seeded):
    html = client.get("/").content.decode()
    assert re.search(r'<a href="/entries/\d+/">HashEE</a>', html)
    assert 'href="/about/#score"' in html
    assert 'href="/tasks/sts-b/"' in html


@pytest.mark.parametrize("count", [5, 50])
def test_it_needs_the_same_queries_for_5_or_50_entries(client, count,
                                                     django_assert_num_queries):
    make_entries(count)
    # The board version, the reference version, the entries, their scores, and the scores
    # their papers printed.
    with django_assert_num_queries(5):
        response = client.get("/")
    assert len(names(response.content.decode())) == count


def budget_rows(html: str) -> list[tuple[str, list[str]]]:
    """(entry, [the chosen point's name on each task, or "" where none]) per row."""
    rows = re.findall(r'<tr class="entry[^"]*" data-entry="([^"]+)">(.*?)</tr>', html, re.S)
    return [(name, [m or "" for m in re.findall(
        r'<td class="num perf"(?: data-point="([^"]*)")?', body)]) for name, body in rows]


def test_a_budget_keeps_each_entry_by_its_best_point_within_it(client, seeded):
    response = client.get("/?max_mflops=1500")
    assert response.status_code == 200
    html = response.content.decode()
    rows = dict(budget_rows(html))
    # TinyBERT's and BERT-of-Theseus's only points (6L, from 2,119 MFLOPs) are over it.
    assert "TinyBERT-6L" not in rows and "BERT-of-Theseus" not in rows
    assert rows["BERT-BASE"][0] == "4L"  # on SST-2: 4L (1,413 MFLOPs, 79.5) beats 3L (79.3)
    chosen = OperatingPoint.objects.filter(entry__name="BERT-BASE", task__slug="sst-2",
                                           name="4L").get()
    assert chosen.mflops <= 1500
    assert 'value="1500"' in html and "at most 1500 MFLOPs" in html


def test_a_budget_ranks_by_the_chosen_points_performance(client, seeded):
    html = client.get("/?max_mflops=30000&max_mparams=70").content.decode()
    rows = re.findall(r'<tr class="entry( partial)?" data-entry="([^"]+)">.*?'
                      r'<td class="num performance">([-\d.]+)</td>', html, re.S)
    full = [float(perf) for partial, _, perf in rows if not partial]
    assert full == sorted(full, reverse=True) and len(full) >= 3
    assert all(not partial for partial, _, _ in rows[:len(full)])


def test_a_budget_is_kept_by_sort_and_track_links_and_cleared_by_clear(client, seeded):
    html = client.get("/?max_mflops=2000&track=70").content.decode()
    assert 'href="?sort=name&amp;dir=asc&amp;track=70&amp;max_mflops=2000"' in html
    assert 'href="?track=55&amp;max_mflops=2000"' in html
    assert '<a class="budget-clear" href="/?track=70">' in html
    assert '<input type="hidden" name="track" value="70">' in html
    assert 'href="/tasks/mrpc/?max_mflops=2000"' in html


def test_a_budget_sorts_by_a_task_column_on_the_chosen_points(client, seeded):
    html = client.get("/?max_mflops=5000&sort=mrpc&dir=desc").content.decode()
    cells = [re.findall(r'<td class="num perf"[^>]*>([-\d.&a-z;]+)<', body)[4]
             for _, body in re.findall(r'<tr class="entry[^"]*" data-entry="([^"]+)">(.*?)</tr>',
                                       html, re.S)]
    known = [float(c) for c in cells if c != "&ndash;"]
    assert known == sorted(known, reverse=True) and known
    assert all(c == "&ndash;" for c in cells[len(known):])


def test_a_budget_nothing_fits_says_so(client, seeded):
    html = client.get("/?max_mflops=1").content.decode()
    assert "No entry has a point within this budget" in html


@pytest.mark.parametrize("query, field", [("max_mflops=%C2%B2", "Max MFLOPs per example"),
                                          ("max_mparams=-4", "Max MParams"),
                                          ("max_mflops=nan", "Max MFLOPs per example"),
                                          ("max_mflops=1e999", "Max MFLOPs per example")])
def test_an_unreadable_budget_is_a_form_error_not_a_crash(client, seeded, query, field):
    response = client.get(f"/?{query}")
    assert response.status_code == 400
    html = response.content.decode()
    assert f'<p class="error" role="alert">{field}: must be' in html
    assert len(names(html)) == 16  # the board, without a budget


def test_the_printed_overall_score_sits_beside_ours_with_a_mark_where_they_differ(client,
                                                                                 seeded):
    html = client.get("/").content.decode()
    rows = dict(re.findall(r'<tr class="entry[^"]*" data-entry="([^"]+)">(.*?)</tr>', html,
                           re.S))
    assert '<td class="num overall">-3.67<sup class="paper-diff" title="the paper printed ' \
           '-3.70' in rows["BERT-BASE"]
    assert '<td class="num paper">-3.70</td>' in rows["BERT-BASE"]
    assert "paper-diff" not in rows["TinyBERT-6L"]  # -2.20 both
    assert '<td class="num paper">-2.20</td>' in rows["TinyBERT-6L"]
    assert '<td class="num paper">&ndash;</td>' in rows["CascadeBERT"]  # printed none
    # MRPC: -5.53 here, -5.88 printed.
    assert '<td class="num score">-5.53<sup class="paper-diff"' in rows["BERT-BASE"]


@pytest.mark.parametrize("count", [5, 50])
def test_a_budget_needs_the_same_queries_for_5_or_50_entries(client, seeded, count,
                                                           django_assert_max_num_queries):
    make_entries(count)
    with django_assert_max_num_queries(8):
        response = client.get("/?max_mflops=30000&max_mparams=200")
    assert len(names(response.content.decode())) >= count


@pytest.mark.parametrize("track", ["%C2%B2", "%D9%A1", "abc", "41", "40.0", "-40",
                                   "99999999999999999999"])
def test_a_nonsense_track_is_a_400_that_names_it(client, seeded, track):
    response = client.get(f"/?track={track}")
    assert response.status_code == 400
    assert "track: must be" in response.content.decode()
