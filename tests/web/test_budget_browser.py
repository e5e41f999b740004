"""The budget explorer and the task chart in a real browser (Debian's Chromium, headless)
against a live server: a budget typed in narrows the board and the chart, the link keeps
it, and the API ranks the same way (fixtures: ``tests/web/conftest.py``)."""

from __future__ import annotations

import re

import pytest

from leaderboard.models import Basis, Entry, OperatingPoint, ReferenceVersion, Task
from leaderboard.scoring import score_entry
from tests.web.browser import api_order, board_order, chart_traces

pytestmark = [pytest.mark.slow,
              pytest.mark.django_db(transaction=True)]


def test_a_researcher_sets_a_budget_and_shares_the_view(visit):
    tab = visit()
    page = tab.go("/")
    everything = board_order(page)
    page.fill("#id_max_mflops", "30000")
    page.fill("#id_max_mparams", "70")
    # The table follows as one types (no submit), and the address bar carries the budget.
    page.wait_for_url(re.compile(r".*\?max_mflops=30000&max_mparams=70$"))
    page.wait_for_selector("table.within-budget")
    within = board_order(page)
    assert within != everything and set(within) < set(everything)
    assert "BERT-BASE" in within and "at most 30000 MFLOPs and 70 M params" in page.inner_text(
        ".budget-summary")
    assert within == api_order(tab, "max_mflops=30000&max_mparams=70")
    tab.shot("leaderboard-budget")

    page.reload()  # the shared link shows the same view
    assert board_order(page) == within
    assert page.input_value("#id_max_mflops") == "30000"
    page.click("a.budget-clear")
    page.wait_for_url(re.compile(r".*/$"))
    assert board_order(page) == everything
    assert tab.foreign_requests() == []


def test_the_budget_table_works_without_javascript(visit):
    tab = visit(java_script_enabled=False)
    page = tab.go("/?track=70")
    page.fill("#id_max_mflops", "1500")
    page.click("form.budget button[type=submit]")
    page.wait_for_url(re.compile(r".*\?track=70&max_mflops=1500&max_mparams=$"))
    assert board_order(page) == api_order(tab, "track=70&max_mflops=1500")
    response = page.goto("/?max_mflops=%C2%B2")  # a hand-edited link
    assert response.status == 400
    assert "Max MFLOPs per example: must be" in page.inner_text("#budget-errors")
    assert len(board_order(page)) == 16


def highlighted_on_hover(page, name: str) -> dict:
    """Move the real mouse onto the first point of ``name``'s curve; what the chart shows."""
    box = page.evaluate("""name => {
        const gd = document.getElementById('task-chart');
        const i = gd.data.findIndex(t => t.name === name);
        const size = gd._fullLayout._size, rect = gd.getBoundingClientRect();
        const x = gd._fullLayout.xaxis.l2p(Math.log10(gd.data[i].x[0])) + size.l;
        const y = gd._fullLayout.yaxis.l2p(gd.data[i].y[0]) + size.t;
        return {x: rect.left + x, y: rect.top + y};
    }""", name)
    page.mouse.move(box["x"], box["y"])
    page.wait_for_function("document.getElementById('task-chart').dataset.highlighted")
    return page.evaluate("""() => {
        const gd = document.getElementById('task-chart');
        return {name: gd.dataset.highlighted,
                faded: gd.data.filter(t => t.meta && t.meta.entry && t.opacity < 0.5).length,
                entries: gd.data.filter(t => t.meta && t.meta.entry).length};
    }""")


def add_entry(owner, name: str, kind: str, mflops: float, performance: float,
              mparams: float) -> Entry:
    """A scored entry of any kind with one SST-2 point, as a finished submission leaves it."""
    entry = Entry.objects.create(owner=owner, name=name, kind=kind)
    OperatingPoint.objects.create(entry=entry, task=Task.objects.get(slug="sst-2"), name="6L",
                                  mflops=mflops, performance=performance, mparams=mparams,
                                  mflops_basis=Basis.DECLARED)
    score_entry(entry, ReferenceVersion.objects.current())
    return entry


def test_a_task_page_with_a_budget_shades_the_chart_and_ranks_the_table(visit, alice):
    # Twenty entries on SST-2: the seeded sixteen (published) and four of the other kinds.
    for i, (kind, mflops, performance) in enumerate([
            ("declared", 900, 80.2), ("verified", 1300, 84.9), ("model", 1800, 86.1),
            ("declared", 3100, 88.0)]):
        add_entry(alice, f"Compact-{i + 1}", kind, mflops, performance, 30 + 10 * i)
    tab = visit(viewport={"width": 1400, "height": 900})
    page = tab.go("/tasks/sst-2/")
    assert len(chart_traces(page)) == 22  # the reference, the front, twenty entries
    groups = page.evaluate("document.getElementById('task-chart').data"
                           ".filter(t => t.legendgrouptitle).map(t => t.legendgrouptitle.text)")
    assert groups == ["Benchmark", "Benchmark", "Published", "Declared cost", "Verified cost",
                      "Model"]
    seen = highlighted_on_hover(page, "Compact-2")
    assert seen == {"name": "Compact-2", "faded": 19, "entries": 20}
    ticks = page.eval_on_selector_all(".xtick text", "ticks => ticks.map(t => t.textContent)")
    assert {"1k", "2k", "3k", "4k"} <= set(ticks)
    tab.shot("task-sst-2-twenty-entries")

    page.mouse.move(5, 5)
    page.fill("#id_max_mflops", "2000")
    page.wait_for_url(re.compile(r".*/tasks/sst-2/\?max_mflops=2000$"))
    page.wait_for_function("document.getElementById('task-chart').layout.shapes.length === 1")
    assert "Pareto front within budget" in chart_traces(page)
    order = board_order(page)
    assert order == api_order(tab, "task=sst-2&max_mflops=2000") and "Compact-3" in order
    assert "Compact-4" not in order  # its only point costs 3,100 MFLOPs
    tab.shot("task-sst-2-budget")

    page.reload()
    assert board_order(page) == order
    page.wait_for_function("document.getElementById('task-chart').layout.shapes.length === 1")
    assert tab.foreign_requests() == []
