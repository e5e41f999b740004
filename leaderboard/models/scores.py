"""The scores of an entry: those the platform computes per task against a reference version,
and those a paper printed, kept beside them."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from leaderboard.models.benchmark import ReferenceVersion, Task
from leaderboard.models.entries import Entry


class TaskScore(models.Model):
    """An entry's ELUE score on one task against one reference version."""

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="scores")
    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="scores")
    score = models.FloatField()
    reference_version = models.ForeignKey(
        ReferenceVersion, on_delete=models.PROTECT, related_name="scores"
    )
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["task__position"]
        constraints = [models.UniqueConstraint(fields=["entry", "task"], name="unique_task_score")]

    def __str__(self) -> str:
        return f"{self.entry} {self.task.slug}: {self.score:.2f}"


class PublishedScore(models.Model):
    """A score a paper printed for an entry, on one task or overall (``task`` empty), kept
    beside the score the platform recomputes from the entry's points: they differ where the
    paper averaged points that were never published or read its FLOPs differently."""

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="published_scores")
    task = models.ForeignKey(Task, null=True, blank=True, on_delete=models.PROTECT,
                             related_name="published_scores", help_text="Empty: overall.")
    score = models.FloatField()
    source = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["entry", "task__position"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "task"], condition=Q(task__isnull=False),
                                    name="unique_published_task_score"),
            models.UniqueConstraint(fields=["entry"], condition=Q(task__isnull=True),
                                    name="unique_published_overall_score"),
        ]

    def __str__(self) -> str:
        where = self.task.slug if self.task_id else "overall"
        return f"{self.entry} {where}: {self.score:.2f} (published)"
