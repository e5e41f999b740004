"""The leaderboard's rows, one module per area; every model is importable from here, as
Django expects of an app's ``models``.

- ``benchmark``: the tasks, their hidden test data, the reference curve, and ``Basis`` (how
  an MFLOPs figure was obtained);
- ``entries``: the entries on the board, their operating points, and the record that a user
  created a published entry;
- ``scores``: the scores the platform computes, and those papers printed;
- ``submissions``: uploads on their way to the board, their log, and the record of each
  submitted point (the integrity check's);
- ``accounts``: accounts, API tokens, and idempotent API requests;
- ``board_version``: the version of what the public pages show (their cache key).
"""

from leaderboard.models.accounts import Account, ApiToken, IdempotencyRecord
from leaderboard.models.benchmark import (
    Basis,
    ReferencePoint,
    ReferenceVersion,
    Task,
    TestData,
    sync_tasks,
)
from leaderboard.models.board_version import BoardVersion
from leaderboard.models.entries import (
    Entry,
    EntryAwaitingReview,
    OperatingPoint,
    PublishedEntryRecord,
)
from leaderboard.models.scores import PublishedScore, TaskScore
from leaderboard.models.submissions import PointRecord, Submission, SubmissionEvent

__all__ = [
    "Account", "ApiToken", "Basis", "BoardVersion", "Entry", "EntryAwaitingReview",
    "IdempotencyRecord", "OperatingPoint", "PointRecord", "PublishedEntryRecord",
    "PublishedScore", "ReferencePoint", "ReferenceVersion", "Submission", "SubmissionEvent",
    "Task", "TaskScore", "TestData", "sync_tasks",
]
