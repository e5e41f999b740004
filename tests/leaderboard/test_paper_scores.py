"""The scores papers printed beside those ELUE recomputes from the published points: every
printed score pinned with its recomputed one, and the reasons given for a difference."""

from __future__ import annotations

import pytest

from evaluator.score import overall_score
from leaderboard.models import Entry, PublishedScore
from leaderboard.paper_scores import (
    PointFacts,
    Printed,
    compare,
    differs,
    entry_comparison,
    missing_points,
)
from leaderboard.seeding import PUBLISHED_SCORES_CSV, read_csv

# (entry, task or "overall", printed in published_scores.csv, ELUE's recomputed score),
# one line per row of the seed file: what the leaderboard and the entry pages show.
PINNED = [
    ("BERT-BASE", "sst-2", -4.55, -4.55),
    ("BERT-BASE", "imdb", -2.15, -2.00),
    ("BERT-BASE", "mrpc", -5.88, -5.53),
    ("BERT-BASE", "sts-b", -4.75, -5.17),
    ("BERT-BASE", "snli", -1.50, -1.43),
    ("BERT-BASE", "scitail", -3.35, -3.33),
    ("BERT-BASE", "overall", -3.70, -3.67),
    ("ALBERT-BASE", "sst-2", -2.30, -2.18),
    ("ALBERT-BASE", "imdb", -1.07, -0.94),
    ("ALBERT-BASE", "mrpc", -0.31, -1.89),
    ("ALBERT-BASE", "sts-b", -2.70, -2.39),
    ("ALBERT-BASE", "snli", -1.66, -1.19),
    ("ALBERT-BASE", "scitail", -1.49, -1.67),
    ("ALBERT-BASE", "overall", -1.59, -1.71),
    ("RoBERTa-BASE", "sst-2", -0.90, -0.89),
    ("RoBERTa-BASE", "imdb", -0.12, -0.05),
    ("RoBERTa-BASE", "mrpc", -2.86, -2.70),
    ("RoBERTa-BASE", "sts-b", -5.15, -5.49),
    ("RoBERTa-BASE", "snli", -0.69, -0.41),
    ("RoBERTa-BASE", "scitail", -3.31, -3.07),
    ("RoBERTa-BASE", "overall", -2.17, -2.10),
    ("TinyBERT-6L", "sst-2", -1.70, -1.70),
    ("TinyBERT-6L", "imdb", -3.70, -3.70),
    ("TinyBERT-6L", "mrpc", -2.60, -2.60),
    ("TinyBERT-6L", "sts-b", -1.90, -1.90),
    ("TinyBERT-6L", "snli", -0.80, -0.80),
    ("TinyBERT-6L", "scitail", -2.50, -2.50),
    ("TinyBERT-6L", "overall", -2.20, -2.20),
    ("PABEE (ALBERT)", "sst-2", -1.34, -1.30),
    ("PABEE (ALBERT)", "imdb", -0.22, -0.15),
    ("PABEE (ALBERT)", "mrpc", -2.97, -3.11),
    ("PABEE (ALBERT)", "sts-b", -2.10, -2.28),
    ("PABEE (ALBERT)", "snli", -0.85, -0.72),
    ("PABEE (ALBERT)", "scitail", -0.40, -0.20),
    ("PABEE (ALBERT)", "overall", -1.31, -1.29),
    ("DeeBERT (BERT)", "sst-2", -12.10, -12.20),
    ("DeeBERT (BERT)", "imdb", -14.00, -13.92),
    ("DeeBERT (BERT)", "mrpc", -4.92, -4.94),
    ("DeeBERT (BERT)", "snli", -8.36, -8.19),
    ("DeeBERT (BERT)", "scitail", -6.17, -5.99),
    ("ElasticBERT-patience", "sst-2", 0.37, 0.42),
    ("ElasticBERT-patience", "imdb", 0.20, 0.30),
    ("ElasticBERT-patience", "mrpc", -1.04, -1.08),
    ("ElasticBERT-patience", "sts-b", -0.46, -0.58),
    ("ElasticBERT-patience", "snli", 0.02, 0.14),
    ("ElasticBERT-patience", "scitail", 0.38, 0.64),
    ("ElasticBERT-patience", "overall", -0.09, -0.03),
    ("ElasticBERT-entropy", "sst-2", 0.96, 0.90),
    ("ElasticBERT-entropy", "imdb", 1.03, 1.06),
    ("ElasticBERT-entropy", "mrpc", -0.22, -0.09),
    ("ElasticBERT-entropy", "snli", 0.01, 0.26),
    ("ElasticBERT-entropy", "scitail", 0.69, 0.96),
    ("DistilBERT", "overall", -2.55, -2.55),
    ("HeadPrune", "overall", -6.85, -6.80),
    ("BERT-of-Theseus", "overall", -2.55, -2.08),
    ("BERxiT (BERT)", "overall", -6.12, -11.44),
    ("BERxiT (ElasticBERT)", "overall", -3.90, -3.90),
    ("HashEE", "overall", 1.20, 1.15),
]


def test_the_pins_cover_every_row_of_the_seed_file():
    rows = [(r["model"], r["task"], float(r["score"])) for r in read_csv(PUBLISHED_SCORES_CSV)]
    assert rows == [(model, task, printed) for model, task, printed, _ in PINNED]


@pytest.mark.django_db
def test_every_printed_score_is_stored_beside_the_recomputed_one(seeded):
    found = []
    for entry in Entry.objects.filter(owner=None).prefetch_related("scores__task"):
        task_scores = {s.task.slug: s.score for s in entry.scores.all()}
        for paper in entry_comparison(entry, task_scores):
            found.append((entry.name, paper.task or "overall", round(paper.printed, 2),
                          round(paper.recomputed, 2)))
    assert sorted(found) == sorted(PINNED)
    assert PublishedScore.objects.count() == len(PINNED)


@pytest.mark.django_db
def test_the_overall_score_compared_is_the_mean_of_the_stored_task_scores(seeded):
    bert = Entry.objects.get(name="BERT-BASE")
    task_scores = {s.task.slug: s.score for s in bert.scores.select_related("task")}
    overall = entry_comparison(bert, task_scores)[-1]
    assert overall.task is None and overall.recomputed == overall_score(task_scores)


def test_scores_differ_only_beyond_a_hundredth():
    assert not differs(-1.7000000000000028, -1.70)
    assert not differs(-2.545, -2.55)
    assert differs(-3.669, -3.70)
    assert not differs(None, -3.70) and not differs(-3.7, None)


BERT_POINTS = [PointFacts(task, name, basis, source)
               for task, names in (("sst-2", ["3L", "4L", "6L", "12L"]),
                                   ("mrpc", ["3L", "6L", "12L"]))
               for name, basis, source in ((n, "computed", "ELUE paper v1 Table 3")
                                           for n in names)]


def test_it_names_a_point_the_entry_has_elsewhere_but_not_here():
    assert missing_points("mrpc", BERT_POINTS) == {"4L": ["SST-2"]}
    assert missing_points("sst-2", BERT_POINTS) == {}


def test_speed_up_points_named_per_task_are_not_missing_points():
    points = [PointFacts("sst-2", "3.6x", "speed-up", "HashEE"),
              PointFacts("mrpc", "3.9x", "speed-up", "HashEE")]
    assert missing_points("mrpc", points) == {}


def test_a_task_difference_is_explained_from_the_facts_held():
    paper = compare([Printed("mrpc", -5.88, "ELUE talk slides")], {"mrpc": -5.533},
                    BERT_POINTS)
    [mrpc] = paper
    assert mrpc.differs and mrpc.gap == pytest.approx(0.347)
    text = " ".join(mrpc.reasons)
    assert "3 points (3L, 6L, 12L) are published on MRPC" in text
    assert "4L point on SST-2 but none on MRPC" in text
    assert "ELUE's points come from ELUE paper v1 Table 3 (3L, 6L, 12L)" in text


def test_flops_not_computed_on_the_real_inputs_are_a_reason():
    points = [PointFacts("sst-2", "12L", "estimated", "ELUE v1"),
              PointFacts("sst-2", "3.6x", "speed-up", "HashEE")]
    [sst2] = compare([Printed("sst-2", -2.30, "talk")], {"sst-2": -2.18}, points)
    text = " ".join(sst2.reasons)
    assert "1 point of 2 (3.6x) has FLOPs from a reported speed-up (about ±2.5%)" in text
    assert "1 point of 2 (12L) has FLOPs estimated" in text
    assert "come from ELUE v1 (12L); HashEE (3.6x)" in text


def test_agreeing_scores_need_no_reason_and_a_small_gap_mentions_rounding():
    points = [PointFacts("sst-2", "6L", "computed", "v1")]
    [agree] = compare([Printed("sst-2", -1.70, "v1")], {"sst-2": -1.7000000000000028}, points)
    assert not agree.differs and agree.reasons == []
    [close] = compare([Printed("sst-2", -1.34, "v1")], {"sst-2": -1.301}, points)
    assert close.differs and "rounding" in close.reasons[-1]


def test_a_printed_score_where_elue_has_no_point_says_so():
    [imdb] = compare([Printed("imdb", 1.0, "talk")], {"sst-2": 0.5},
                     [PointFacts("sst-2", "p1", "digitized", "fig")])
    assert imdb.recomputed is None and not imdb.differs
    assert "no point of this entry on IMDb" in imdb.reasons[0]


def test_an_overall_difference_points_at_the_tasks_and_the_tasks_printed():
    points = [PointFacts(t, "6L", "computed", "v1") for t in ("sst-2", "mrpc", "sts-b")]
    paper = compare([Printed("sst-2", -1.0, "talk"), Printed("mrpc", -2.0, "talk"),
                     Printed(None, -1.5, "talk")],
                    {"sst-2": -1.0, "mrpc": -2.5, "sts-b": -3.0}, points)
    overall = paper[-1]
    # Overall scores are kept to two decimals (docs/integrity.md, "Labels cannot be probed").
    assert overall.task is None and overall.recomputed == round(-6.5 / 3, 2)
    text = " ".join(overall.reasons)
    assert "mean over the 3 tasks it scores (SST-2, MRPC, STS-B)" in text
    assert "no score on STS-B" in text and "differ on MRPC" in text


def test_an_overall_only_score_says_which_task_differs_cannot_be_told():
    points = [PointFacts("sst-2", "4.8x", "speed-up", "HashEE")]
    [overall] = compare([Printed(None, 1.20, "HashEE Table 2")], {"sst-2": 1.0}, points)
    text = " ".join(overall.reasons)
    assert "no per-task scores" in text and "reported speed-up" in text
