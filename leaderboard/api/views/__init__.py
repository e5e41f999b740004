"""API views, by area: the benchmark (tasks, reference curve, leaderboard), entries,
submissions, and measured efficiency (hardware profiles, measured points)."""

from leaderboard.api.views.benchmark import LeaderboardViewSet, ReferenceViewSet, TaskViewSet
from leaderboard.api.views.entries import EntryViewSet
from leaderboard.api.views.measurements import HardwareProfileViewSet, MeasurementViewSet
from leaderboard.api.views.submissions import SubmissionViewSet

__all__ = ["EntryViewSet", "HardwareProfileViewSet", "LeaderboardViewSet", "MeasurementViewSet",
           "ReferenceViewSet", "SubmissionViewSet", "TaskViewSet"]
