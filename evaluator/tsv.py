"""Reading ELUE-style TSV files: UTF-8, one header row, no quoting, optional BOM, LF or CRLF.

Every problem is reported with the file name and the 1-based physical line (header = 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evaluator.errors import Problem

BOM = "\ufeff"


@dataclass
class TsvTable:
    """A parsed TSV file: its header and data rows, with each row's line number."""

    name: str
    header: list[str]
    rows: list[list[str]]
    line_numbers: list[int]

    def column(self, name: str) -> int | None:
        try:
            return self.header.index(name)
        except ValueError:
            return None


def decode_lines(data: bytes, name: str) -> tuple[list[str] | None, list[Problem]]:
    """Split ``data`` into lines, or report the first line with bytes that are not UTF-8."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        return None, [Problem("not_utf8", f"byte 0x{data[exc.start]:02x} is not valid UTF-8; "
                              "files must be UTF-8 encoded", name, line)]
    if text.startswith(BOM):
        text = text[len(BOM):]
    lines = text.split("\n")
    lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    while lines and lines[-1] == "":
        lines.pop()
    return lines, []


def parse_tsv(data: bytes, name: str) -> tuple[TsvTable | None, list[Problem]]:
    """Parse TSV bytes. Returns the table (or ``None``) and the problems found.

    Rows whose field count differs from the header are reported and left out of the table.
    """
    lines, problems = decode_lines(data, name)
    if lines is None:
        return None, problems
    if not lines:
        return None, [Problem("empty_file", "the file is empty; expected a header row "
                              "and one row per test example", name)]
    header = lines[0].split("\t")
    header[0] = header[0].lstrip(BOM)
    rows, numbers = [], []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        if len(fields) != len(header):
            problems.append(Problem(
                "wrong_field_count",
                f"{len(fields)} tab-separated fields, expected {len(header)} "
                f"({', '.join(header)})", name, number))
            continue
        rows.append(fields)
        numbers.append(number)
    return TsvTable(name, header, rows, numbers), problems


def read_tsv(path: Path, name: str | None = None) -> tuple[TsvTable | None, list[Problem]]:
    """Read and parse the TSV file at ``path``; ``name`` is how errors refer to it."""
    return parse_tsv(Path(path).read_bytes(), name or Path(path).name)
