"""What the API reads and writes. Output serializers describe the responses exactly (the
OpenAPI schema is generated from them and checked by schemathesis)."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from evaluator.benchmark import TASK_ORDER
from leaderboard.models import (
    Basis,
    Entry,
    HardwareProfile,
    Measurement,
    OperatingPoint,
    ReferencePoint,
    ReferenceVersion,
    Submission,
    Task,
    TaskScore,
)
from leaderboard.ranking import PARAMETER_TRACKS

VISIBILITIES = Entry.Visibility.choices


class DataStatusSerializer(serializers.Serializer):
    loaded = serializers.BooleanField(help_text="Whether this server holds the test data.")
    examples = serializers.IntegerField(allow_null=True)
    inputs_sha256 = serializers.CharField(allow_null=True)
    imported_at = serializers.DateTimeField(allow_null=True)


class TaskSerializer(serializers.ModelSerializer):
    labels = serializers.ListField(child=serializers.CharField(),
                                   help_text="Empty for regression (STS-B).")
    data = serializers.SerializerMethodField()
    inputs_url = serializers.SerializerMethodField()

    class Meta:
        model = Task
        fields = ["slug", "name", "group", "metric", "labels", "test_size", "description",
                  "data", "inputs_url"]

    @extend_schema_field(DataStatusSerializer)
    def get_data(self, task: Task) -> dict:
        stored = getattr(task, "test_data", None)
        return {"loaded": stored is not None,
                "examples": stored.examples if stored else None,
                "inputs_sha256": stored.inputs_sha256 if stored else None,
                "imported_at": serializers.DateTimeField().to_representation(
                    stored.imported_at) if stored else None}

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_inputs_url(self, task: Task) -> str | None:
        """Where to download the test inputs (``test.tsv``; never the labels)."""
        if getattr(task, "test_data", None) is None:
            return None
        request = self.context.get("request")
        path = reverse("api:task-inputs", kwargs={"slug": task.slug})
        return request.build_absolute_uri(path) if request else path


class ReferencePointSerializer(serializers.ModelSerializer):
    task = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = ReferencePoint
        fields = ["task", "layers", "performance", "mflops", "mflops_basis", "source"]


class ReferenceVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReferenceVersion
        fields = ["number", "note", "created_at"]


class ReferenceCurveSerializer(ReferenceVersionSerializer):
    points = ReferencePointSerializer(many=True, read_only=True)

    class Meta(ReferenceVersionSerializer.Meta):
        fields = [*ReferenceVersionSerializer.Meta.fields, "points"]


class EntryRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class EntrySerializer(serializers.ModelSerializer):
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True, allow_null=True)
    # Empty when not given, which the "uri" format of a URLField would not allow.
    paper_url = serializers.CharField(read_only=True)
    code_url = serializers.CharField(read_only=True)

    class Meta:
        model = Entry
        fields = ["id", "name", "kind", "visibility", "is_dynamic", "owner", "description",
                  "affiliation", "paper_url", "code_url", "created_at", "updated_at"]
        read_only_fields = fields


class HardwareProfileSerializer(serializers.ModelSerializer):
    """The hardware, software and protocol of a measurement; only figures of one profile
    are comparable."""

    class Meta:
        model = HardwareProfile
        fields = ["key", "label", "device", "device_name", "driver_version", "cuda_version",
                  "cpu_model", "threads", "torch_version", "dtype", "protocol", "created_at"]


MEASUREMENT_FIELDS = ["latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "latency_cv",
                      "single_stream_examples", "repetitions", "throughput", "throughput_cv",
                      "offline_examples", "peak_memory_mib", "memory_source", "energy_j",
                      "energy_cv", "energy_source", "energy_note", "agreement", "flagged",
                      "measured_at"]


class MeasurementSerializer(serializers.ModelSerializer):
    """A point's measured efficiency on one hardware profile: medians over the repetitions;
    ``*_cv`` are coefficients of variation (fractions); ``energy_j`` is null when not
    measured (``energy_note`` says why), never an estimate."""

    profile = HardwareProfileSerializer()

    class Meta:
        model = Measurement
        fields = ["profile", *MEASUREMENT_FIELDS]


class ReferenceMeasurementSerializer(serializers.ModelSerializer):
    task = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Measurement
        fields = ["task", "reference_layers", *MEASUREMENT_FIELDS]


class HardwareProfileDetailSerializer(HardwareProfileSerializer):
    reference = ReferenceMeasurementSerializer(many=True, source="api_reference",
                                               help_text="ElasticBERT-BASE at 1..12 layers "
                                               "measured on this profile.")

    class Meta(HardwareProfileSerializer.Meta):
        fields = [*HardwareProfileSerializer.Meta.fields, "reference"]


class PointSerializer(serializers.ModelSerializer):
    """An operating point with the spread of its per-example cost (when the platform counted
    it), its measured efficiency (when the platform ran it) and its place on the task's
    Pareto front."""

    task = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    exit_histogram = serializers.DictField(child=serializers.IntegerField(), allow_null=True,
                                           help_text="exit layer -> examples")
    measurement = MeasurementSerializer(source="api_measurement", allow_null=True)
    on_front = serializers.BooleanField()
    dominated_by = EntryRefSerializer(many=True)

    class Meta:
        model = OperatingPoint
        fields = ["id", "task", "name", "mflops", "performance", "mparams", "mflops_basis",
                  "source", "note", "median_mflops", "p95_mflops", "exit_histogram",
                  "rerun_examples", "rerun_prediction_agreement", "rerun_exit_agreement",
                  "measurement", "measurement_note", "on_front", "dominated_by"]


class ScoreSerializer(serializers.ModelSerializer):
    task = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    reference_version = serializers.SlugRelatedField(slug_field="number", read_only=True)

    class Meta:
        model = TaskScore
        fields = ["task", "score", "reference_version"]


class TaskParetoSerializer(serializers.Serializer):
    task = serializers.CharField()
    on_front = serializers.BooleanField(help_text="At least one point is on the front.")
    dominated_by = EntryRefSerializer(many=True)


class EntryDetailSerializer(EntrySerializer):
    points = PointSerializer(many=True, source="api_points")
    scores = ScoreSerializer(many=True, source="api_scores")
    overall = serializers.FloatField(allow_null=True, source="api_overall",
                                     help_text="ELUE score over the tasks scored; null "
                                     "without any score.")
    pareto = TaskParetoSerializer(many=True, source="api_pareto")

    class Meta(EntrySerializer.Meta):
        fields = [*EntrySerializer.Meta.fields, "points", "scores", "overall", "pareto"]


class PublishedPointInput(serializers.Serializer):
    """Values are checked by ``leaderboard.published.check_points``, with every problem."""

    task = serializers.CharField(help_text=f"One of {', '.join(TASK_ORDER)}.")
    name = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    mflops = serializers.FloatField()
    performance = serializers.FloatField(help_text="×100, as in the paper.")
    mparams = serializers.FloatField(required=False, allow_null=True, default=None)
    mflops_basis = serializers.CharField(required=False, default=Basis.DECLARED,
                                         help_text="computed, estimated, speed-up, digitized "
                                         "or declared")
    source = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class MetadataInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    affiliation = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                        default="")
    paper_url = serializers.URLField(required=False, allow_blank=True, default="")
    code_url = serializers.URLField(required=False, allow_blank=True, default="")
    visibility = serializers.ChoiceField(VISIBILITIES, default=Entry.Visibility.PUBLIC)


class PublishedEntryInput(MetadataInput):
    points = PublishedPointInput(many=True)
    is_dynamic = serializers.BooleanField(required=False, allow_null=True, default=None,
                                          help_text="Default: several points on one task.")


class VisibilityInput(serializers.Serializer):
    visibility = serializers.ChoiceField(VISIBILITIES)


class SubmissionInput(MetadataInput):
    bundle = serializers.FileField(required=False, help_text="A zip of the bundle.")
    files = serializers.ListField(child=serializers.FileField(), required=False,
                                  allow_empty=False, help_text="Or the bundle's files, "
                                  "without folders (a bundle with model/ must be a zip).")

    def validate(self, attrs: dict) -> dict:
        if ("bundle" in attrs) == ("files" in attrs):
            raise serializers.ValidationError(
                {"bundle": ["send either one 'bundle' zip or the bundle's 'files', not both "
                            "or neither"]}, code="bundle_or_files")
        return attrs


class SubmissionSerializer(serializers.ModelSerializer):
    paper_url = serializers.CharField(read_only=True)
    code_url = serializers.CharField(read_only=True)

    class Meta:
        model = Submission
        fields = ["id", "name", "description", "affiliation", "paper_url", "code_url", "kind",
                  "visibility", "status", "failure_reason", "platform_fault", "attempts",
                  "entry", "created_at", "enqueued_at", "started_at", "finished_at"]
        read_only_fields = fields


class LogLineSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    status = serializers.CharField()
    message = serializers.CharField(allow_blank=True)
    seconds = serializers.FloatField(allow_null=True, help_text="Since the previous line.")


class SubmissionDetailSerializer(SubmissionSerializer):
    log = LogLineSerializer(many=True, source="api_log")
    scores = ScoreSerializer(many=True, source="api_scores",
                             help_text="Once scored; empty before.")
    overall = serializers.FloatField(allow_null=True, source="api_overall")

    class Meta(SubmissionSerializer.Meta):
        fields = [*SubmissionSerializer.Meta.fields, "log", "scores", "overall"]
        read_only_fields = fields


class LeaderboardRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    entry = EntrySerializer()
    overall = serializers.FloatField(allow_null=True)
    mparams = serializers.FloatField(allow_null=True, help_text="Largest over its points.")
    coverage = serializers.IntegerField(help_text="Tasks scored, of 6.")
    full_coverage = serializers.BooleanField()
    scores = serializers.SerializerMethodField()

    @extend_schema_field(serializers.DictField(child=serializers.FloatField(allow_null=True),
                                               help_text="Task slug -> ELUE score (null: not "
                                               "scored on it), for all six tasks."))
    def get_scores(self, row) -> dict:
        return dict(zip(TASK_ORDER, row.scores_in_order(), strict=True))


class LeaderboardQuery(serializers.Serializer):
    track = serializers.ChoiceField([str(t) for t in PARAMETER_TRACKS], required=False,
                                    help_text="At most this many million parameters.")
    kind = serializers.ChoiceField(Entry.Kind.choices, required=False)
    task = serializers.ChoiceField(list(TASK_ORDER), required=False,
                                   help_text="Only entries scored on this task, ranked by it.")


class MeasuredPointSerializer(serializers.ModelSerializer):
    """One measured point as a flat row (the measurements list and its CSV)."""

    entry_id = serializers.IntegerField(source="point.entry_id")
    entry = serializers.CharField(source="point.entry.name")
    task = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    point = serializers.CharField(source="point.name")
    mflops = serializers.FloatField(source="point.mflops")
    performance = serializers.FloatField(source="point.performance")
    profile = serializers.CharField(source="profile.key")
    hardware = serializers.CharField(source="profile.label")

    class Meta:
        model = Measurement
        fields = ["entry_id", "entry", "task", "point", "mflops", "performance", "profile",
                  "hardware", *MEASUREMENT_FIELDS]


class MeasurementQuery(serializers.Serializer):
    task = serializers.ChoiceField(list(TASK_ORDER), required=False)
    profile = serializers.CharField(required=False, help_text="A hardware profile's key.")
