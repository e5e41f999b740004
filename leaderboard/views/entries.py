"""Entry pages: metadata, per task the operating points and how each number was obtained,
the score and its reference version, where the entry stands on the Pareto front, and the
measured latency, throughput, memory and energy of the points the platform ran."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from evaluator.score import overall_score
from leaderboard.actions import delete_entry, set_entry_visibility
from leaderboard.measurements import MIN_AGREEMENT
from leaderboard.models import Entry, Measurement, OperatingPoint, TaskScore
from leaderboard.standing import pareto_status

# How the performance and the parameter count of an entry of each kind were obtained.
PROVENANCE = {
    Entry.Kind.PUBLISHED: ("declared: typed in from the paper", "declared"),
    Entry.Kind.DECLARED: ("run: scored by ELUE from the predictions", "declared"),
    Entry.Kind.VERIFIED: ("run: scored by ELUE from the predictions",
                          "counted by ELUE from the model definition"),
    Entry.Kind.MODEL: ("run: ELUE ran the model", "counted by ELUE from the model"),
}


def histogram_bars(point: OperatingPoint) -> list[dict]:
    """The exit-layer histogram as bars: layer, examples, and width in percent of the
    largest bar."""
    histogram = point.exit_histogram or {}
    counts = sorted((int(layer), int(n)) for layer, n in histogram.items())
    total, top = sum(n for _, n in counts) or 1, max((n for _, n in counts), default=1) or 1
    return [{"layer": layer, "examples": n, "share": 100 * n / total, "width": 100 * n / top}
            for layer, n in counts]


def percent(fraction: float | None) -> str:
    return "–" if fraction is None else f"{100 * fraction:.1f}%"


def measured_row(point: OperatingPoint, measured: Measurement | None) -> dict | None:
    """A point's line in the measured-efficiency table: its figures on their hardware, or
    why the platform could not measure it (``None``: the platform did not run it)."""
    if measured is None:
        return {"point": point, "note": point.measurement_note} if point.measurement_note \
            else None
    disagrees = measured.agreement is not None and measured.agreement < MIN_AGREEMENT
    return {"point": point, "m": measured, "disagrees": disagrees,
            "cv": {"latency": percent(measured.latency_cv),
                   "throughput": percent(measured.throughput_cv),
                   "energy": percent(measured.energy_cv)}}


def task_sections(entry: Entry, scores: list[TaskScore]) -> list[dict]:
    by_task = {s.task_id: s for s in scores}
    measured = {m.point_id: m for m in Measurement.objects.filter(point__entry=entry)
                .select_related("profile")}
    sections = []
    for status in pareto_status(entry):
        rows = [measured_row(p.point, measured.get(p.point.pk)) for p in status.points]
        sections.append({
            "status": status,
            "score": by_task.get(status.task.pk),
            "points": [{"status": p, "bars": histogram_bars(p.point)} for p in status.points],
            "measured": [row for row in rows if row],
        })
    return sections


def entry_detail(request, pk: int):
    entry = get_object_or_404(Entry.objects.visible_to(request.user).select_related("owner"),
                              pk=pk)
    performance_from, params_from = PROVENANCE[entry.kind]
    scores = list(entry.scores.select_related("task", "reference_version"))
    return render(request, "leaderboard/entry.html", {
        "entry": entry,
        "sections": task_sections(entry, scores),
        "overall": overall_score({s.task.slug: s.score for s in scores}),
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
        messages.success(request, f"{entry.name} is now {visibility}.")
    return redirect("leaderboard:entry", pk=entry.pk)


@login_required
@require_POST
def entry_delete(request, pk: int):
    entry = _own_entry(request, pk)
    delete_entry(entry)
    messages.success(request, f"{entry.name} was deleted.")
    return redirect("leaderboard:my_submissions")
