"""The one strict parser of numbers in query strings (site and API)."""

from __future__ import annotations

import pytest

from leaderboard.params import (
    MAX_LIST,
    BadParameter,
    optional,
    parse_int,
    parse_int_list,
    parse_positive_number,
)


@pytest.mark.parametrize("text, value", [("40", 40), ("0", 0), ("007", 7)])
def test_it_reads_whole_numbers_in_ascii_digits(text, value):
    assert parse_int(text, "track") == value


@pytest.mark.parametrize("text", ["²", "١٢", "４０", "-1", "+1", "1.0", "", " 4", "1e3",
                                  "9" * 13, "40\n"])
def test_it_refuses_what_isdigit_or_int_would_let_through(text):
    with pytest.raises(BadParameter) as refused:
        parse_int(text, "track")
    assert refused.value.name == "track" and "digits 0-9" in refused.value.message


@pytest.mark.parametrize("text, value", [("1500", 1500.0), ("2.5", 2.5), (".5", 0.5),
                                         ("1500.", 1500.0), ("1000000000000", 1e12)])
def test_it_reads_positive_numbers(text, value):
    assert parse_positive_number(text, "max_mflops") == value


@pytest.mark.parametrize("text", ["0", "0.0", "-5", "nan", "inf", "1e3", "1,000", "²",
                                  "١٢", "1.2.3", ".", "10000000000000", "1_000"])
def test_it_refuses_anything_else_as_a_positive_number(text):
    with pytest.raises(BadParameter) as refused:
        parse_positive_number(text, "max_mflops")
    assert refused.value.name == "max_mflops"
    assert repr(text) in refused.value.message or "above 0" in refused.value.message


def test_a_blank_or_missing_parameter_is_not_given():
    assert optional({}, "max_mflops", parse_positive_number) is None
    assert optional({"max_mflops": "  "}, "max_mflops", parse_positive_number) is None
    assert optional({"max_mflops": " 12 "}, "max_mflops", parse_positive_number) == 12.0


def test_a_long_bad_value_is_cut_short_in_the_message():
    with pytest.raises(BadParameter) as refused:
        parse_positive_number("x" * 5000, "max_mflops")
    assert len(refused.value.message) < 200


@pytest.mark.parametrize("value", ["55", "0", "007"])
def test_it_reads_ascii_digits(value):
    assert parse_int(value, "track") == int(value)


@pytest.mark.parametrize("value", ["²", "1²", "١٢", " 12", "12 ", "+1", "-1", "1_000", "1.0",
                                   "", "x", "9" * 19])
def test_it_refuses_what_is_not_plain_digits(value):
    with pytest.raises(BadParameter, match="track: must be a whole number"):
        parse_int(value, "track")


def test_it_refuses_a_number_outside_the_choices():
    with pytest.raises(BadParameter, match="track: must be one of 40, 55, got 41"):
        parse_int("41", "track", (40, 55))


def test_a_list_skips_empty_items_and_refuses_a_bad_one():
    assert parse_int_list("3,,7,", "ids") == [3, 7]
    assert parse_int_list("", "ids") == []
    with pytest.raises(BadParameter, match="ids: .*'²'"):
        parse_int_list("1,²", "ids")
    with pytest.raises(BadParameter, match=f"at most {MAX_LIST}"):
        parse_int_list(",".join(["1"] * (MAX_LIST + 1)), "ids")
