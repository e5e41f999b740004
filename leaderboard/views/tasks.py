"""Task pages (``/tasks/<slug>/``): what the task is, its test inputs, and the chart of every
entry's points against cost with the Pareto front. Also serves plotly.js from the installed
``plotly`` package, so that no page loads anything from another host."""

from __future__ import annotations

from pathlib import Path

import plotly
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from evaluator.benchmark import TASKS
from evaluator.data import INPUTS_FILE, task_dir
from leaderboard.charts import task_figures
from leaderboard.models import Entry, Task, TaskScore, TestData
from leaderboard.testdata import data_root

PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
YEAR = 365 * 24 * 3600


def task_detail(request, slug: str):
    task = get_object_or_404(Task, slug=slug)
    scores = (TaskScore.objects.filter(task=task, entry__visibility=Entry.Visibility.PUBLIC)
              .select_related("entry", "reference_version").order_by("-score"))
    figures = task_figures(task)
    return render(request, "leaderboard/task.html", {
        "task": task,
        "spec": TASKS[task.slug],
        "test_data": TestData.objects.filter(task=task).first(),
        "figures": figures,
        "profiles": [(key, views["label"]) for key, views in figures["measured"].items()],
        "scores": scores,
        "labels": list(zip(TASKS[task.slug].labels or (), TASKS[task.slug].label_names,
                           strict=False)),
        "all_tasks": list(TASKS.values()),
        "plotly_version": plotly.__version__,
    })


@require_GET
def task_inputs(request, slug: str):
    """The task's test inputs (``test.tsv``: index and texts). The labels are in another file
    that no view ever reads."""
    task = get_object_or_404(Task, slug=slug)
    if not TestData.objects.filter(task=task).exists():
        raise Http404(f"{task.name} test data is not loaded on this server")
    path = task_dir(data_root(), TASKS[task.slug]) / INPUTS_FILE
    if not path.is_file():
        raise Http404(f"{task.name} test inputs are missing on this server")
    return FileResponse(open(path, "rb"), as_attachment=True,
                        filename=f"{task.slug}-test.tsv",
                        content_type="text/tab-separated-values; charset=utf-8")


@require_GET
@cache_control(public=True, max_age=YEAR, immutable=True)
def plotly_js(request, version: str):
    """plotly.min.js of the installed package; the version in the URL busts caches."""
    if version != plotly.__version__:
        raise Http404(f"this site serves plotly {plotly.__version__}")
    return FileResponse(open(PLOTLY_JS, "rb"), content_type="text/javascript; charset=utf-8")
