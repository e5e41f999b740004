"""The chart helpers that need no database: log-axis ticks a person reads at a glance."""

from __future__ import annotations

import math

from leaderboard.charts import chart_height, log_axis, log_ticks, tick_label


def test_ticks_are_one_two_five_over_a_wide_range():
    assert log_ticks(300, 60000) == [500, 1000, 2000, 5000, 10000, 20000, 50000]


def test_a_narrow_range_gets_every_digit():
    assert log_ticks(900, 4500) == [900, 1000, 2000, 3000, 4000]


def test_labels_read_like_people_write_them():
    assert [tick_label(v) for v in (0.5, 20, 500, 1000, 2000, 5000, 50000, 1.2e6)] == [
        "0.5", "20", "500", "1k", "2k", "5k", "50k", "1.2M"]


def test_the_axis_fits_the_values_with_a_little_room():
    axis = log_axis([1060.33, 50950.0], "MFLOPs")
    low, high = axis["range"]
    assert low < math.log10(1060.33) and high > math.log10(50950.0)
    assert axis["ticktext"] == ["1k", "2k", "5k", "10k", "20k", "50k"]
    assert log_axis([], "MFLOPs") == {"title": {"text": "MFLOPs"}, "type": "log"}


def test_the_chart_grows_so_that_twenty_entries_fit_in_the_legend():
    few = [{"legendgroup": "benchmark"}] * 2 + [{"legendgroup": "published"}] * 3
    many = [{"legendgroup": "benchmark"}] * 2 + [
        {"legendgroup": kind} for kind in ["published"] * 17 + ["declared", "model", "verified"]]
    assert chart_height(few) == 560
    assert chart_height(many) == 19 * (22 + 5) + 12 * 5 + 90
