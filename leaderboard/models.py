"""The benchmark (tasks, hidden test data, reference curve) and the entries ranked on it."""

from __future__ import annotations

import itertools
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Task(models.Model):
    """One of the six ELUE tasks (SPEC §1), created by a data migration."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=40)
    group = models.CharField(max_length=60)
    metric = models.CharField(max_length=40)
    labels = models.JSONField(default=list, blank=True, help_text="Empty for regression.")
    test_size = models.PositiveIntegerField()
    description = models.TextField(blank=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.name


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
        return self.filter(visibility=Entry.Visibility.PUBLIC)

    def visible_to(self, user) -> EntryQuerySet:
        """Public entries, plus the user's own private ones; staff see everything."""
        if user.is_authenticated and user.is_staff:
            return self.all()
        if user.is_authenticated:
            return self.filter(Q(visibility=Entry.Visibility.PUBLIC) | Q(owner=user))
        return self.public()


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
    # A point the platform ran but could not measure (its ``measurement`` is then missing).
    measurement_note = models.CharField(max_length=300, blank=True,
                                        help_text="Why the platform could not measure it.")

    class Meta:
        ordering = ["task__position", "mflops"]
        constraints = [
            models.UniqueConstraint(fields=["entry", "task", "name"], name="unique_point_name")
        ]

    def __str__(self) -> str:
        return f"{self.entry} {self.task.slug} {self.name}"


class HardwareProfile(models.Model):
    """The hardware, software and protocol a measurement ran under
    (``evaluator.measure.hardware``); figures of different profiles are never charted
    together. ``key`` hashes every other field."""

    key = models.CharField(max_length=16, unique=True)
    device = models.CharField(max_length=10, help_text="cpu or cuda")
    device_name = models.CharField(max_length=200)
    driver_version = models.CharField(max_length=40, blank=True)
    cuda_version = models.CharField(max_length=40, blank=True,
                                    help_text="torch's CUDA / the driver's CUDA")
    cpu_model = models.CharField(max_length=200)
    threads = models.PositiveSmallIntegerField()
    torch_version = models.CharField(max_length=40)
    dtype = models.CharField(max_length=8)
    protocol = models.CharField(max_length=120)
    label = models.CharField(max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    # When a worker was last asked to measure the reference on this profile.
    reference_requested_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return self.label


class Measurement(models.Model):
    """Measured efficiency of a point (``point``) or of the reference truncated to
    ``reference_layers`` layers on ``task``, on one hardware profile. Figures are medians of
    the repetitions; ``*_cv`` are coefficients of variation (fractions); ``flagged`` when one
    is over the protocol's limit. No energy figure without a counter: ``energy_note`` says
    why."""

    profile = models.ForeignKey(HardwareProfile, on_delete=models.PROTECT,
                                related_name="measurements")
    task = models.ForeignKey(Task, on_delete=models.PROTECT, related_name="measurements")
    point = models.OneToOneField(OperatingPoint, null=True, blank=True,
                                 on_delete=models.CASCADE, related_name="measurement")
    reference_layers = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_p50_ms = models.FloatField()
    latency_p90_ms = models.FloatField()
    latency_p99_ms = models.FloatField()
    latency_cv = models.FloatField()
    single_stream_examples = models.PositiveIntegerField()
    repetitions = models.PositiveSmallIntegerField()
    throughput = models.FloatField(null=True, blank=True, help_text="Examples per second, "
                                   "offline (whole test set, length-sorted batches).")
    throughput_cv = models.FloatField(null=True, blank=True)
    offline_examples = models.PositiveIntegerField(null=True, blank=True)
    peak_memory_mib = models.FloatField(null=True, blank=True)
    memory_source = models.CharField(max_length=60, blank=True)
    energy_j = models.FloatField(null=True, blank=True, help_text="Joules per example above "
                                 "idle, single stream.")
    energy_cv = models.FloatField(null=True, blank=True)
    energy_source = models.CharField(max_length=10, blank=True, help_text="nvml or rapl")
    energy_note = models.CharField(max_length=300, blank=True)
    agreement = models.FloatField(null=True, blank=True, help_text="Percent of the measured "
                                  "predictions equal to the point's own.")
    flagged = models.BooleanField(default=False)
    measured_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["task__position", "reference_layers", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(point__isnull=False, reference_layers=None)
                | Q(point=None, reference_layers__isnull=False),
                name="measurement_of_point_or_reference"),
            models.UniqueConstraint(fields=["profile", "task", "reference_layers"],
                                    condition=Q(point=None), name="unique_reference_measurement"),
        ]

    def __str__(self) -> str:
        what = self.point or f"reference {self.reference_layers}L on {self.task_id}"
        return f"{what}: {self.latency_p50_ms:.2f} ms on {self.profile_id}"


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
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    entry = models.OneToOneField(Entry, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="submission")
    # Deleting keeps this row (without its files or entry) so that the quota still counts it.
    deleted_at = models.DateTimeField(null=True, blank=True)
    # The platform runs its model (kind 4, or kind 3 with weights): it goes to the GPU queue
    # when the deployment has one (``leaderboard.tasks.evaluation_queue``).
    runs_model = models.BooleanField(default=False)

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
