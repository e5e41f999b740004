import pytest
from django.core.management import call_command

from leaderboard.models import (
    Entry,
    OperatingPoint,
    PublishedScore,
    ReferencePoint,
    ReferenceVersion,
    TaskScore,
)
from leaderboard.published import PublishedPoint, create_published_entry
from leaderboard.scoring import rescore_all
from leaderboard.seeding import (
    PUBLISHED_CSV,
    PUBLISHED_SCORES_CSV,
    REFERENCE_CSV,
    SeedFileError,
    load_published,
    load_reference,
)
from tests.conftest import REPO_DIR

pytestmark = pytest.mark.django_db


def scores_of(name: str) -> dict[str, float]:
    entry = Entry.objects.get(name=name)
    return {s.task.slug: round(s.score, 2) for s in entry.scores.select_related("task")}


def test_it_creates_the_six_tasks_by_migration(django_db_setup):
    from leaderboard.models import Task

    assert list(Task.objects.values_list("slug", flat=True)) == [
        "sst-2", "imdb", "snli", "scitail", "mrpc", "sts-b"]
    assert Task.objects.get(slug="snli").test_size == 9824


def test_it_loads_the_reference_curve(seeded):
    assert seeded.number == 1
    assert seeded.points.count() == 19
    sst2 = list(seeded.points.filter(task__slug="sst-2").values_list("layers", "mflops"))
    assert sst2 == [(3, 1060.33), (4, 1413.36), (6, 2119.41), (12, 4237.56)]


def test_it_seeds_every_published_entry(seeded):
    assert Entry.objects.filter(kind=Entry.Kind.PUBLISHED, owner=None).count() == 16
    assert OperatingPoint.objects.count() == 239
    bert = Entry.objects.get(name="BERT-BASE")
    assert bert.points.filter(task__slug="sst-2").count() == 4
    assert Entry.objects.get(name="PABEE (ALBERT)").is_dynamic


def test_it_scores_tinybert_as_published(seeded):
    scores = scores_of("TinyBERT-6L")
    assert scores["sst-2"] == -1.70
    assert round(sum(scores.values()) / len(scores), 2) == -2.20


def test_it_records_the_reference_version_of_each_score(seeded):
    assert set(TaskScore.objects.values_list("reference_version", flat=True)) == {seeded.pk}


def test_it_is_idempotent(seeded):
    before = (Entry.objects.count(), OperatingPoint.objects.count(), TaskScore.objects.count())
    printed = set(PublishedScore.objects.values_list("pk", "entry_id", "task_id", "score",
                                                     "source"))
    version, created = load_reference()
    assert (version, created) == (seeded, False)
    assert load_published() == (0, 16, 0, 58)
    rescore_all(version)
    after = (Entry.objects.count(), OperatingPoint.objects.count(), TaskScore.objects.count())
    assert after == before
    assert ReferenceVersion.objects.count() == 1
    # The printed scores are the same rows, not deleted and made again.
    assert set(PublishedScore.objects.values_list("pk", "entry_id", "task_id", "score",
                                                  "source")) == printed


def test_it_makes_a_new_reference_version_when_the_curve_changes(seeded, tmp_path):
    changed = tmp_path / "reference.csv"
    text = REFERENCE_CSV.read_text().replace("sst-2,6,87.0,", "sst-2,6,86.0,")
    changed.write_text(text)
    version, created = load_reference(changed)
    assert created and version.number == 2
    rescore_all(version)
    assert scores_of("TinyBERT-6L")["sst-2"] == -0.70  # 85.3 - 86.0
    assert set(TaskScore.objects.values_list("reference_version", flat=True)) == {version.pk}
    assert ReferencePoint.objects.filter(version=seeded).count() == 19  # history kept


def test_it_drops_points_removed_from_the_published_file(seeded, tmp_path):
    trimmed = tmp_path / "published.csv"
    lines = PUBLISHED_CSV.read_text().splitlines(keepends=True)
    trimmed.write_text("".join(line for line in lines if not line.startswith("HashEE,")
                               or ",sst-2," in line))
    load_published(trimmed)
    rescore_all()
    assert list(Entry.objects.get(name="HashEE").points.values_list("task__slug", flat=True)) == [
        "sst-2"]
    assert set(scores_of("HashEE")) == {"sst-2"}


def test_it_replaces_renamed_entries_and_never_touches_peoples(seeded, alice, tmp_path):
    # A database seeded before ALBERT-BASE-3L became ALBERT-BASE's 3.6x point, and a person's
    # entry that happens to carry the old name.
    old = tmp_path / "published.csv"
    old.write_text(PUBLISHED_CSV.read_text().replace("\nALBERT-BASE,static,sst-2,3.6x",
                                                     "\nALBERT-BASE-3L,static,sst-2,3.6x"))
    scores = tmp_path / "published_scores.csv"
    scores.write_text(PUBLISHED_SCORES_CSV.read_text())
    Entry.objects.filter(name="ALBERT-BASE").delete()
    assert load_published(old, scores).created == 2
    assert Entry.objects.get(name="ALBERT-BASE-3L", owner=None).points.count() == 1
    mine = create_published_entry(alice, [PublishedPoint("sst-2", "3L", 1000, 80)],
                                  name="ALBERT-BASE-3L")

    load = load_published()
    assert (load.created, load.updated, load.removed) == (0, 16, 1)
    assert not Entry.objects.filter(name="ALBERT-BASE-3L", owner=None).exists()
    assert Entry.objects.get(pk=mine.pk).points.count() == 1  # alice's entry untouched
    albert = Entry.objects.get(name="ALBERT-BASE", owner=None)
    assert sorted(albert.points.filter(task__slug="sst-2").values_list("name", flat=True)) == [
        "12L", "3.6x", "6L"]
    assert albert.published_scores.count() == 7


def test_it_stores_the_printed_scores_per_task_and_overall(seeded):
    assert PublishedScore.objects.count() == 58
    bert = Entry.objects.get(name="BERT-BASE")
    printed = {(s.task.slug if s.task else "overall"): s.score
               for s in bert.published_scores.select_related("task")}
    assert printed == {"sst-2": -4.55, "imdb": -2.15, "mrpc": -5.88, "sts-b": -4.75,
                       "snli": -1.50, "scitail": -3.35, "overall": -3.70}
    assert bert.published_scores.get(task=None).source.startswith("ELUE talk slides, Oct 2021")


def test_it_refuses_a_printed_score_of_an_unknown_model(seeded, tmp_path):
    scores = tmp_path / "published_scores.csv"
    scores.write_text(PUBLISHED_SCORES_CSV.read_text() + "GPT-9,overall,1.0,somewhere\n")
    with pytest.raises(SeedFileError, match=r"published_scores.csv line 60: no seeded "
                       r"published entry is named 'GPT-9'"):
        load_published(PUBLISHED_CSV, scores)


def test_the_command_reports_what_it_did(db, capsys):
    call_command("elue_seed")
    call_command("elue_seed")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("reference v1 (new); published entries: 16 created")
    assert out[1].startswith("reference v1 (unchanged); published entries: 0 created, 16 already")
    assert "0 removed" in out[1] and "58 published scores" in out[1]


def test_the_committed_seed_files_hold_the_published_facts():
    # Committed in the repository (not read from ../shared at run time), and in step with
    # the benchmark's source of truth.
    shared = REPO_DIR.parent / "shared" / "elue"
    assert REPO_DIR in REFERENCE_CSV.parents and REPO_DIR in PUBLISHED_CSV.parents
    assert REPO_DIR in PUBLISHED_SCORES_CSV.parents
    assert REFERENCE_CSV.read_text() == (shared / "reference.csv").read_text()
    assert PUBLISHED_CSV.read_text() == (shared / "published.csv").read_text()
    assert PUBLISHED_SCORES_CSV.read_text() == (shared / "published_scores.csv").read_text()
