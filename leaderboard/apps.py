from django.apps import AppConfig
from django.db.models.signals import post_migrate


class LeaderboardConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "leaderboard"
    verbose_name = "ELUE leaderboard"

    def ready(self) -> None:
        post_migrate.connect(keep_tasks_in_step, sender=self)


def keep_tasks_in_step(sender, **kwargs) -> None:
    """After every migrate: task rows follow the evaluator's registry (a task added there
    appears here; its position follows the registry's order)."""
    from leaderboard.models import sync_tasks  # models cannot be imported before apps load

    sync_tasks()
