"""CSV for the leaderboard (``?format=csv`` or ``Accept: text/csv``)."""

from __future__ import annotations

import csv
import io

from rest_framework.renderers import BaseRenderer

ERROR_COLUMNS = ["code", "message", "file", "line", "field"]
# A spreadsheet reads a cell starting with one of these as a formula (=HYPERLINK(...),
# +cmd|..., @SUM(...)); tab and carriage return let one hide behind whitespace.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """A text cell that a spreadsheet would run as a formula, prefixed with ``'`` so that it
    shows as text; numbers (negative scores included) stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


class CSVRenderer(BaseRenderer):
    """Renders a list of flat dicts (one per row) as CSV under the view's ``csv_columns``
    header (written even with no rows); an error body (``{"errors": [...]}``) becomes one
    row per error. Text cells never start a formula (``neutralise``)."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if isinstance(data, dict):
            rows, columns = data.get("errors", []), ERROR_COLUMNS
        else:
            rows = list(data or [])
            columns = getattr((renderer_context or {}).get("view"), "csv_columns", None)
            columns = columns or (list(rows[0]) if rows else [])
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows({key: neutralise(value) for key, value in row.items()}
                         for row in rows)
        return out.getvalue().encode(self.charset)
