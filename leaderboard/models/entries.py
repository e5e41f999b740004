"""Entries on the leaderboard, who may see them, and their operating points; the record that
a user created a published entry (the daily limit counts it)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from leaderboard.models.benchmark import Basis, Task


class EntryQuerySet(models.QuerySet):
    def public(self) -> EntryQuerySet:
        """The entries everyone sees: public, and approved when they needed a review."""
        return self.filter(Entry.shown_publicly())

    def visible_to(self, user) -> EntryQuerySet:
        """Public entries, plus the user's own private or unreviewed ones; staff see
        everything."""
        if user.is_authenticated and user.is_staff:
            return self.all()
        if user.is_authenticated:
            return self.filter(Entry.shown_publicly() | Q(owner=user))
        return self.public()

    def awaiting_review(self) -> EntryQuerySet:
        """Published entries whose owner wants them public and that staff have not reviewed:
        the moderation queue, oldest first."""
        return self.filter(review=Entry.Review.PENDING,
                           visibility=Entry.Visibility.PUBLIC).order_by("created_at", "pk")


class Entry(models.Model):
    """One model on the leaderboard, with operating points on one or more tasks (SPEC §2)."""

    class Kind(models.TextChoices):
        PUBLISHED = "published", "Published"
        DECLARED = "declared", "Declared cost"
        VERIFIED = "verified", "Verified cost"
        MODEL = "model", "Model"

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Public"
        PRIVATE = "private", "Private"

    class Review(models.TextChoices):
        """Staff review of a published entry typed in by a user. Entries whose numbers the
        platform measured, and the seeded literature, need none: they are approved."""

        PENDING = "pending", "Awaiting review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
        related_name="entries", help_text="Empty for entries seeded from the literature.",
    )
    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    affiliation = models.CharField(max_length=200, blank=True)
    paper_url = models.URLField(blank=True)
    code_url = models.URLField(blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    is_dynamic = models.BooleanField(default=False, help_text="Early-exit model with a curve.")
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    review = models.CharField(
        max_length=10, choices=Review.choices, default=Review.APPROVED,
        help_text="Public only once approved: a published entry from a user waits for staff.")
    review_reason = models.TextField(blank=True, help_text="Staff's reason, sent to the "
                                     "submitter and shown with the entry.")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EntryQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "entries"
        constraints = [
            models.UniqueConstraint(
                fields=["name"], condition=Q(owner=None), name="unique_seeded_entry_name"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @staticmethod
    def shown_publicly(through: str = "") -> Q:
        """The condition for an entry to be on the public board, its task charts, the API's
        lists and the CSV: public and approved. ``through`` reaches the entry from another
        model, e.g. ``"entry__"`` for operating points and scores."""
        return Q(**{f"{through}visibility": Entry.Visibility.PUBLIC,
                    f"{through}review": Entry.Review.APPROVED})

    @property
    def is_shown_publicly(self) -> bool:
        return (self.visibility == Entry.Visibility.PUBLIC
                and self.review == Entry.Review.APPROVED)


class EntryAwaitingReview(Entry):
    """The moderation queue in the admin: published entries waiting for staff review."""

    class Meta:
        proxy = True
        verbose_name = "published entry awaiting review"
        verbose_name_plural = "published entries awaiting review"


class PublishedEntryRecord(models.Model):
    """That a user created a published entry. The daily limit counts these; a record outlives
    its entry, so deleting an entry cannot buy another one."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                              related_name="+")
    entry = models.OneToOneField(Entry, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["owner", "created_at"])]

    def __str__(self) -> str:
        return f"published entry by {self.owner_id} at {self.created_at:%Y-%m-%d %H:%M}"


class OperatingPoint(models.Model):
    """One (MFLOPs, performance) point of an entry on a task: one per threshold for a
    dynamic model, one per task for a static one."""

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="points")
    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="points")
    name = models.CharField(max_length=40, help_text='e.g. "6L", "p3" or a threshold "0.3".')
    mflops = models.FloatField()
    performance = models.FloatField()
    mparams = models.FloatField(null=True, blank=True)
    mflops_basis = models.CharField(max_length=20, choices=Basis.choices)
    source = models.CharField(max_length=300, blank=True)
    note = models.CharField(max_length=300, blank=True)
    # Spread of per-example cost and where examples left, when the platform counted it.
    median_mflops = models.FloatField(null=True, blank=True)
    p95_mflops = models.FloatField(null=True, blank=True)
    exit_histogram = models.JSONField(null=True, blank=True, help_text="exit layer -> examples")
    # Kind 3 with weights: the platform re-ran a random sample of the test examples and
    # compared with the submitted files (an efficiency benchmark must be hard to game).
    rerun_examples = models.PositiveIntegerField(
        null=True, blank=True, help_text="Test examples re-run by the platform to check the files.")
    rerun_prediction_agreement = models.FloatField(
        null=True, blank=True, help_text="Percent of re-run predictions equal to the submitted.")
    rerun_exit_agreement = models.FloatField(
        null=True, blank=True, help_text="Percent of re-run exit layers equal to the submitted.")

    class Meta:
        ordering = ["task__position", "mflops"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "task", "name"], name="unique_point_name")
        ]

    def __str__(self) -> str:
        return f"{self.entry} {self.task.slug} {self.name}"
