import pytest
from django.core.management import call_command

from leaderboard.models import Entry, OperatingPoint, ReferencePoint, ReferenceVersion, TaskScore
from leaderboard.scoring import rescore_all
from leaderboard.seeding import PUBLISHED_CSV, REFERENCE_CSV, load_published, load_reference
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
    version, created = load_reference()
    assert (version, created) == (seeded, False)
    assert load_published() == (0, 16)
    rescore_all(version)
    after = (Entry.objects.count(), OperatingPoint.objects.count(), TaskScore.objects.count())
    assert after == before
    assert ReferenceVersion.objects.count() == 1


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


def test_the_command_reports_what_it_did(db, capsys):
    call_command("elue_seed")
    call_command("elue_seed")
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("reference v1 (new); published entries: 16 created")
    assert out[1].startswith("reference v1 (unchanged); published entries: 0 created, 16 already")


def test_the_committed_seed_files_hold_the_published_facts():
    # Committed in the repository (not read from ../shared at run time), and in step with
    # the benchmark's source of truth.
    shared = REPO_DIR.parent / "shared" / "elue"
    assert REPO_DIR in REFERENCE_CSV.parents and REPO_DIR in PUBLISHED_CSV.parents
    assert REFERENCE_CSV.read_text() == (shared / "reference.csv").read_text()
    assert PUBLISHED_CSV.read_text() == (shared / "published.csv").read_text()
