"""About / How to submit: SPEC's rules in the site's words, with the score drawn."""

from __future__ import annotations

import plotly
from django.conf import settings
from django.shortcuts import render

from evaluator.benchmark import TASKS
from evaluator.cost.families import ARCHITECTURE_NAMES
from leaderboard.charts import score_figure
from leaderboard.models import ReferenceVersion
from leaderboard.probing import point_rules
from leaderboard.ranking import PARAMETER_TRACKS

# The example is a file of its own so that a test can check that the platform counts it.
EXAMPLE_MODEL = settings.BASE_DIR / "docs" / "examples" / "model.py"


def about(request):
    version = ReferenceVersion.objects.current()
    return render(request, "leaderboard/about.html", {
        "tasks": list(TASKS.values()),
        "architectures": list(ARCHITECTURE_NAMES.values()),
        "reference": version,
        "score_figure": score_figure(version),
        "tracks": PARAMETER_TRACKS,
        "max_mb": settings.ELUE_UPLOAD_MAX_MB,
        "daily": settings.ELUE_DAILY_SUBMISSIONS,
        "rules": point_rules(),
        "daily_points": settings.ELUE_DAILY_POINTS,
        "monthly_points": settings.ELUE_MONTHLY_POINTS_PER_TASK,
        "plotly_version": plotly.__version__,
        "example_model": EXAMPLE_MODEL.read_text().split('"""', 2)[2].lstrip("\n"),
    })
