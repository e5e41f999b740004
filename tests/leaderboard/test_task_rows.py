"""Task rows follow the evaluator's task registry: one definition of the six tasks."""

from __future__ import annotations

import dataclasses

from evaluator import benchmark
from evaluator.benchmark import TASK_ORDER
from leaderboard.models import Task, sync_tasks


def test_the_table_holds_no_copy_of_what_the_registry_says():
    assert {f.name for f in Task._meta.concrete_fields} == {"id", "slug", "position"}


def test_a_description_changed_in_the_registry_shows_on_the_page_and_in_the_api(
        db, client, monkeypatch):
    changed = dataclasses.replace(benchmark.TASKS["sst-2"], description="Changed in one place.")
    monkeypatch.setitem(benchmark.TASKS, "sst-2", changed)
    assert Task.objects.get(slug="sst-2").description == "Changed in one place."
    assert "Changed in one place." in client.get("/tasks/sst-2/").content.decode()
    api = client.get("/api/v1/tasks/sst-2/").json()
    assert api["description"] == "Changed in one place."


def test_rows_are_put_back_in_the_registrys_order(db):
    Task.objects.filter(slug="imdb").update(position=99)
    Task.objects.filter(slug="sts-b").delete()
    sync_tasks()
    assert list(Task.objects.values_list("slug", flat=True)) == list(TASK_ORDER)
