"""The leaderboard's rows rendered for speed (1,000 entries in well under 100 ms, with the
rows of ``leaderboard.board``): each row's HTML is built with string formatting, since the
template engine spends ~0.3 ms per row on 15 cells (``bench/bench_leaderboard.py``)."""

from __future__ import annotations

from html import escape

from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from evaluator.benchmark import TASK_ORDER
from leaderboard.ranking import LeaderboardRow

DASH = "&ndash;"


def _number(value: float | None, digits: int) -> str:
    """``value`` rounded as ``floatformat`` shows it (no "-0.00"), or a dash."""
    if value is None:
        return DASH
    text = f"{value:.{digits}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.") else text


def _link(url: str, label: str) -> str:
    if not url:
        return ""
    return f' <a class="ext" href="{escape(url)}" rel="noopener nofollow">{label}</a>'


def row_html(row: LeaderboardRow, entry_url: str) -> str:
    """One ``<tr>`` of the table; ``entry_url`` has ``{}`` where the entry's id goes."""
    entry, name = row.entry, escape(row.entry.name)
    dynamic = (' <span class="dyn" title="early-exit model: a curve of operating points">'
               'dynamic</span>' if entry.is_dynamic else "")
    scores = "".join(f'<td class="num score">{_number(s, 2)}</td>'
                     for s in row.scores_in_order())
    return (
        f'<tr class="entry{"" if row.full_coverage else " partial"}" data-entry="{name}">'
        f'<td class="rank">{row.rank}</td>'
        f'<td class="model"><a href="{entry_url.format(entry.pk)}">{name}</a>{dynamic}'
        f'{_link(entry.paper_url, "paper")}{_link(entry.code_url, "code")}</td>'
        f'<td><span class="badge kind-{entry.kind}">{escape(entry.get_kind_display())}</span></td>'
        f'<td class="num">{_number(row.mparams, 1)}</td>'
        f'<td class="num coverage">{row.coverage}/{len(TASK_ORDER)}</td>{scores}'
        f'<td class="num overall">{_number(row.overall, 2)}</td></tr>\n'
    )


def rows_html(rows: list[LeaderboardRow]) -> SafeString:
    entry_url = reverse("leaderboard:entry", args=[0]).replace("/0/", "/{}/")
    return mark_safe("".join(row_html(row, entry_url) for row in rows))  # every field escaped
