"""Submissions on their way to the leaderboard, the log of each, and the compact record of
every submitted point (kept for the integrity check, never shown)."""

from __future__ import annotations

import itertools
from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone

from leaderboard.models.entries import Entry


class SubmissionQuerySet(models.QuerySet):
    def visible_to(self, user) -> SubmissionQuerySet:
        """Only the owner (and staff) ever see a submission, public or not; deleted ones
        are seen by no one."""
        live = self.filter(deleted_at=None)
        if user.is_authenticated and user.is_staff:
            return live
        if user.is_authenticated:
            return live.filter(owner=user)
        return self.none()

    def counted_for_quota(self, owner, since) -> SubmissionQuerySet:
        """The owner's submissions since ``since`` that count against the daily quota: all
        but those that failed through the platform's fault. Deleted ones still count, so
        deleting cannot buy more submissions."""
        return self.filter(owner=owner, created_at__gte=since).exclude(
            status=Submission.Status.FAILED, platform_fault=True)


class Submission(models.Model):
    """An upload on its way to the leaderboard (SPEC §2 kinds 2-4).

    received -> validating -> queued -> running -> scored, or failed (with a reason), or
    cancelled by the owner. The cheap checks run before the row exists, so a stored
    submission always holds a bundle that passed them.
    """

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        VALIDATING = "validating", "Validating"
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SCORED = "scored", "Scored"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINAL = (Status.SCORED, Status.FAILED, Status.CANCELLED)

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="submissions")
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    affiliation = models.CharField(max_length=200, blank=True)
    paper_url = models.URLField(blank=True)
    code_url = models.URLField(blank=True)
    kind = models.CharField(max_length=20, choices=Entry.Kind.choices)
    visibility = models.CharField(max_length=10, choices=Entry.Visibility.choices,
                                  default=Entry.Visibility.PUBLIC)
    bundle = models.CharField(max_length=300, help_text="Path of the stored upload, "
                              "relative to the upload directory.")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.RECEIVED)
    failure_reason = models.TextField(blank=True)
    platform_fault = models.BooleanField(default=False, help_text="Failed through no fault of "
                                         "the submitter; does not count against the quota.")
    attempts = models.PositiveIntegerField(default=0)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    requeues = models.PositiveSmallIntegerField(
        default=0, help_text="Times the reaper sent it again since it was last queued; each "
        "wait before the next one doubles (leaderboard.reaper).")
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    entry = models.OneToOneField(Entry, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="submission")
    # Deleting keeps this row (without its files or entry) so that the quota still counts it.
    deleted_at = models.DateTimeField(null=True, blank=True)
    points_by_task = models.JSONField(
        default=dict, blank=True, help_text="Operating points per task slug, counted against "
        "the point budgets (ELUE_DAILY_POINTS, ELUE_MONTHLY_POINTS_PER_TASK).")
    # The secret seed of the scored evaluation's re-run sample (docs/integrity.md): kept so
    # the ELUE team can reproduce the check, never shown to anyone through the site or API.
    rerun_seed = models.BigIntegerField(null=True, blank=True, editable=False)

    objects = SubmissionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "enqueued_at"])]

    def __str__(self) -> str:
        return f"submission {self.pk} ({self.name}, {self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL

    def record_event(self, status: str, message: str = "", at: datetime | None = None) -> None:
        """Add a line to the submission's log (``at``: now unless given)."""
        SubmissionEvent.objects.create(submission=self, status=status, message=message,
                                       at=at or timezone.now())

    def log(self) -> list[tuple[SubmissionEvent, float | None]]:
        """The events in order, each with the seconds since the previous one (how long the
        previous step took)."""
        events = list(self.events.all())
        gaps = [None] + [(later.at - earlier.at).total_seconds()
                         for earlier, later in itertools.pairwise(events)]
        return list(zip(events, gaps, strict=True))


class PointRecord(models.Model):
    """One submitted operating point's predictions in compact form
    (``evaluator.bundle.point_rules.encode``), kept so that the owner's next points can be
    compared with it: near-identical points would make scores a label oracle
    (docs/integrity.md). Never shown to anyone, the owner and the admin included."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="+")
    submission = models.ForeignKey("Submission", on_delete=models.CASCADE,
                                   related_name="point_records")
    task = models.CharField(max_length=20)
    point = models.CharField(max_length=40, blank=True, help_text='"" for a static point.')
    file = models.CharField(max_length=100)
    predictions = models.BinaryField()
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["owner", "task", "created_at"])]

    def __str__(self) -> str:
        return f"{self.submission_id} {self.file}"


class SubmissionEvent(models.Model):
    """One line of a submission's log: a transition or a step, with when it happened."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Submission.Status.choices)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.at:%H:%M:%S} {self.status}: {self.message}"
