"""Measured efficiency, read-only: the hardware profiles (each with its measured reference)
and every public measured point as rows, in JSON or CSV, filtered by task and profile."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from leaderboard.api.renderers import CSVRenderer
from leaderboard.api.serializers import (
    HardwareProfileDetailSerializer,
    HardwareProfileSerializer,
    MeasuredPointSerializer,
    MeasurementQuery,
)
from leaderboard.models import Entry, HardwareProfile, Measurement


class HardwareProfileViewSet(viewsets.ReadOnlyModelViewSet):
    """The hardware profiles measurements ran on; one profile's figures are comparable with
    each other only. A profile's page carries its measured reference curve."""

    queryset = HardwareProfile.objects.order_by("created_at", "pk")
    lookup_field = "key"
    lookup_value_regex = r"[0-9a-f]{16}"

    def get_serializer_class(self):
        return HardwareProfileSerializer if self.action == "list" \
            else HardwareProfileDetailSerializer

    def retrieve(self, request, key=None):
        profile = self.get_object()
        profile.api_reference = list(Measurement.objects.filter(profile=profile, point=None)
                                     .select_related("task")
                                     .order_by("task__position", "reference_layers"))
        return Response(HardwareProfileDetailSerializer(profile).data)


class MeasurementViewSet(viewsets.GenericViewSet):
    """Every public point ELUE measured, one row each, with its hardware profile."""

    serializer_class = MeasuredPointSerializer
    renderer_classes = [JSONRenderer, CSVRenderer]
    csv_columns = list(MeasuredPointSerializer.Meta.fields)

    def get_queryset(self):
        return (Measurement.objects.filter(point__entry__visibility=Entry.Visibility.PUBLIC)
                .select_related("point__entry", "task", "profile")
                .order_by("task__position", "profile__created_at", "point__entry__name",
                          "point__mflops", "pk"))

    @extend_schema(
        parameters=[MeasurementQuery, OpenApiParameter(
            "format", str, enum=["json", "csv"], description="csv: every row, no pagination")],
        responses={200: MeasuredPointSerializer(many=True),
                   (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV")})
    def list(self, request):
        query = MeasurementQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        rows = self.get_queryset()
        if "task" in query.validated_data:
            rows = rows.filter(task__slug=query.validated_data["task"])
        if "profile" in query.validated_data:
            rows = rows.filter(profile__key=query.validated_data["profile"])
        if request.accepted_renderer.format == "csv":
            return Response(MeasuredPointSerializer(rows, many=True).data, headers={
                "Content-Disposition": 'attachment; filename="elue-measurements.csv"'})
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)
