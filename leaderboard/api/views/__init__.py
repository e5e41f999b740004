"""API views, by area: the benchmark (tasks, reference curve, leaderboard), entries and
submissions."""

from leaderboard.api.views.benchmark import LeaderboardViewSet, ReferenceViewSet, TaskViewSet
from leaderboard.api.views.entries import EntryViewSet
from leaderboard.api.views.submissions import SubmissionViewSet

__all__ = ["EntryViewSet", "LeaderboardViewSet", "ReferenceViewSet", "SubmissionViewSet",
           "TaskViewSet"]
