"""Plotly figures as plain data (``{"data": [...], "layout": {...}}``), built from the
database and rendered in the page by the site's own copy of plotly.js. No plotting library
runs on the server: the figures are dicts, so they are cheap and easy to test.

- ``task_figures``: a task's chart on both axes (MFLOPs, MParams): the reference curve, the
  Pareto front, one trace per entry in a legend grouped by kind (published, declared cost,
  verified cost, model; each kind its marker shape, twenty-two colours), log axes ticked
  1k, 2k, 5k… (``log_axis``), a height that fits the legend (``chart_height``). With a budget,
  points over it fade, a band shades what is over it (``budget_shapes``) and the front is
  drawn through the points within it. ``task_chart.js`` highlights the hovered curve.
- ``score_figure``: the worked example of the score on the about page.
"""

from __future__ import annotations

import math
from collections import defaultdict

from django.urls import reverse

from evaluator.pareto import Point, pareto_front
from evaluator.score import point_differences
from leaderboard.budget import LIMITS, Budget
from leaderboard.models import Entry, OperatingPoint, ReferenceVersion, Task

AXES = {"mflops": "MFLOPs per example (log scale)", "mparams": "MParams (log scale)"}
REFERENCE_NAME = "ElasticBERT-BASE (reference)"
FRONT_NAME = "Pareto front"
FRONT_IN_BUDGET_NAME = "Pareto front within budget"
BENCHMARK_GROUP = "benchmark"
# Legend groups in this order, each titled; an entry's marker shape says its kind too.
KIND_ORDER = [kind for kind, _ in Entry.Kind.choices]
KIND_SYMBOLS = {"published": "circle", "declared": "square", "verified": "diamond",
                "model": "triangle-up"}
# Plotly's Dark24 without its red and near-black (the front's and the reference's colours):
# twenty-two colours, so twenty entries on one task do not repeat a colour.
COLORWAY = ["#2E91E5", "#E15F99", "#1CA71C", "#DA16FF", "#B68100", "#750D86", "#EB663B",
            "#511CFB", "#00A08B", "#FB00D1", "#FC0080", "#B2828D", "#6C7C32", "#778AAE",
            "#862A16", "#A777F1", "#620042", "#1616A7", "#DA60CA", "#6C4516", "#0D2A63",
            "#AF0038"]
OUT_OF_BUDGET_OPACITY = 0.2
OVER_BUDGET_FILL = "rgba(90, 100, 115, 0.16)"
LOG_PADDING = 0.06  # decades of room left and right of the outermost points
# Tall enough that the legend (one 19 px line per curve and per group title, 12 px between
# groups) never needs its own scrollbar; the plot grows with it.
LEGEND_LINE, GROUP_GAP, MIN_HEIGHT, CHROME = 19, 12, 560, 90


def chart_height(traces: list[dict]) -> int:
    """Pixels for a chart whose legend lists ``traces``, grouped by ``legendgroup``."""
    groups = len({t.get("legendgroup") for t in traces})
    return max(MIN_HEIGHT, LEGEND_LINE * (len(traces) + groups) + GROUP_GAP * groups + CHROME)


def tick_label(value: float) -> str:
    """A tick as a person reads it at a glance: 500, 1k, 2k, 50k, 1M.

    >>> [tick_label(v) for v in (0.5, 20, 1000, 2000, 50000, 1e6)]
    ['0.5', '20', '1k', '2k', '50k', '1M']
    """
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def log_ticks(low: float, high: float) -> list[float]:
    """Tick values 1, 2, 5 × 10^k from ``low`` to ``high`` (every digit 1-9 when the range is
    narrower than a decade, so that a few ticks always show)."""
    for mantissas in ((1, 2, 5), (1, 2, 3, 4, 5, 6, 7, 8, 9)):
        ticks = [m * 10.0 ** k for k in range(math.floor(math.log10(low)) - 1,
                                              math.ceil(math.log10(high)) + 1)
                 for m in mantissas if low <= m * 10.0 ** k <= high]
        if len(ticks) >= 3:
            return ticks
    return ticks


def log_axis(values: list[float], title: str) -> dict:
    """A log x axis fitted to ``values`` (range in decades, as Plotly wants it) with ticks
    labelled 1k, 2k, 5k…"""
    if not values:
        return {"title": {"text": title}, "type": "log"}
    low = math.log10(min(values)) - LOG_PADDING
    high = math.log10(max(values)) + LOG_PADDING
    ticks = log_ticks(10 ** low, 10 ** high)
    return {"title": {"text": title}, "type": "log", "range": [low, high],
            "tickmode": "array", "tickvals": ticks, "ticktext": [tick_label(t) for t in ticks]}


def _layout(task: Task, axis: str, xs: list[float], height: int = MIN_HEIGHT) -> dict:
    return {
        "xaxis": log_axis(xs, AXES[axis]),
        "yaxis": {"title": {"text": f"{task.name} {task.metric} (×100)"}},
        "hovermode": "closest",
        "margin": {"l": 60, "r": 20, "t": 20, "b": 50},
        "legend": {"traceorder": "grouped", "groupclick": "toggleitem", "tracegroupgap": 12,
                   "font": {"size": 12}},
        "colorway": COLORWAY,
        "height": height,
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
        "legendgroup": BENCHMARK_GROUP, "legendgrouptitle": {"text": "Benchmark"},
        "x": [p.mflops for p in points], "y": [p.performance for p in points],
        "text": [f"{p.layers} layers" for p in points],
        "hovertemplate": "ElasticBERT-BASE %{text}<br>%{y:.1f} at %{x:,.1f}<extra></extra>",
        "line": {"color": "#111", "dash": "dash"}, "marker": {"symbol": "diamond"},
    }


def _cost(point: OperatingPoint, axis: str) -> float | None:
    return point.mflops if axis == "mflops" else point.mparams


def _opacities(points: list[OperatingPoint], budget: Budget) -> list[float] | float:
    """Each point's marker opacity: faded when over the budget (on any limit, shown axis or
    not)."""
    if not budget:
        return 1.0
    return [1.0 if budget.admits(p) else OUT_OF_BUDGET_OPACITY for p in points]


def entry_trace(entry_points: list[OperatingPoint], axis: str, budget: Budget) -> dict:
    """One entry's points by cost, joined when it is a curve, in its kind's legend group."""
    entry = entry_points[0].entry
    in_budget = not budget or any(budget.admits(p) for p in entry_points)
    return {
        "type": "scatter", "mode": "lines+markers", "name": _escape(entry.name),
        "legendgroup": entry.kind,
        "x": [_cost(p, axis) for p in entry_points],
        "y": [p.performance for p in entry_points],
        "text": [_escape(p.name) for p in entry_points],
        "customdata": [reverse("leaderboard:entry", args=[entry.pk])] * len(entry_points),
        "meta": {"entry": entry.pk, "kind": entry.kind},
        "marker": {"symbol": KIND_SYMBOLS.get(entry.kind, "circle"), "size": 7,
                   "opacity": _opacities(entry_points, budget)},
        "line": {"width": 1.5},
        "opacity": 1.0 if in_budget else 0.45,
        "hovertemplate": f"<b>{_escape(entry.name)}</b> (%{{text}})<br>%{{y:.2f}} at "
                         "%{x:,.1f}<extra></extra>",
    }


def entry_traces(points: list[OperatingPoint], axis: str,
                 budget: Budget | None = None) -> list[dict]:
    """One trace per entry, grouped by kind (published, declared, verified, model) and by
    name within a kind; the first of each group carries the group's legend title."""
    by_entry: dict[int, list[OperatingPoint]] = defaultdict(list)
    for point in points:
        if _cost(point, axis) is not None:
            by_entry[point.entry_id].append(point)
    traces = []
    for entry_points in sorted(by_entry.values(), key=lambda ps: ps[0].entry.name.lower()):
        entry_points.sort(key=lambda p: _cost(p, axis))
        traces.append(entry_trace(entry_points, axis, budget or Budget()))
    traces.sort(key=lambda t: (KIND_ORDER.index(t["legendgroup"]), t["name"].lower()))
    titled = set()
    for trace in traces:
        if trace["legendgroup"] not in titled:
            titled.add(trace["legendgroup"])
            trace["legendgrouptitle"] = {"text": Entry.Kind(trace["legendgroup"]).label}
    return traces


def _escape(text: str) -> str:
    """Plotly renders legend names, hover text and ``text`` values as HTML (links included)
    and reads %{...} as placeholders: every name a submitter chose goes through here."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("%", "&#37;"))


def front_trace(points: list[OperatingPoint], axis: str,
                budget: Budget | None = None) -> dict | None:
    """A step line through the non-dominated points, cheapest first; with a budget, through
    those of the points within it."""
    costed = [p for p in points if _cost(p, axis) is not None
              and (not budget or budget.admits(p))]
    if not costed:
        return None
    front = [costed[i] for i in pareto_front([Point(_cost(p, axis), p.performance)
                                              for p in costed])]
    return {
        "type": "scatter", "mode": "lines", "name": FRONT_IN_BUDGET_NAME if budget else FRONT_NAME,
        "legendgroup": BENCHMARK_GROUP, "legendgrouptitle": {"text": "Benchmark"},
        "line": {"shape": "hv", "color": "#c0392b", "width": 3},
        "x": [_cost(p, axis) for p in front], "y": [p.performance for p in front],
        "text": [_escape(f"{p.entry.name} ({p.name})") for p in front],
        "hovertemplate": "front: %{text}<br>%{y:.2f} at %{x:,.1f}<extra></extra>",
        "opacity": 0.55,
    }


def budget_shapes(budget: Budget, axis: str, layout: dict) -> list[dict]:
    """A shaded band over what the budget excludes on this axis (from the limit to past the
    right edge), labelled "over budget"."""
    shapes = []
    for limit in LIMITS:
        maximum = budget.get(limit.param)
        if maximum is None or limit.attribute != axis:
            continue
        right = 10 ** (layout["xaxis"].get("range", [0, math.log10(maximum) + 1])[1] + 1)
        shapes.append({
            "type": "rect", "xref": "x", "yref": "paper", "x0": maximum, "x1": right,
            "y0": 0, "y1": 1, "fillcolor": OVER_BUDGET_FILL, "line": {"width": 0},
            "layer": "below", "name": limit.param,
            "label": {"text": f"over budget (> {tick_label(maximum)} {limit.unit})",
                      "textposition": "top left", "font": {"size": 12, "color": "#3d4654"}},
        })
    return shapes


def public_points(task: Task) -> list[OperatingPoint]:
    return list(OperatingPoint.objects.filter(Entry.shown_publicly("entry__"), task=task)
                .select_related("entry"))


def task_figures(task: Task, budget: Budget | None = None) -> dict[str, dict]:
    """Both views of a task, ``{"mflops": figure, "mparams": figure}``, for the toggle. The
    reference curve has no parameter counts, so it appears on the MFLOPs view only. With a
    ``budget``, points over it are faded, the band over it shaded, and the front drawn
    through the points within it."""
    budget = budget or Budget()
    points = public_points(task)
    reference = reference_trace(task, ReferenceVersion.objects.current())
    figures = {}
    for axis in AXES:
        traces = entry_traces(points, axis, budget)
        extra = [front_trace(points, axis, budget)]
        if axis == "mflops":
            extra.insert(0, reference)
        data = [t for t in extra if t] + traces
        layout = _layout(task, axis, [x for t in data for x in t["x"]], chart_height(data))
        layout["shapes"] = budget_shapes(budget, axis, layout)
        figures[axis] = {"data": data, "layout": layout}
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
    layout = _layout(task, "mflops", reference["x"] + [p.cost for p in EXAMPLE_POINTS])
    layout |= {"height": 420, "legend": {"orientation": "h", "y": -0.25}}
    return {"data": [reference, differences, example], "layout": layout,
            "score": sum(gaps) / len(gaps)}
