"""The leaderboard page: sorting, tracks, links, and a constant number of queries."""

from __future__ import annotations

import re

import pytest

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
    imdb = [re.findall(r'<td class="num score">([^<]+)</td>', body)[1] for _, body in rows]
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
    with django_assert_num_queries(3):
        response = client.get("/")
    assert len(names(response.content.decode())) == count


@pytest.mark.parametrize("track", ["²", "abc", "41"])
def test_a_nonsense_track_is_a_400_that_names_it(client, seeded, track):
    response = client.get(f"/?track={track}")
    assert response.status_code == 400
    assert "track=" in response.content.decode()
