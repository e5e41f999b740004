"""Task pages (``/tasks/<slug>/``): what the task is, its test inputs, the chart of every
entry's points against cost with the Pareto front, and the entries ranked on the task: by ELUE
score, or within a budget (``?max_mflops=…&max_mparams=…``) by each entry's best point within
it, with the chart shading what is over the budget. Also serves plotly.js from the installed
``plotly`` package, so that no page loads anything from another host."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import plotly
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from evaluator.benchmark import TASKS
from leaderboard.board import public_rows
from leaderboard.board_cache import cached, shared_page
from leaderboard.budget import Budget, Choice
from leaderboard.charts import task_figures
from leaderboard.forms import budget_form
from leaderboard.models import Entry, PublishedScore, Task, TaskScore, TestData
from leaderboard.paper_scores import differs
from leaderboard.ranking import rank_on_task
from leaderboard.testdata import open_inputs

PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
YEAR = 365 * 24 * 3600


def scores_on(task: Task) -> list[TaskScore]:
    """The public entries' scores on ``task``, best first, each with ``printed``: the score the
    entry's paper printed on the task (or ``None``)."""
    scores = list(TaskScore.objects.filter(task=task, entry__in=Entry.objects.public())
                  .select_related("entry", "reference_version").order_by("-score"))
    printed = dict(PublishedScore.objects.filter(task=task).values_list("entry_id", "score"))
    for score in scores:
        score.printed = printed.get(score.entry_id)
        score.differs_from_paper = differs(score.score, score.printed)
    return scores


@dataclass
class TaskRow:
    """An entry on one task within a budget: its best point there, and its ELUE score on the
    task over all its points."""

    rank: int
    entry: Entry
    choice: Choice
    score: float | None


def ranked_within(task: Task, budget: Budget) -> list[TaskRow]:
    """The public entries with a point on ``task`` within ``budget``, ranked by it."""
    rows = rank_on_task(public_rows(budget=budget, task=task.slug), task.slug,
                        within_budget=True)
    return [TaskRow(row.rank, row.entry, row.budget.choices[task.slug],
                    row.task_scores.get(task.slug)) for row in rows]


def task_board(task: Task, budget: Budget) -> dict:
    """The expensive part of a task page, the same for everyone: its test data record, the
    chart's figures, and its entries ranked by score (or within ``budget``)."""
    return {"test_data": TestData.objects.filter(task=task).first(),
            "figures": task_figures(task, budget),
            "scores": [] if budget else scores_on(task),
            "rows": ranked_within(task, budget) if budget else []}


@shared_page
def task_detail(request, slug: str):
    """A task's page; an unreadable budget is a form error (400). What is the same for
    everyone is cached per board version and query string (``leaderboard.board_cache``)."""
    task = get_object_or_404(Task, slug=slug)
    form = budget_form(request.GET)
    budget = form.budget
    return render(request, "leaderboard/task.html", {
        **cached(request, f"task:{slug}", lambda: task_board(task, budget)),
        "task": task,
        "spec": TASKS[task.slug],
        "form": form,
        "budget": budget,
        "keep": [],
        "clear_query": "",
        "budget_query": urlencode(budget.query()),
        "labels": list(zip(TASKS[task.slug].labels or (), TASKS[task.slug].label_names,
                           strict=False)),
        "all_tasks": list(TASKS.values()),
        "plotly_version": plotly.__version__,
    }, status=200 if form.is_valid() else 400)


@require_GET
def task_inputs(request, slug: str):
    """The task's test inputs (``test.tsv``: index and texts). The labels are in another file
    that no view ever reads."""
    task = get_object_or_404(Task, slug=slug)
    if not TestData.objects.filter(task=task).exists():
        raise Http404(f"{task.name} test data is not loaded on this server")
    inputs = open_inputs(TASKS[task.slug])
    if inputs is None:
        raise Http404(f"{task.name} test inputs are missing on this server")
    return FileResponse(inputs, as_attachment=True,
                        filename=f"{task.slug}-test.tsv",
                        content_type="text/tab-separated-values; charset=utf-8")


@require_GET
@cache_control(public=True, max_age=YEAR, immutable=True)
def plotly_js(request, version: str):
    """plotly.min.js of the installed package; the version in the URL busts caches."""
    if version != plotly.__version__:
        raise Http404(f"this site serves plotly {plotly.__version__}")
    return FileResponse(open(PLOTLY_JS, "rb"), content_type="text/javascript; charset=utf-8")
