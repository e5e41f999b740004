"""The benchmark, read-only: tasks (and their test inputs), the reference curve, and the
ranked leaderboard (JSON or CSV), optionally within a budget (``max_mflops``, ``max_mparams``:
the same parameters, parser and ranking as the site's pages)."""

from __future__ import annotations

import json

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, viewsets
from rest_framework.decorators import action
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from evaluator.benchmark import TASK_ORDER, get_task
from evaluator.data import INPUTS_FILE
from leaderboard.api.renderers import CSVRenderer
from leaderboard.api.serializers import (
    LeaderboardQuery,
    LeaderboardRowSerializer,
    ReferenceCurveSerializer,
    ReferenceVersionSerializer,
    TaskSerializer,
)
from leaderboard.board import public_rows
from leaderboard.board_cache import cached_response, mark_shared
from leaderboard.budget import PARAMS, Budget
from leaderboard.models import ReferenceVersion, Task
from leaderboard.ranking import LeaderboardRow, in_track, number, rank_on_task
from leaderboard.testdata import open_inputs


class TSVRenderer(BaseRenderer):
    """Lets a client ask for ``text/tab-separated-values``; errors still come as JSON text."""

    media_type = "text/tab-separated-values"
    format = "tsv"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        return json.dumps(data).encode()


class TaskViewSet(viewsets.ReadOnlyModelViewSet):
    """The six ELUE tasks: metric, labels, test-set size and whether this server holds the
    test data."""

    queryset = Task.objects.select_related("test_data").order_by("position")
    serializer_class = TaskSerializer
    lookup_field = "slug"
    lookup_value_regex = r"[a-z0-9-]+"

    @extend_schema(responses={(200, "text/tab-separated-values"): OpenApiTypes.BINARY},
                   summary="Download the task's test inputs (test.tsv; never the labels)")
    @action(detail=True, renderer_classes=[JSONRenderer, TSVRenderer])
    def inputs(self, request, slug=None):
        task = self.get_object()
        inputs = open_inputs(get_task(task.slug)) if getattr(task, "test_data", None) else None
        if inputs is None:
            raise exceptions.NotFound(f"the test inputs of {task.name} are not loaded on "
                                      "this server")
        return FileResponse(inputs, as_attachment=True,
                            filename=f"{task.slug}-{INPUTS_FILE}",
                            content_type="text/tab-separated-values; charset=utf-8")


class ReferenceViewSet(viewsets.ReadOnlyModelViewSet):
    """The ElasticBERT-BASE reference curve: its versions, newest first, and each version's
    points (``current`` is the one scores are computed against)."""

    queryset = ReferenceVersion.objects.order_by("-number")
    lookup_field = "number"
    lookup_value_regex = r"[0-9]+"

    def get_serializer_class(self):
        return ReferenceVersionSerializer if self.action == "list" else ReferenceCurveSerializer

    def get_queryset(self):
        if self.action == "list":
            return self.queryset
        return self.queryset.prefetch_related("points__task")

    @extend_schema(responses=ReferenceCurveSerializer, summary="The current reference curve")
    @action(detail=False)
    def current(self, request):
        version = self.get_queryset().first()
        if version is None:
            raise exceptions.NotFound("no reference curve is loaded on this server yet")
        return Response(ReferenceCurveSerializer(version).data)


def leaderboard_rows(track: str | None = None, kind: str | None = None,
                     task: str | None = None, budget: Budget | None = None,
                     ) -> list[LeaderboardRow]:
    """The public entries ranked (SPEC §4), optionally only a parameter track, a kind, or
    the entries scored on one task ranked by that task's score; within a ``budget``, ranked
    by each entry's best point within it (on ``task``, if given), as the site's pages rank
    them. Ranks count from 1."""
    rows = [row for row in public_rows(kind, budget, task)
            if in_track(row, int(track) if track else None)]
    if task:
        return rank_on_task(rows, task, within_budget=bool(budget))
    return number(rows)


CSV_COLUMNS = ["rank", "entry_id", "name", "kind", "owner", "affiliation", "mparams", "overall",
               "coverage", *TASK_ORDER]
# Within a budget: the chosen points' mean performance and mean difference, then per task the
# chosen point's name and performance.
BUDGET_CSV_COLUMNS = ["budget_performance", "budget_difference", "budget_coverage",
                      *(f"{slug}_{field}" for slug in TASK_ORDER for field in ("point",
                                                                               "performance"))]


def csv_row(row: LeaderboardRow) -> dict:
    entry = row.entry
    flat = {"rank": row.rank, "entry_id": entry.pk, "name": entry.name, "kind": entry.kind,
            "owner": entry.owner.username if entry.owner else "",
            "affiliation": entry.affiliation, "mparams": row.mparams, "overall": row.overall,
            "coverage": row.coverage,
            **dict(zip(TASK_ORDER, row.scores_in_order(), strict=True))}
    if row.budget is not None:
        flat |= {"budget_performance": row.budget.performance,
                 "budget_difference": row.budget.difference,
                 "budget_coverage": row.budget.coverage}
        for slug, choice in row.budget.choices.items():
            flat |= {f"{slug}_point": choice.point.name,
                     f"{slug}_performance": choice.point.performance}
    return flat


class LeaderboardViewSet(viewsets.GenericViewSet):
    """Public entries ranked by ELUE score: full coverage first (SPEC §4); or, with
    ``max_mflops``/``max_mparams``, by each entry's best point within that budget."""

    serializer_class = LeaderboardRowSerializer
    renderer_classes = [JSONRenderer, CSVRenderer]
    csv_columns = CSV_COLUMNS

    @extend_schema(
        parameters=[LeaderboardQuery, OpenApiParameter(
            "format", str, enum=["json", "csv"],
            description="csv: every row (no pagination), one column per task")],
        responses={200: LeaderboardRowSerializer(many=True),
                   (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV")})
    def list(self, request):
        query = LeaderboardQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        kind = request.accepted_renderer.format
        if kind not in ("json", "csv"):  # the browsable API shows who is logged in
            return self.rows_response(query.validated_data, kind)
        # The same bytes for everyone, once per board version, query string and host (the
        # pagination links name it): leaderboard.board_cache.
        response = cached_response(request, f"api-leaderboard:{kind}:{request.get_host()}",
                                   lambda: self.rows_response(query.validated_data, kind,
                                                              render=True))
        # For an anonymous client, the whole response is replayed before DRF runs
        # (leaderboard.shared_responses), counted by the same throttles.
        return mark_shared(response, self.throttle_classes)

    def rows_response(self, validated: dict, kind: str, render: bool = False) -> Response:
        filters = dict(validated)
        budget = Budget({p: v for p in PARAMS if (v := filters.pop(p, None)) is not None})
        rows = leaderboard_rows(**filters, budget=budget)
        if kind == "csv":
            if budget:
                self.csv_columns = CSV_COLUMNS + BUDGET_CSV_COLUMNS
            response = Response([csv_row(row) for row in rows], headers={
                "Content-Disposition": 'attachment; filename="elue-leaderboard.csv"'})
        else:
            page = self.paginate_queryset(rows)
            response = self.get_paginated_response(self.get_serializer(page, many=True).data)
        if render:
            response = self.finalize_response(self.request, response)
            response.render()
        return response
