"""Integer query parameters, parsed one way everywhere: ASCII digits only, a bounded length,
and a ``BadParameter`` (an HTTP 400) naming the parameter on anything else.

``str.isdigit`` accepts superscripts (``"²"``) that ``int`` then refuses, and ``int`` itself
accepts ``" 12 "``, ``"+1"``, ``"1_000"`` and Arabic-Indic digits; neither is the rule here.

    >>> parse_int("track", "55")
    55
    >>> parse_int_list("ids", "3,7")
    [3, 7]
"""

from __future__ import annotations

import re

from django.core.exceptions import BadRequest

DIGITS = re.compile(r"[0-9]{1,18}")  # fits a 64-bit primary key
MAX_LIST = 200  # ids in one ``?ids=`` list (the page polls its unfinished cards only)


class BadParameter(BadRequest):
    """A query parameter that is not what it must be; the message says which and why."""


def parse_int(name: str, value: str, choices: tuple[int, ...] | list[int] | None = None) -> int:
    """``value`` as a non-negative integer, one of ``choices`` when given."""
    if not DIGITS.fullmatch(value):
        raise BadParameter(f"{name}={value[:40]!r}: expected a whole number")
    number = int(value)
    if choices is not None and number not in choices:
        allowed = ", ".join(str(c) for c in choices)
        raise BadParameter(f"{name}={number}: expected one of {allowed}")
    return number


def parse_int_list(name: str, value: str) -> list[int]:
    """A comma-separated list of whole numbers (``"3,7"``); empty items are ignored."""
    items = [item for item in value.split(",") if item]
    if len(items) > MAX_LIST:
        raise BadParameter(f"{name}: at most {MAX_LIST} numbers")
    return [parse_int(name, item) for item in items]


def optional_int(query, name: str, choices: tuple[int, ...] | list[int] | None = None
                 ) -> int | None:
    """``query[name]`` parsed with ``parse_int``, or ``None`` when absent or empty."""
    value = query.get(name, "")
    return None if value == "" else parse_int(name, value, choices)
