"""The benchmark (tasks, hidden test data, reference curve) and the entries ranked on it."""

from __future__ import annotations

import itertools
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from evaluator.benchmark import TASK_ORDER, TASKS, TaskSpec


class Task(models.Model):
    """One of the six ELUE tasks (SPEC §1): a row for the others to point at.

    Everything that describes a task (name, group, metric, labels, size, description) is read
    from the evaluator's registry (``evaluator.benchmark.TASKS``), so the table cannot drift
    from it; the rows themselves are kept in step by ``sync_tasks`` after every migrate.
    """

    slug = models.SlugField(unique=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.name

    @property
    def spec(self) -> TaskSpec:
        return TASKS[self.slug]

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def group(self) -> str:
        return self.spec.group

    @property
    def metric(self) -> str:
        return self.spec.metric

    @property
    def labels(self) -> list[str]:
        """The valid labels; empty for regression (STS-B)."""
        return list(self.spec.labels or [])

    @property
    def test_size(self) -> int:
        return self.spec.test_size

    @property
    def description(self) -> str:
        return self.spec.description


def sync_tasks() -> None:
    """Make the task rows exactly the registry's, in its order (idempotent)."""
    for position, slug in enumerate(TASK_ORDER):
        Task.objects.update_or_create(slug=slug, defaults={"position": position})


class TestData(models.Model):
    """A record that a task's test inputs and hidden labels are stored server-side.

    The files themselves live under ``settings.ELUE_DATA_ROOT`` in the ELUE layout; the
    labels never leave the server.
    """

    __test__ = False  # not a pytest test class

    task = models.OneToOneField(Task, on_delete=models.CASCADE, related_name="test_data")
    examples = models.PositiveIntegerField()
    inputs_sha256 = models.CharField(max_length=64)
    labels_sha256 = models.CharField(max_length=64)
    imported_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.task.name} test data ({self.examples:,} examples)"


class ReferenceVersionQuerySet(models.QuerySet):
    def current(self) -> ReferenceVersion | None:
        """The newest reference curve, the one scores are computed against."""
        return self.order_by("-number").first()


class ReferenceVersion(models.Model):
    """A version of the ElasticBERT-BASE reference curve (SPEC §4). A new version re-scores
    every entry; each score records the version it was computed against."""

    number = models.PositiveIntegerField(unique=True)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ReferenceVersionQuerySet.as_manager()

    class Meta:
        ordering = ["-number"]

    def __str__(self) -> str:
        return f"reference v{self.number}"


class Basis(models.TextChoices):
    """How an MFLOPs figure was obtained (SPEC §5, plus the platform's own ways)."""

    COMPUTED = "computed", "computed with ELUE's rules on the real test inputs"
    ESTIMATED = "estimated", "estimated (test inputs not available)"
    SPEED_UP = "speed-up", "from a reported speed-up (about ±2.5%)"
    DIGITIZED = "digitized", "read from a paper figure (about ±0.3%)"
    DECLARED = "declared", "declared by the submitter (unverified)"
    COUNTED = "counted", "counted by the platform from the model definition"
    # A model.py counted from its captured graph but never run (no weights): the
    # predictions need not come from that computation.
    CODE = "code", "counted from submitted code, not run"


class ReferencePoint(models.Model):
    version = models.ForeignKey(ReferenceVersion, on_delete=models.CASCADE, related_name="points")
    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="reference_points")
    layers = models.PositiveSmallIntegerField()
    performance = models.FloatField()
    mflops = models.FloatField()
    mflops_basis = models.CharField(max_length=20, choices=Basis.choices)
    source = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["task__position", "mflops"]
        constraints = [
            models.UniqueConstraint(fields=["version", "task", "layers"], name="unique_ref_layer")
        ]

    def __str__(self) -> str:
        return f"{self.task.slug} {self.layers}L: {self.performance} @ {self.mflops} MFLOPs"


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


class Account(models.Model):
    """What ELUE keeps about a user beyond Django's ``User`` (``leaderboard.accounts``):
    whether the e-mail address is confirmed, which a submission needs; each confirmed address
    (lower-cased) belongs to one account. ``signup_ip`` is a keyed hash of the address the
    account signed up from, never the address itself: sign-ups per address are limited."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="account")
    confirmed_email = models.EmailField(blank=True, help_text="Lower-cased; empty until "
                                        "confirmed.")
    email_confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmation_sent_at = models.DateTimeField(null=True, blank=True)
    signup_ip = models.CharField(max_length=64, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(
            fields=["confirmed_email"], condition=~Q(confirmed_email=""),
            name="one_account_per_confirmed_email")]

    def __str__(self) -> str:
        state = f"confirmed {self.confirmed_email}" if self.email_confirmed_at else "unconfirmed"
        return f"{self.user} ({state})"
class BoardVersion(models.Model):
    """One row whose ``number`` grows with every change to what the public pages show:
    entries, their points and scores, the reference curve, tasks and test data. Database
    triggers bump it (migration ``0011_board_version``) in the transaction of the change,
    whatever made it (the ORM, a bulk update, a cascade, the admin); cached pages are keyed
    by it (``leaderboard.board_cache``)."""

    number = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"board version {self.number}"


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


class ApiTokenQuerySet(models.QuerySet):
    def active(self, now=None) -> ApiTokenQuerySet:
        from django.utils import timezone

        now = now or timezone.now()
        return self.filter(Q(expires_at=None) | Q(expires_at__gt=now))


class ApiToken(models.Model):
    """A token for the REST API and the ``elue`` client. Only a SHA-256 hash of the secret
    is stored: the token is shown once, when it is created (``leaderboard.tokens``)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField(max_length=80, help_text="What the token is for, e.g. 'CI'.")
    prefix = models.CharField(max_length=16, unique=True,
                              help_text="The token's public first part, shown in lists.")
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never.")
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class IdempotencyRecord(models.Model):
    """The first response to an API request sent with an ``Idempotency-Key`` header, so that a
    retry (same user, same key) gets that response again instead of creating anything twice.
    ``fingerprint`` (SHA-256 of the method, path and parsed body) tells a retry from a
    different request that reuses the key; ``status`` is 0 while the first is in progress."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="idempotency_records")
    key = models.CharField(max_length=200)
    fingerprint = models.CharField(max_length=64)
    status = models.PositiveSmallIntegerField(default=0)
    body = models.JSONField(null=True, blank=True)
    submission = models.ForeignKey(Submission, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"],
                                               name="unique_idempotency_key")]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key} -> {self.status}"
