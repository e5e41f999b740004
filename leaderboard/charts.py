"""Plotly figures as plain data (``{"data": [...], "layout": {...}}``), built from the
database and rendered in the page by the site's own copy of plotly.js. No plotting library
runs on the server: the figures are dicts, so they are cheap and easy to test."""

from __future__ import annotations

from collections import defaultdict

from django.urls import reverse

from evaluator.pareto import Point, pareto_front
from evaluator.score import point_differences
from leaderboard.models import Entry, OperatingPoint, ReferenceVersion, Task

AXES = {"mflops": "MFLOPs per example (log scale)", "mparams": "MParams (log scale)"}
REFERENCE_NAME = "ElasticBERT-BASE (reference)"
FRONT_NAME = "Pareto front"


def _layout(task: Task, axis: str) -> dict:
    return {
        "xaxis": {"title": {"text": AXES[axis]}, "type": "log"},
        "yaxis": {"title": {"text": f"{task.name} {task.metric} (×100)"}},
        "hovermode": "closest",
        "margin": {"l": 60, "r": 20, "t": 20, "b": 50},
        "legend": {"orientation": "h", "y": -0.2},
        "height": 520,
    }


def reference_trace(task: Task, version: ReferenceVersion | None) -> dict | None:
    """The reference curve on the MFLOPs axis, one point per truncation depth."""
    if version is None:
        return None
    points = list(version.points.filter(task=task).order_by("mflops"))
    if not points:
        return None
    return {
        "type": "scatter", "mode": "lines+markers", "name": REFERENCE_NAME,
        "x": [p.mflops for p in points], "y": [p.performance for p in points],
        "text": [f"{p.layers} layers" for p in points],
        "hovertemplate": "ElasticBERT-BASE %{text}<br>%{y:.1f} at %{x:,.1f}<extra></extra>",
        "line": {"color": "#111", "dash": "dash"}, "marker": {"symbol": "diamond"},
    }


def _cost(point: OperatingPoint, axis: str) -> float | None:
    return point.mflops if axis == "mflops" else point.mparams


def entry_traces(points: list[OperatingPoint], axis: str) -> list[dict]:
    """One trace per entry: its points by cost, joined when it is a curve."""
    by_entry: dict[int, list[OperatingPoint]] = defaultdict(list)
    for point in points:
        if _cost(point, axis) is not None:
            by_entry[point.entry_id].append(point)
    traces = []
    for entry_points in sorted(by_entry.values(), key=lambda ps: ps[0].entry.name.lower()):
        entry_points.sort(key=lambda p: _cost(p, axis))
        entry = entry_points[0].entry
        traces.append({
            "type": "scatter", "mode": "lines+markers", "name": _escape(entry.name),
            "x": [_cost(p, axis) for p in entry_points],
            "y": [p.performance for p in entry_points],
            "text": [_escape(p.name) for p in entry_points],
            "customdata": [reverse("leaderboard:entry", args=[entry.pk])] * len(entry_points),
            "meta": {"entry": entry.pk, "kind": entry.kind},
            "hovertemplate": f"<b>{_escape(entry.name)}</b> (%{{text}})<br>%{{y:.2f}} at "
                             "%{x:,.1f}<extra></extra>",
        })
    return traces


def _escape(text: str) -> str:
    """Plotly renders legend names, hover text and ``text`` values as HTML (links included)
    and reads %{...} as placeholders: every name a submitter chose goes through here."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("%", "&#37;"))


def front_trace(points: list[OperatingPoint], axis: str) -> dict | None:
    """A step line through the non-dominated points, cheapest first."""
    costed = [p for p in points if _cost(p, axis) is not None]
    if not costed:
        return None
    front = [costed[i] for i in pareto_front([Point(_cost(p, axis), p.performance)
                                              for p in costed])]
    return {
        "type": "scatter", "mode": "lines", "name": FRONT_NAME, "line": {"shape": "hv",
                                                                        "color": "#c0392b",
                                                                        "width": 3},
        "x": [_cost(p, axis) for p in front], "y": [p.performance for p in front],
        "text": [_escape(f"{p.entry.name} ({p.name})") for p in front],
        "hovertemplate": "front: %{text}<br>%{y:.2f} at %{x:,.1f}<extra></extra>",
        "opacity": 0.55,
    }


def public_points(task: Task) -> list[OperatingPoint]:
    return list(OperatingPoint.objects.filter(task=task, entry__visibility=Entry.Visibility.PUBLIC)
                .select_related("entry"))


def task_figures(task: Task) -> dict[str, dict]:
    """Both views of a task, ``{"mflops": figure, "mparams": figure}``, for the toggle. The
    reference curve has no parameter counts, so it appears on the MFLOPs view only."""
    points = public_points(task)
    reference = reference_trace(task, ReferenceVersion.objects.current())
    figures = {}
    for axis in AXES:
        traces = entry_traces(points, axis)
        extra = [front_trace(points, axis)]
        if axis == "mflops":
            extra.insert(0, reference)
        figures[axis] = {"data": [t for t in extra if t] + traces,
                         "layout": _layout(task, axis)}
    return figures


# The worked example of SPEC §4: LayerDrop on SST-2.
EXAMPLE_NAME = "LayerDrop (example)"
EXAMPLE_POINTS = [Point(1041, 81.9), Point(1387, 84.3), Point(2082, 86.3), Point(4164, 87.9)]


def score_figure(version: ReferenceVersion | None) -> dict | None:
    """SST-2's reference curve and the worked example's points, with each point's distance to
    the curve drawn as a vertical segment: the score is the mean of those distances."""
    task = Task.objects.filter(slug="sst-2").first()
    if task is None or version is None:
        return None
    reference = reference_trace(task, version)
    if reference is None:
        return None
    curve = [Point(x, y) for x, y in zip(reference["x"], reference["y"], strict=True)]
    gaps = point_differences(EXAMPLE_POINTS, curve)
    segments_x, segments_y = [], []
    for point, gap in zip(EXAMPLE_POINTS, gaps, strict=True):
        segments_x += [point.cost, point.cost, None]
        segments_y += [point.performance, point.performance - gap, None]
    example = {"type": "scatter", "mode": "markers+text", "name": EXAMPLE_NAME,
               "x": [p.cost for p in EXAMPLE_POINTS], "y": [p.performance for p in EXAMPLE_POINTS],
               "text": [f"{g:+.2f}" for g in gaps], "textposition": "bottom right",
               "marker": {"size": 9, "color": "#2456a6"}}
    differences = {"type": "scatter", "mode": "lines", "name": "Perf − Ref(FLOPs)",
                   "x": segments_x, "y": segments_y, "hoverinfo": "skip",
                   "line": {"color": "#c0392b", "width": 2}}
    layout = _layout(task, "mflops") | {"height": 420}
    return {"data": [reference, differences, example], "layout": layout,
            "score": sum(gaps) / len(gaps)}
