"""The benchmark: the six tasks, their hidden test data, and the reference curve scores are
computed against (with ``Basis``, how any MFLOPs figure was obtained)."""

from __future__ import annotations

from django.db import models

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
