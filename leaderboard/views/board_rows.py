"""The leaderboard's rows rendered for speed (1,000 entries in well under 100 ms, with the
rows of ``leaderboard.board``): each row's HTML is built with string formatting, since the
template engine spends ~0.3 ms per row on 15 cells (``bench/bench_leaderboard.py``).

- ``rows_html``: ELUE scores per task and overall, the overall score the paper printed, and a
  discreet † where the paper printed a score more than 0.01 from the platform's.
- ``budget_rows_html``: within a budget, each task's chosen point (performance, and its
  difference from the reference below it), the mean performance and the mean difference.
"""

from __future__ import annotations

from html import escape

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from evaluator.benchmark import TASK_ORDER
from leaderboard.board import OVERALL
from leaderboard.budget import Choice
from leaderboard.paper_scores import differs
from leaderboard.ranking import LeaderboardRow

DASH = "&ndash;"


def _number(value: float | None, digits: int) -> str:
    """``value`` rounded as ``floatformat`` shows it (no "-0.00"), or a dash."""
    if value is None:
        return DASH
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def _signed(value: float | None) -> str:
    """A difference with its sign (+0.42, −1.30), or a dash."""
    text = _number(value, 2)
    return text if text == DASH or text.startswith("-") else f"+{text}"


def _link(url: str, label: str) -> str:
    if not url:
        return ""
    return f' <a class="ext" href="{escape(url)}" rel="noopener nofollow">{label}</a>'


def paper_mark(ours: float | None, printed: float | None) -> str:
    """A † with the paper's number in its tooltip, where the paper printed a score more than
    0.01 from ours; nothing otherwise."""
    if not differs(ours, printed):
        return ""
    return (f'<sup class="paper-diff" title="the paper printed {_number(printed, 2)}; the '
            f'entry page says why they differ">†</sup>')


def _score_cell(row: LeaderboardRow, slug: str) -> str:
    score = row.task_scores.get(slug)
    return (f'<td class="num score">{_number(score, 2)}'
            f'{paper_mark(score, row.published.get(slug))}</td>')


def _entry_cells(row: LeaderboardRow, entry_url: str, mparams: float | None,
                 coverage: int) -> str:
    """The cells every row starts with: rank, model (with links), kind, params, tasks."""
    entry, name = row.entry, escape(row.entry.name)
    dynamic = (' <span class="dyn" title="early-exit model: a curve of operating points">'
               'dynamic</span>' if entry.is_dynamic else "")
    return (
        f'<td class="rank">{row.rank}</td>'
        f'<td class="model"><a href="{entry_url.format(entry.pk)}">{name}</a>{dynamic}'
        f'{_link(entry.paper_url, "paper")}{_link(entry.code_url, "code")}</td>'
        f'<td><span class="badge kind-{entry.kind}">{escape(entry.get_kind_display())}</span></td>'
        f'<td class="num">{_number(mparams, 1)}</td>'
        f'<td class="num coverage">{coverage}/{len(TASK_ORDER)}</td>'
    )


def row_html(row: LeaderboardRow, entry_url: str) -> str:
    """One ``<tr>`` of the table; ``entry_url`` has ``{}`` where the entry's id goes."""
    scores = "".join(_score_cell(row, slug) for slug in TASK_ORDER)
    printed = row.published.get(OVERALL)
    return (
        f'<tr class="entry{"" if row.full_coverage else " partial"}" '
        f'data-entry="{escape(row.entry.name)}">'
        f'{_entry_cells(row, entry_url, row.mparams, row.coverage)}{scores}'
        f'<td class="num overall">{_number(row.overall, 2)}{paper_mark(row.overall, printed)}'
        f'</td><td class="num paper">{_number(printed, 2)}</td></tr>\n'
    )


def _choice_cell(choice: Choice | None) -> str:
    if choice is None:
        return f'<td class="num perf">{DASH}</td>'
    point = choice.point
    params = f", {point.mparams:,.2f} M params" if point.mparams is not None else ""
    title = escape(f"point {point.name}: {point.mflops:,.1f} MFLOPs{params}; "
                   "below: difference from the reference at the same MFLOPs")
    return (f'<td class="num perf" data-point="{escape(point.name)}" title="{title}">'
            f'{_number(point.performance, 1)}<small class="diff">{_signed(choice.difference)}'
            '</small></td>')


def budget_row_html(row: LeaderboardRow, entry_url: str) -> str:
    """One ``<tr>`` within a budget: the entry's best point within it on each task."""
    standing = row.budget
    cells = "".join(_choice_cell(choice) for choice in standing.in_order())
    return (
        f'<tr class="entry{"" if standing.full_coverage else " partial"}" '
        f'data-entry="{escape(row.entry.name)}">'
        f'{_entry_cells(row, entry_url, standing.mparams, standing.coverage)}{cells}'
        f'<td class="num performance">{_number(standing.performance, 2)}</td>'
        f'<td class="num overall">{_signed(standing.difference)}</td></tr>\n'
    )


def _entry_url() -> str:
    return reverse("leaderboard:entry", args=[0]).replace("/0/", "/{}/")


def rows_html(rows: list[LeaderboardRow]) -> SafeString:
    entry_url = _entry_url()
    return mark_safe("".join(row_html(row, entry_url) for row in rows))  # every field escaped


def budget_rows_html(rows: list[LeaderboardRow]) -> SafeString:
    entry_url = _entry_url()
    return mark_safe("".join(budget_row_html(row, entry_url)  # every field escaped
                             for row in rows))
