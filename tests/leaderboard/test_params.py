"""Integer query parameters: one strict parser, a 400 naming the parameter on nonsense."""

from __future__ import annotations

import pytest

from leaderboard.params import MAX_LIST, BadParameter, parse_int, parse_int_list


@pytest.mark.parametrize("value", ["55", "0", "007"])
def test_it_reads_ascii_digits(value):
    assert parse_int("track", value) == int(value)


@pytest.mark.parametrize("value", ["²", "1²", "١٢", " 12", "12 ", "+1", "-1", "1_000", "1.0",
                                   "", "x", "9" * 19])
def test_it_refuses_what_is_not_plain_digits(value):
    with pytest.raises(BadParameter, match="track=.*expected a whole number"):
        parse_int("track", value)


def test_it_refuses_a_number_outside_the_choices():
    with pytest.raises(BadParameter, match="track=41: expected one of 40, 55"):
        parse_int("track", "41", (40, 55))


def test_a_list_skips_empty_items_and_refuses_a_bad_one():
    assert parse_int_list("ids", "3,,7,") == [3, 7]
    assert parse_int_list("ids", "") == []
    with pytest.raises(BadParameter, match="ids='²'"):
        parse_int_list("ids", "1,²")
    with pytest.raises(BadParameter, match=f"at most {MAX_LIST}"):
        parse_int_list("ids", ",".join(["1"] * (MAX_LIST + 1)))
