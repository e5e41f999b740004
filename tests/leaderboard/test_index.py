import re

import pytest

from leaderboard.models import Entry

pytestmark = pytest.mark.django_db


def row_names(html: str) -> list[str]:
    return re.findall(r'data-entry="([^"]+)"', html)


def row_html(html: str, name: str) -> str:
    start = html.index(f'data-entry="{name}"')
    return html[start:html.index("</tr>", start)]


def test_it_lists_every_public_entry_with_its_scores(client, seeded):
    html = client.get("/").content.decode()
    assert len(row_names(html)) == 16
    tinybert = row_html(html, "TinyBERT-6L")
    assert '<td class="num score">-1.70</td>' in tinybert
    assert '<td class="num overall">-2.20</td>' in tinybert
    assert '<td class="num coverage">6/6</td>' in tinybert
    assert "kind-published" in tinybert


def test_it_ranks_full_coverage_entries_first(client, seeded):
    names = row_names(client.get("/").content.decode())
    assert names[0] == "HashEE"
    # ElasticBERT-entropy scores higher overall than every 6-task entry but HashEE, yet
    # covers 5 tasks: it comes after all full-coverage entries.
    assert names.index("ElasticBERT-entropy") == 12
    assert names[-1] == "DeeBERT (BERT)"


def test_it_filters_by_parameter_track(client, seeded):
    names = row_names(client.get("/?track=40").content.decode())
    assert names == ["PABEE (ALBERT)", "ALBERT-BASE"]


def test_it_hides_private_entries(client, seeded):
    Entry.objects.filter(name="HashEE").update(visibility=Entry.Visibility.PRIVATE)
    assert "HashEE" not in row_names(client.get("/").content.decode())


def test_it_needs_a_fixed_number_of_queries(client, seeded, django_assert_max_num_queries):
    # The board version (the cache key), the reference, entries, scores, printed scores.
    with django_assert_max_num_queries(5):
        client.get("/")


def test_it_works_before_seeding(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert "No entries yet" in response.content.decode()
