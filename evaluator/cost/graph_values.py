"""The plain values of a captured program's JSON (``torch.export``'s schema), each checked
before it is used: whole numbers in int64, finite lists, short strings, known dtypes and
devices. Anything else raises ``GraphInvalid`` with the reason.

    >>> single({"as_int": 3}, "an argument")
    ('as_int', 3)
    >>> as_list([1, 2], as_int)
    [1, 2]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from evaluator.cost.captured_graph import GraphInvalid

if TYPE_CHECKING:
    import torch

MAX_LIST = 10_000
MAX_STRING = 300
MAX_INT = 2 ** 63  # int64 (a slice to the end is written as 2**63 - 1)
DEVICE_TYPES = frozenset({"cpu", "cuda", "meta"})


def fail(message: str) -> NoReturn:
    """Refuse the graph with ``message`` (the checks below end with it)."""
    raise GraphInvalid(message)


def single(value: Any, what: str) -> tuple[str, Any]:
    """The one ``(kind, value)`` of a union of the schema (``{"as_int": 3}``)."""
    if not isinstance(value, dict) or len(value) != 1:
        fail(f"{what} is malformed")
    return next(iter(value.items()))


def as_int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not -MAX_INT <= value < MAX_INT:
        fail(f"expected a whole number, found {str(value)[:40]!r}")
    return value


def as_float(value: Any) -> float:
    if isinstance(value, str) and value in ("Infinity", "-Infinity", "NaN"):
        return float(value.replace("Infinity", "inf"))
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        fail(f"expected a number, found {str(value)[:40]!r}")
    return float(value)


def as_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        fail(f"expected true or false, found {str(value)[:40]!r}")
    return value


def as_string(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_STRING:
        fail("a string argument is too long")
    return value


def as_list(value: Any, convert: Callable[[Any], Any]) -> list:
    if not isinstance(value, list) or len(value) > MAX_LIST:
        fail("a list argument is malformed")
    return [convert(item) for item in value]


def as_enum(value: Any, table: Mapping, what: str) -> Any:
    if isinstance(value, bool) or value not in table:
        fail(f"unknown {what} {str(value)[:20]!r}")
    return table[value]


def as_device(value: Any) -> torch.device:
    import torch

    if not isinstance(value, dict) or value.get("type") not in DEVICE_TYPES or \
            set(value) - {"type", "index"}:
        fail(f"a device is not one of {', '.join(sorted(DEVICE_TYPES))}")
    index = value.get("index")
    if index is not None and not (isinstance(index, int) and 0 <= index < 64):
        fail("a device index is malformed")
    if index is None:
        return torch.device(value["type"])
    return torch.device(value["type"], index)

