"""The Celery app. Every CELERY_* setting lives in elue/settings.py."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "elue.settings")

app = Celery("elue")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Worker process set-up (torch threads per process); connects only in worker processes.
import elue.worker  # noqa: E402, F401
