"""Declared costs (``costs.json``) for submissions of kind "predictions + declared cost".

One JSON object; each key is the name of a prediction file in the bundle without ``.tsv``,
each value gives that operating point's cost per test example in MFLOPs and the model's
size in MParams (millions)::

    {
      "sst-2":     {"mflops": 21785.6, "mparams": 109.48},
      "sst-2_0.3": {"mflops": 1203.5,  "mparams": 116.0}
    }

Every prediction file needs an entry and every entry a prediction file; both numbers must
be positive and finite. The platform shows these costs as declared, i.e. unverified.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from evaluator.errors import Problem

COSTS_FILE = "costs.json"
COST_FIELDS = ("mflops", "mparams")
MAX_JSON_BYTES = 1024 * 1024


@dataclass(frozen=True)
class DeclaredCost:
    """A submitter's own figures for one operating point (not verified by the platform)."""

    mflops: float
    mparams: float


def read_costs(data: bytes, expected: list[str], name: str = COSTS_FILE
               ) -> tuple[dict[str, DeclaredCost] | None, list[Problem]]:
    """Parse and fully validate ``costs.json``; ``expected`` are the prediction-file stems.

    Returns the costs by stem (``"sst-2_0.3"``), or ``None`` with every problem found.
    """
    document, problems = _load_json(data, name)
    if problems:
        return None, problems
    if not isinstance(document, dict):
        return None, [Problem("costs_wrong_shape", "must be a JSON object mapping prediction "
                              'file names without .tsv to {"mflops": ..., "mparams": ...}',
                              name, 1)]
    text = data.decode("utf-8")
    costs = {}
    for key, value in document.items():
        cost, more = _read_entry(key, value, name, _line_of(text, key))
        problems += more
        if cost is not None:
            costs[key] = cost
    problems += _check_keys(list(document), expected, name, text)
    return (None if problems else costs), problems


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    """JSON allows repeated keys and keeps the last; a repeated point is surely a mistake."""
    seen = set()
    for key, _ in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen.add(key)
    return dict(pairs)


def _load_json(data: bytes, name: str) -> tuple[object, list[Problem]]:
    if len(data) > MAX_JSON_BYTES:
        return None, [Problem("file_too_large", f"{len(data):,} bytes; at most "
                              f"{MAX_JSON_BYTES:,} allowed", name)]
    try:
        # NaN and Infinity are not JSON, but Python's parser takes them: turn them into
        # floats here so that the finiteness check below reports them.
        return json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates,
                          parse_constant=float), []
    except UnicodeDecodeError:
        return None, [Problem("not_utf8", "is not UTF-8 text", name)]
    except _DuplicateKey as exc:
        return None, [Problem("costs_duplicate_key", f'key "{exc}" appears more than once',
                              name)]
    except json.JSONDecodeError as exc:
        return None, [Problem("costs_not_json", f"is not valid JSON: {exc.msg} (column "
                              f"{exc.colno})", name, exc.lineno)]
    except RecursionError:  # "[[[[..." a million deep
        return None, [Problem("costs_not_json", "is nested too deeply", name)]


def _line_of(text: str, key: str) -> int | None:
    """The line where ``"key"`` first appears (good enough to point a person at it)."""
    at = text.find(json.dumps(key))
    return None if at < 0 else text.count("\n", 0, at) + 1


def _read_entry(key: str, value: object, name: str, line: int | None
                ) -> tuple[DeclaredCost | None, list[Problem]]:
    if not isinstance(value, dict) or set(value) != set(COST_FIELDS):
        return None, [Problem("costs_wrong_shape", f'"{key}" must be an object with exactly '
                              'the keys "mflops" and "mparams"', name, line)]
    problems = [p for f in COST_FIELDS if (p := _check_number(key, f, value[f], name, line))]
    if problems:
        return None, problems
    return DeclaredCost(float(value["mflops"]), float(value["mparams"])), []


def _check_number(key: str, field: str, value: object, name: str, line: int | None
                  ) -> Problem | None:
    # bool is a subclass of int in Python, but "mflops": true is not a cost.
    if isinstance(value, bool) or not isinstance(value, int | float):
        reason = f"is {json.dumps(value)[:40]}, not a number"
    elif not math.isfinite(value):
        reason = f"is {value}, not a finite number"
    elif value <= 0:
        reason = f"is {value}; costs must be positive"
    else:
        return None
    return Problem("costs_bad_value", f'"{key}": {field} {reason}', name, line)


def _check_keys(keys: list[str], expected: list[str], name: str, text: str) -> list[Problem]:
    problems = []
    for key in keys:
        if key not in expected:
            problems.append(Problem("costs_unknown_point", f'"{key}" names no prediction '
                                    f"file ({key}.tsv is not in the submission)", name,
                                    _line_of(text, key)))
    for stem in expected:
        if stem not in keys:
            problems.append(Problem("costs_missing_point", f'no cost given for {stem}.tsv; '
                                    f'add "{stem}": {{"mflops": ..., "mparams": ...}}', name))
    return problems
