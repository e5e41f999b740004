"""Entry pages: metadata, per task the operating points and how each number was obtained,
the score and its reference version, where the entry stands on the Pareto front, and the
scores its paper printed beside the platform's, with why they differ."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from evaluator.score import overall_score
from leaderboard.actions import delete_entry, set_entry_visibility
from leaderboard.models import Basis, Entry, OperatingPoint, TaskScore
from leaderboard.paper_scores import entry_comparison
from leaderboard.standing import pareto_status

# How the performance and the parameter count of an entry of each kind were obtained.
PROVENANCE = {
    Entry.Kind.PUBLISHED: ("declared: typed in from the paper", "declared"),
    Entry.Kind.DECLARED: ("run: scored by ELUE from the predictions", "declared"),
    Entry.Kind.VERIFIED: ("run: scored by ELUE from the predictions",
                          "counted by ELUE from the model definition"),
    Entry.Kind.MODEL: ("run: ELUE ran the model", "counted by ELUE from the model"),
}
# A model.py counted from its captured graphs that ELUE never ran (no weights).
CODE_NOT_RUN = ("run: scored by ELUE from the predictions",
                "counted by ELUE from the submitted code, not run: the predictions need not "
                "come from the computation counted")


def histogram_bars(point: OperatingPoint) -> list[dict]:
    """The exit-layer histogram as bars: layer, examples, and width in percent of the
    largest bar."""
    histogram = point.exit_histogram or {}
    counts = sorted((int(layer), int(n)) for layer, n in histogram.items())
    total, top = sum(n for _, n in counts) or 1, max((n for _, n in counts), default=1) or 1
    return [{"layer": layer, "examples": n, "share": 100 * n / total, "width": 100 * n / top}
            for layer, n in counts]


def task_sections(entry: Entry, scores: list[TaskScore], printed: dict) -> list[dict]:
    by_task = {s.task_id: s for s in scores}
    return [{
        "status": status,
        "score": by_task.get(status.task.pk),
        "printed": printed.get(status.task.slug),
        "points": [{"status": p, "bars": histogram_bars(p.point)} for p in status.points],
    } for status in pareto_status(entry)]


def entry_detail(request, pk: int):
    entry = get_object_or_404(Entry.objects.visible_to(request.user).select_related("owner"),
                              pk=pk)
    performance_from, params_from = PROVENANCE[entry.kind]
    if entry.points.filter(mflops_basis=Basis.CODE).exists():
        performance_from, params_from = CODE_NOT_RUN
    scores = list(entry.scores.select_related("task", "reference_version"))
    task_scores = {s.task.slug: s.score for s in scores}
    paper = entry_comparison(entry, task_scores)
    return render(request, "leaderboard/entry.html", {
        "entry": entry,
        "sections": task_sections(entry, scores, {p.task: p for p in paper}),
        "overall": overall_score(task_scores),
        "paper": paper,
        "paper_source": paper[0].source if len({p.source for p in paper}) == 1 else None,
        "paper_overall": next((p for p in paper if p.task is None), None),
        "coverage": len(scores),
        "performance_from": performance_from,
        "params_from": params_from,
        "is_owner": request.user.is_authenticated and entry.owner_id == request.user.pk,
        "submission": getattr(entry, "submission", None) if entry.owner_id else None,
    })


def _own_entry(request, pk: int) -> Entry:
    return get_object_or_404(Entry.objects.filter(owner=request.user), pk=pk)


@login_required
@require_POST
def entry_visibility(request, pk: int):
    entry = _own_entry(request, pk)
    visibility = request.POST.get("visibility", "")
    if visibility not in Entry.Visibility.values:
        messages.error(request, f"visibility must be one of {', '.join(Entry.Visibility.values)}")
    else:
        set_entry_visibility(entry, visibility)
        messages.success(request, f"{entry.name} is now {visibility}." + (
            " It is shown to others once staff have approved it."
            if visibility == Entry.Visibility.PUBLIC and entry.review != Entry.Review.APPROVED
            else ""))
    return redirect("leaderboard:entry", pk=entry.pk)


@login_required
@require_POST
def entry_delete(request, pk: int):
    entry = _own_entry(request, pk)
    delete_entry(entry)
    messages.success(request, f"{entry.name} was deleted.")
    return redirect("leaderboard:my_submissions")
