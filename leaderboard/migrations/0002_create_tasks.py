"""Create the six ELUE tasks (SPEC §1) from the evaluator's task registry."""

from django.db import migrations


def create_tasks(apps, schema_editor):
    from evaluator.benchmark import TASKS

    Task = apps.get_model("leaderboard", "Task")
    for position, spec in enumerate(TASKS.values()):
        Task.objects.update_or_create(slug=spec.slug, defaults={
            "name": spec.name, "group": spec.group, "metric": spec.metric,
            "labels": list(spec.labels or []), "test_size": spec.test_size,
            "description": spec.description, "position": position,
        })


class Migration(migrations.Migration):
    dependencies = [("leaderboard", "0001_initial")]
    operations = [migrations.RunPython(create_tasks, migrations.RunPython.noop)]
