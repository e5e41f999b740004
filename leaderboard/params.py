"""Strict parsing of query-string parameters, shared by the site's views and the API.

One way to read a number from a URL, everywhere: ASCII digits only. ``str.isdigit`` and
``int``/``float`` accept far more than a person types in a URL (``"²".isdigit()`` is True but
``int("²")`` raises; ``float("١٢")`` is 12.0; ``float("nan")``, ``"1e999"`` and ``"inf"`` are
numbers to Python), and a view that trusts them answers 500 or compares against NaN.

- ``parse_int(text, name, choices)``: ``"40"`` -> 40 (one of ``choices`` when given);
  anything else raises ``BadParameter``.
- ``parse_int_list(text, name)``: ``"3,7"`` -> [3, 7] (empty items ignored, at most
  ``MAX_LIST``).
- ``parse_positive_number(text, name)``: ``"1500"``, ``"1500.5"``, ``".5"`` -> float > 0.
- ``optional(query, name, parser)``: the parsed value, or ``None`` when the parameter is
  absent or empty (an empty form field is sent as ``name=``).

``BadParameter`` carries the parameter's name and a message for people; the site shows it as
a form error (or, raised from a view, Django answers 400 through ``handler400``: it is a
``BadRequest``), the API as a 400 with the name as ``field``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TypeVar

from django.core.exceptions import BadRequest

INTEGER = re.compile(r"[0-9]{1,12}")
DECIMAL = re.compile(r"[0-9]{1,15}(\.[0-9]{0,12})?|\.[0-9]{1,12}")
# Larger than any cost a model has (ELUE's biggest points are ~1e5 MFLOPs), small enough that
# arithmetic on it never overflows.
LARGEST = 1e12
MAX_LIST = 200  # ids in one ``?ids=`` list (the page polls its unfinished cards only)

T = TypeVar("T")


class BadParameter(BadRequest, ValueError):
    """A query parameter that is not what it should be; ``name`` is the parameter."""

    def __init__(self, name: str, message: str):
        self.name = name
        self.message = message
        super().__init__(f"{name}: {message}")


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "…")


def parse_int(text: str, name: str, choices: tuple[int, ...] | list[int] | None = None) -> int:
    """A whole number written with ASCII digits (``"40"``), one of ``choices`` when given,
    or ``BadParameter``."""
    if not INTEGER.fullmatch(text):
        raise BadParameter(name, f"must be a whole number written with the digits 0-9, "
                           f"got {_shown(text)}")
    number = int(text)
    if choices is not None and number not in choices:
        allowed = ", ".join(str(c) for c in choices)
        raise BadParameter(name, f"must be one of {allowed}, got {number}")
    return number


def parse_int_list(text: str, name: str) -> list[int]:
    """A comma-separated list of whole numbers (``"3,7"``); empty items are ignored."""
    items = [item for item in text.split(",") if item]
    if len(items) > MAX_LIST:
        raise BadParameter(name, f"at most {MAX_LIST} numbers")
    return [parse_int(item, name) for item in items]


def parse_positive_number(text: str, name: str) -> float:
    """A number above zero written with ASCII digits and at most one point (``"1500"``,
    ``"2.5"``), at most 1e12, or ``BadParameter``. No sign, exponent, ``inf`` or ``nan``."""
    if not DECIMAL.fullmatch(text):
        raise BadParameter(name, f"must be a number such as 1500 or 2.5 (digits 0-9 and at "
                           f"most one '.'), got {_shown(text)}")
    value = float(text)
    if not 0 < value <= LARGEST:
        raise BadParameter(name, f"must be above 0 and at most {LARGEST:.0e}, got {_shown(text)}")
    return value


def optional(query: Mapping[str, str], name: str, parser: Callable[[str, str], T]) -> T | None:
    """``parser(query[name], name)``, or ``None`` when ``name`` is absent or blank."""
    text = query.get(name, "")
    if not isinstance(text, str) or not text.strip():
        return None
    return parser(text.strip(), name)
