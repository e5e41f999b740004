"""Entry pages: points and how each number was obtained, score, Pareto status, privacy."""

from __future__ import annotations

import re

import pytest

from leaderboard.models import Basis, Entry, OperatingPoint, Task
from leaderboard.published import PublishedPoint, create_published_entry
from tests.reviews import approved

pytestmark = pytest.mark.django_db


def page(client, entry):
    return client.get(f"/entries/{entry.pk}/")


def private_entry(owner) -> Entry:
    """Approved by staff, so that only its visibility hides it."""
    return approved(create_published_entry(
        owner, [PublishedPoint("sst-2", "6L", 1000.0, 90.0, 50.0)], name="Bob's secret",
        visibility=Entry.Visibility.PRIVATE))


def test_it_shows_points_scores_and_provenance(client, seeded):
    entry = Entry.objects.get(name="HashEE")
    html = page(client, entry).content.decode()
    assert "against reference curve v1" in html
    assert "declared: typed in from the paper" in html
    assert html.count('<section class="task-section"') == entry.scores.count()
    point = entry.points.first()
    assert point.get_mflops_basis_display() in html


def test_it_names_the_entries_that_dominate_a_point(client, seeded):
    html = page(client, Entry.objects.get(name="DeeBERT (BERT)")).content.decode()
    assert "not on the front" in html and "dominated by" in html


def test_it_draws_the_exit_histogram_of_a_counted_point(client, seeded):
    entry = Entry.objects.get(name="HashEE")
    OperatingPoint.objects.filter(entry=entry, task__slug="sst-2").update(
        median_mflops=900.0, p95_mflops=2100.5, exit_histogram={"1": 30, "6": 90})
    html = page(client, entry).content.decode()
    assert "layer 6" in html and "90 (75.0%)" in html and "2,100.5" in html


def test_it_shows_the_rerun_check_of_submitted_weights(client, seeded):
    entry = Entry.objects.get(name="HashEE")
    OperatingPoint.objects.filter(entry=entry, task__slug="sst-2").update(
        rerun_examples=200, rerun_prediction_agreement=99.5, rerun_exit_agreement=97.0)
    html = page(client, entry).content.decode()
    assert "ran 200 random test examples" in html
    assert "<strong>99.5%</strong>" in html and "<strong>97.0%</strong>" in html
    # What the agreement is and is not evidence of.
    assert "how consistent the file is with the submitted model, not that the model is " \
           "honest" in html
    unchecked = page(client, Entry.objects.get(name="DeeBERT (BERT)")).content.decode()
    assert "Re-run check" not in unchecked


def test_code_counted_but_never_run_is_labelled_so(client, seeded):
    entry = Entry.objects.get(name="HashEE")
    OperatingPoint.objects.filter(entry=entry, task__slug="sst-2").update(
        mflops_basis=Basis.CODE)
    html = page(client, entry).content.decode()
    assert "counted from submitted code, not run" in html
    assert "the predictions need not come from the computation counted" in html


def test_it_hides_a_private_entry_from_everyone_but_its_owner(client, alice, bob):
    entry = private_entry(bob)
    assert page(client, entry).status_code == 404
    client.force_login(alice)
    assert page(client, entry).status_code == 404
    client.force_login(bob)
    assert "Bob&#x27;s secret" in page(client, entry).content.decode()


def test_it_lets_the_owner_change_visibility_and_delete(client, bob, alice):
    entry = private_entry(bob)
    client.force_login(alice)
    assert client.post(f"/entries/{entry.pk}/visibility/",
                       {"visibility": "public"}).status_code == 404
    client.force_login(bob)
    client.post(f"/entries/{entry.pk}/visibility/", {"visibility": "public"})
    entry.refresh_from_db()
    assert entry.visibility == "public"
    client.post(f"/entries/{entry.pk}/delete/")
    assert not Entry.objects.filter(pk=entry.pk).exists()


def test_it_404s_for_a_missing_entry(client, db):
    assert client.get("/entries/999999/").status_code == 404
    assert Task.objects.count() == 6


def paper_rows(html: str) -> dict[str, str]:
    return dict(re.findall(r'<tr data-task="([^"]+)"(?: class="differs")?>(.*?)</tr>', html,
                           re.S))


def test_it_shows_the_printed_scores_beside_its_own_with_the_reasons(client, seeded):
    html = page(client, Entry.objects.get(name="BERT-BASE")).content.decode()
    assert "the paper printed -3.70" in html and 'href="#paper-scores"' in html
    rows = paper_rows(html)
    assert list(rows) == ["sst-2", "imdb", "snli", "scitail", "mrpc", "sts-b", "overall"]
    assert "they agree" in rows["sst-2"]  # -4.55 both
    mrpc = rows["mrpc"]
    assert '<td class="num printed">-5.88' in mrpc and '<td class="num recomputed">-5.53' in mrpc
    assert "ELUE talk slides, Oct 2021" in html  # once: every printed score has that source
    assert "has a 4L point on SST-2 but none on MRPC" in mrpc
    imdb = rows["imdb"]
    assert "FLOPs estimated (test inputs not available)" in imdb
    assert "The task scores differ on IMDb, SNLI, SciTail, MRPC, STS-B" in rows["overall"]
    # Each task's section carries the printed score too.
    assert "; the paper printed -5.88" in html


def test_it_gives_the_flops_basis_and_note_of_speed_up_points(client, seeded):
    html = page(client, Entry.objects.get(name="ALBERT-BASE")).content.decode()
    mrpc = paper_rows(html)["mrpc"]
    assert "1 point of 3 (3.6x) has FLOPs from a reported speed-up (about ±2.5%)" in mrpc
    assert "2 points of 3 (6L, 12L) have FLOPs estimated" in mrpc
    assert "FLOPs = BERT-BASE 12-layer cost / reported speed-up" in html  # the point's note


def test_an_entry_whose_paper_printed_only_an_overall_score(client, seeded):
    html = page(client, Entry.objects.get(name="HashEE")).content.decode()
    rows = paper_rows(html)
    assert list(rows) == ["overall"]
    assert "no per-task scores" in rows["overall"]


def test_an_entry_without_printed_scores_has_no_such_section(client, seeded, alice):
    entry = create_published_entry(alice, [PublishedPoint("sst-2", "6L", 1000.0, 90.0)],
                                   name="Alice-Net")
    html = page(client, entry).content.decode()
    assert 'id="paper-scores"' not in html and "the paper printed" not in html
