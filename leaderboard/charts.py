"""Plotly figures as plain data (``{"data": [...], "layout": {...}}``), built from the
database and rendered in the page by the site's own copy of plotly.js. No plotting library
runs on the server: the figures are dicts, so they are cheap and easy to test.

A task has its FLOPs and parameter views, and, per hardware profile that measured public
points on it, a latency and an energy view with that profile's own measured reference
curve: figures of different profiles never share a chart."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from django.urls import reverse

from evaluator.pareto import Point, pareto_front
from evaluator.score import point_differences
from leaderboard.measurements import (
    chartable,
    point_measurements,
    profiles_on,
    reference_measurements,
)
from leaderboard.models import (
    Entry,
    HardwareProfile,
    Measurement,
    OperatingPoint,
    ReferenceVersion,
    Task,
)

AXES = {"mflops": "MFLOPs per example (log scale)", "mparams": "MParams (log scale)",
        "latency": "Latency per example, batch 1, p50 (ms, log scale)",
        "energy": "Energy per example above idle (J, log scale)"}
MEASURED = {"latency": "latency_p50_ms", "energy": "energy_j"}
REFERENCE_NAME = "ElasticBERT-BASE (reference)"
FRONT_NAME = "Pareto front"
Cost = Callable[[OperatingPoint], float | None]


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


def axis_cost(axis: str) -> Cost:
    """A point's x value on the FLOPs or parameter axis."""
    return (lambda p: p.mflops) if axis == "mflops" else (lambda p: p.mparams)


def entry_traces(points: list[OperatingPoint], cost: Cost, x_format: str = ",.1f"
                 ) -> list[dict]:
    """One trace per entry: its points by cost, joined when it is a curve."""
    by_entry: dict[int, list[OperatingPoint]] = defaultdict(list)
    for point in points:
        if cost(point) is not None:
            by_entry[point.entry_id].append(point)
    traces = []
    for entry_points in by_entry.values():
        entry_points.sort(key=cost)
        entry = entry_points[0].entry
        traces.append({
            "type": "scatter", "mode": "lines+markers", "name": entry.name,
            "x": [cost(p) for p in entry_points],
            "y": [p.performance for p in entry_points],
            "text": [p.name for p in entry_points],
            "customdata": [reverse("leaderboard:entry", args=[entry.pk])] * len(entry_points),
            "meta": {"entry": entry.pk, "kind": entry.kind},
            "hovertemplate": f"<b>{_escape(entry.name)}</b> (%{{text}})<br>%{{y:.2f}} at "
                             f"%{{x:{x_format}}}<extra></extra>",
        })
    traces.sort(key=lambda t: t["name"].lower())
    return traces


def _escape(text: str) -> str:
    """Plotly renders hover text as HTML and reads %{...} as placeholders."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("%", "&#37;"))


def front_trace(points: list[OperatingPoint], cost: Cost, x_format: str = ",.1f"
                ) -> dict | None:
    """A step line through the non-dominated points, cheapest first."""
    costed = [p for p in points if cost(p) is not None]
    if not costed:
        return None
    front = [costed[i] for i in pareto_front([Point(cost(p), p.performance) for p in costed])]
    return {
        "type": "scatter", "mode": "lines", "name": FRONT_NAME, "line": {"shape": "hv",
                                                                        "color": "#c0392b",
                                                                        "width": 3},
        "x": [cost(p) for p in front], "y": [p.performance for p in front],
        "text": [f"{p.entry.name} ({p.name})" for p in front],
        "hovertemplate": f"front: %{{text}}<br>%{{y:.2f}} at %{{x:{x_format}}}<extra></extra>",
        "opacity": 0.55,
    }


def public_points(task: Task) -> list[OperatingPoint]:
    return list(OperatingPoint.objects.filter(task=task, entry__visibility=Entry.Visibility.PUBLIC)
                .select_related("entry"))


def task_figures(task: Task) -> dict:
    """The views of a task for the toggle: ``{"mflops": figure, "mparams": figure,
    "measured": {profile key: {"label", "latency": figure, "energy": figure or None}}}``.
    The reference curve has no parameter counts, so it is not on the MParams view."""
    points = public_points(task)
    version = ReferenceVersion.objects.current()
    reference = reference_trace(task, version)
    figures: dict = {}
    for axis in ("mflops", "mparams"):
        cost = axis_cost(axis)
        extra = [reference if axis == "mflops" else None, front_trace(points, cost)]
        figures[axis] = {"data": [t for t in extra if t] + entry_traces(points, cost),
                         "layout": _layout(task, axis)}
    figures["measured"] = {profile.key: measured_figures(task, profile, version)
                           for profile in profiles_on(task)}
    return figures


def measured_figures(task: Task, profile: HardwareProfile,
                     version: ReferenceVersion | None) -> dict:
    """The latency and energy views of ``task`` on one hardware profile (the energy view is
    ``None`` when no point has an energy figure there)."""
    measured = list(chartable(point_measurements(profile, task)))
    points = [m.point for m in measured]
    by_point = {m.point_id: m for m in measured}
    references = reference_measurements(profile, task)
    figures: dict = {"label": profile.label}
    for axis, field in MEASURED.items():
        def cost(point, field=field):
            return getattr(by_point[point.pk], field)
        if not any(cost(p) is not None for p in points):
            figures[axis] = None
            continue
        traces = [measured_reference_trace(task, references, field, version),
                  front_trace(points, cost, ",.3g")]
        figures[axis] = {"data": [t for t in traces if t] + entry_traces(points, cost, ",.3g"),
                         "layout": _layout(task, axis) | {"title": {"text": profile.label,
                                                                    "font": {"size": 13}}}}
    return figures


def measured_reference_trace(task: Task, references: list[Measurement], field: str,
                             version: ReferenceVersion | None) -> dict | None:
    """The reference curve on a measured axis: each depth's measured figure on this
    profile against that depth's reference performance."""
    if version is None:
        return None
    performance = dict(version.points.filter(task=task).values_list("layers", "performance"))
    shown = [(getattr(m, field), performance[m.reference_layers], m.reference_layers)
             for m in references
             if getattr(m, field) is not None and m.reference_layers in performance]
    if not shown:
        return None
    return {
        "type": "scatter", "mode": "lines+markers", "name": f"{REFERENCE_NAME}, measured",
        "x": [x for x, _, _ in shown], "y": [y for _, y, _ in shown],
        "text": [f"{layers} layers" for _, _, layers in shown],
        "hovertemplate": "ElasticBERT-BASE %{text}<br>%{y:.1f} at %{x:,.3g}<extra></extra>",
        "line": {"color": "#111", "dash": "dash"}, "marker": {"symbol": "diamond"},
    }


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
