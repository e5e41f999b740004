"""Domain errors: exceptions that carry messages meant for the person who caused them.

Views turn these into HTTP responses and Celery tasks into a failed status; the
evaluation code itself never knows about either.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file.

    ``code`` is stable (programs may act on it); ``file`` is the file name as the user
    knows it; ``line`` is the 1-based physical line in that file (the header is line 1),
    or ``None`` when the problem concerns the whole file. ``field`` names the form or API
    field at fault when the input is not a file (e.g. ``points[2].mflops``).
    """

    code: str
    message: str
    file: str | None = None
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file or self.field or ""
        if self.file and self.line is not None:
            where = f"{self.file} line {self.line}"
        return f"{where}: {self.message}" if where else self.message

    def as_dict(self) -> dict:
        return asdict(self)


class EvaluationError(Exception):
    """Base class of the domain errors below."""


class InvalidInput(EvaluationError):
    """Input that breaks the rules; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class DataInvalid(InvalidInput):
    """An ELUE data file (test inputs or hidden labels) that cannot be used."""


class SubmissionInvalid(InvalidInput):
    """A submission bundle or one of its files that breaks the rules of SPEC §2."""


class EvaluationFailed(EvaluationError):
    """A valid submission that could not be evaluated (e.g. STS-B constant predictions)."""
