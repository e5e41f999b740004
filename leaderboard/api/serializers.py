"""What the API reads and writes. Output serializers describe the responses exactly (the
OpenAPI schema is generated from them and checked by schemathesis)."""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from evaluator.benchmark import TASK_ORDER
from leaderboard.board import OVERALL
from leaderboard.budget import LIMITS
from leaderboard.models import (
    Basis,
    Entry,
    OperatingPoint,
    ReferencePoint,
    ReferenceVersion,
    Submission,
    Task,
    TaskScore,
)
from leaderboard.params import BadParameter, parse_positive_number
from leaderboard.published import too_many_points
from leaderboard.ranking import PARAMETER_TRACKS

VISIBILITIES = Entry.Visibility.choices


class DataStatusSerializer(serializers.Serializer):
    loaded = serializers.BooleanField(help_text="Whether this server holds the test data.")
    examples = serializers.IntegerField(allow_null=True)
    inputs_sha256 = serializers.CharField(allow_null=True)
    imported_at = serializers.DateTimeField(allow_null=True)


class TaskSerializer(serializers.ModelSerializer):
    # Read from the task registry (``Task``'s properties), not from columns.
    name = serializers.CharField(read_only=True)
    group = serializers.CharField(read_only=True)
    metric = serializers.CharField(read_only=True)
    test_size = serializers.IntegerField(read_only=True)
    description = serializers.CharField(read_only=True)
    labels = serializers.ListField(child=serializers.CharField(), read_only=True,
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
        fields = ["id", "name", "kind", "visibility", "review", "is_dynamic", "owner",
                  "description", "affiliation", "paper_url", "code_url", "created_at",
                  "updated_at"]
        read_only_fields = fields
        extra_kwargs = {"review": {"help_text": "A published entry from a user is public "
                                   "(on the leaderboard, charts and lists) only once staff "
                                   "approved it; until then its owner alone sees it."}}


class PointSerializer(serializers.ModelSerializer):
    """An operating point with the spread of its per-example cost (when the platform counted
    it) and its place on the task's Pareto front."""

    task = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    exit_histogram = serializers.DictField(child=serializers.IntegerField(), allow_null=True,
                                           help_text="exit layer -> examples")
    on_front = serializers.BooleanField()
    dominated_by = EntryRefSerializer(many=True)

    class Meta:
        model = OperatingPoint
        fields = ["id", "task", "name", "mflops", "performance", "mparams", "mflops_basis",
                  "source", "note", "median_mflops", "p95_mflops", "exit_histogram",
                  "rerun_examples", "rerun_prediction_agreement", "rerun_exit_agreement",
                  "on_front", "dominated_by"]


class ScoreSerializer(serializers.ModelSerializer):
    task = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    reference_version = serializers.SlugRelatedField(slug_field="number", read_only=True)

    class Meta:
        model = TaskScore
        fields = ["task", "score", "reference_version"]


class EntryScoreSerializer(ScoreSerializer):
    published_score = serializers.FloatField(
        allow_null=True, help_text="The score the entry's paper printed on the task, if any "
        "(see published_scores for why the two may differ).")

    class Meta(ScoreSerializer.Meta):
        fields = [*ScoreSerializer.Meta.fields, "published_score"]


class PaperScoreSerializer(serializers.Serializer):
    task = serializers.SerializerMethodField()
    published_score = serializers.FloatField(source="printed")
    source = serializers.CharField()
    recomputed = serializers.FloatField(allow_null=True, help_text="ELUE's score from the "
                                        "published points; null without points there.")
    differs = serializers.BooleanField(help_text="More than 0.01 apart.")
    reasons = serializers.ListField(child=serializers.CharField(),
                                    help_text="Why they can differ, from what ELUE holds.")

    @extend_schema_field(serializers.CharField(help_text=f"A task slug, or {OVERALL!r}."))
    def get_task(self, paper) -> str:
        return paper.task or OVERALL


class TaskParetoSerializer(serializers.Serializer):
    task = serializers.CharField()
    on_front = serializers.BooleanField(help_text="At least one point is on the front.")
    dominated_by = EntryRefSerializer(many=True)


class EntryDetailSerializer(EntrySerializer):
    points = PointSerializer(many=True, source="api_points")
    scores = EntryScoreSerializer(many=True, source="api_scores")
    overall = serializers.FloatField(allow_null=True, source="api_overall",
                                     help_text="ELUE score over the tasks scored; null "
                                     "without any score.")
    published_scores = PaperScoreSerializer(
        many=True, source="api_paper", help_text="The scores the entry's paper printed, per "
        "task and overall, beside ELUE's (empty when the paper printed none).")
    pareto = TaskParetoSerializer(many=True, source="api_pareto")

    class Meta(EntrySerializer.Meta):
        fields = [*EntrySerializer.Meta.fields, "review_reason", "points", "scores", "overall",
                  "published_scores", "pareto"]
        read_only_fields = fields


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
    points = PublishedPointInput(many=True, help_text="At most ELUE_PUBLISHED_MAX_POINTS "
                                 "(72 by default), and ELUE_PUBLISHED_MAX_POINTS_PER_TASK (24) "
                                 "on one task.")
    is_dynamic = serializers.BooleanField(required=False, allow_null=True, default=None,
                                          help_text="Default: several points on one task.")

    def to_internal_value(self, data):
        """Refuse too many points before reading each of them."""
        points = data.get("points") if hasattr(data, "get") else None
        problem = too_many_points(len(points)) if isinstance(points, list) else None
        if problem is not None:
            raise serializers.ValidationError(
                {"points": [ErrorDetail(problem.message, code=problem.code)]})
        return super().to_internal_value(data)


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


class ChosenPointSerializer(serializers.Serializer):
    point = serializers.CharField(source="point.name")
    performance = serializers.FloatField(source="point.performance", help_text="×100")
    mflops = serializers.FloatField(source="point.mflops")
    mparams = serializers.FloatField(source="point.mparams", allow_null=True)
    difference = serializers.FloatField(allow_null=True, help_text="From the reference curve "
                                        "at the same MFLOPs; null without a reference curve.")


class BudgetStandingSerializer(serializers.Serializer):
    performance = serializers.FloatField(allow_null=True, help_text="Mean over tasks of the "
                                         "chosen points' performance (the ranking).")
    difference = serializers.FloatField(allow_null=True, help_text="Mean over tasks of the "
                                        "chosen points' difference from the reference.")
    coverage = serializers.IntegerField(help_text="Tasks with a point within the budget.")
    full_coverage = serializers.BooleanField()
    mparams = serializers.FloatField(allow_null=True, help_text="Largest among the chosen "
                                     "points.")
    points = serializers.SerializerMethodField()

    @extend_schema_field(serializers.DictField(child=ChosenPointSerializer(),
                                               help_text="Task slug -> the entry's best point "
                                               "within the budget (tasks without one left out)."))
    def get_points(self, standing) -> dict:
        return {slug: ChosenPointSerializer(choice).data
                for slug, choice in standing.choices.items()}


class LeaderboardRowSerializer(serializers.Serializer):
    rank = serializers.IntegerField()
    entry = EntrySerializer()
    overall = serializers.FloatField(allow_null=True)
    mparams = serializers.FloatField(allow_null=True, help_text="Largest over its points.")
    coverage = serializers.IntegerField(help_text="Tasks scored, of 6.")
    full_coverage = serializers.BooleanField()
    scores = serializers.SerializerMethodField()
    published_scores = serializers.SerializerMethodField()
    budget = BudgetStandingSerializer(allow_null=True, help_text="With max_mflops or "
                                      "max_mparams: the entry's best point within the budget "
                                      "per task, which the rows are ranked by; null without.")

    @extend_schema_field(serializers.DictField(child=serializers.FloatField(allow_null=True),
                                               help_text="Task slug -> ELUE score (null: not "
                                               "scored on it), for all six tasks."))
    def get_scores(self, row) -> dict:
        return dict(zip(TASK_ORDER, row.scores_in_order(), strict=True))

    @extend_schema_field(serializers.DictField(
        child=serializers.FloatField(allow_null=True),
        help_text=f"Task slug (and {OVERALL!r}) -> the score the entry's paper printed (null: "
        "none printed), for all six tasks and overall."))
    def get_published_scores(self, row) -> dict:
        return {slug: row.published.get(slug) for slug in (*TASK_ORDER, OVERALL)}


@extend_schema_field(OpenApiTypes.NUMBER)
class PositiveNumberParameter(serializers.Field):
    """A query parameter read by ``leaderboard.params.parse_positive_number``, the site's own
    parser: ASCII digits and at most one point, above 0; blank means not given."""

    def to_internal_value(self, data) -> float | None:
        text = str(data).strip()
        if not text:
            return None
        try:
            return parse_positive_number(text, self.field_name)
        except BadParameter as problem:
            raise serializers.ValidationError(problem.message, code="bad_value") from None

    def to_representation(self, value):
        return value


class LeaderboardQuery(serializers.Serializer):
    track = serializers.ChoiceField([str(t) for t in PARAMETER_TRACKS], required=False,
                                    help_text="At most this many million parameters.")
    kind = serializers.ChoiceField(Entry.Kind.choices, required=False)
    task = serializers.ChoiceField(list(TASK_ORDER), required=False,
                                   help_text="Only entries scored on this task, ranked by it.")

    def get_fields(self):
        fields = super().get_fields()
        for limit in LIMITS:  # the budget explorer's parameters, as on the site
            fields[limit.param] = PositiveNumberParameter(
                required=False, help_text=f"{limit.label} ({limit.unit}): rank each entry by "
                "its best point within the budget; entries without one drop out.")
        return fields
