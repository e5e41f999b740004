"""Entries: anyone reads the public ones (and owners their private ones); owners create
published entries from JSON points, change their visibility, or delete them."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.response import Response

from evaluator.score import overall_score
from leaderboard.actions import delete_entry, set_entry_visibility
from leaderboard.api.idempotency import idempotent
from leaderboard.api.serializers import (
    EntryDetailSerializer,
    EntrySerializer,
    PublishedEntryInput,
    VisibilityInput,
)
from leaderboard.models import Entry, Measurement
from leaderboard.published import PublishedPoint, create_published_entry
from leaderboard.standing import pareto_status


def with_details(entry: Entry) -> Entry:
    """Attach what ``EntryDetailSerializer`` shows: points with their Pareto status, scores,
    overall score and per-task front membership."""
    statuses = pareto_status(entry)
    measured = {m.point_id: m for m in Measurement.objects.filter(point__entry=entry)
                .select_related("profile")}
    entry.api_points, entry.api_pareto = [], []
    for task_status in statuses:
        for point_status in task_status.points:
            point = point_status.point
            point.task = task_status.task  # already fetched: no query per point
            point.on_front, point.dominated_by = point_status.on_front, point_status.dominated_by
            point.api_measurement = measured.get(point.pk)
            entry.api_points.append(point)
        entry.api_pareto.append({"task": task_status.task.slug, "on_front": task_status.on_front,
                                 "dominated_by": task_status.dominated_by})
    entry.api_scores = list(entry.scores.select_related("task", "reference_version"))
    entry.api_overall = overall_score({s.task.slug: s.score for s in entry.api_scores})
    return entry


def check_owner(user, entry: Entry, action: str) -> None:
    if not (user.is_staff or (entry.owner_id is not None and entry.owner_id == user.pk)):
        raise exceptions.PermissionDenied(f"only the owner of entry {entry.pk} can {action} it")


class EntryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Entries visible to the caller: public ones, and the caller's own private ones."""

    serializer_class = EntrySerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        entries = Entry.objects.visible_to(self.request.user).select_related("owner")
        kind = self.request.query_params.get("kind")
        if self.action == "list" and kind:
            if kind not in Entry.Kind.values:
                raise exceptions.ValidationError(
                    {"kind": [f"must be one of {', '.join(Entry.Kind.values)}"]})
            entries = entries.filter(kind=kind)
        return entries.order_by("name", "pk")

    def get_serializer_class(self):
        return EntrySerializer if self.action == "list" else EntryDetailSerializer

    def retrieve(self, request, pk=None):
        return Response(EntryDetailSerializer(with_details(self.get_object())).data)

    @extend_schema(request=PublishedEntryInput, responses={201: EntryDetailSerializer},
                   summary="Create a published entry from its points (scored at once)")
    def create(self, request):
        return idempotent(request, lambda: self._create(request))

    def _create(self, request) -> Response:
        data = PublishedEntryInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        points = [PublishedPoint(**point) for point in fields.pop("points")]
        entry = create_published_entry(request.user, points, **fields)
        return Response(EntryDetailSerializer(with_details(entry)).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=VisibilityInput, responses=EntryDetailSerializer,
                   summary="Make one's entry public or private")
    def partial_update(self, request, pk=None):
        entry = self.get_object()
        check_owner(request.user, entry, "change")
        data = VisibilityInput(data=request.data)
        data.is_valid(raise_exception=True)
        set_entry_visibility(entry, data.validated_data["visibility"])
        return Response(EntryDetailSerializer(with_details(entry)).data)

    def destroy(self, request, pk=None):
        entry = self.get_object()
        check_owner(request.user, entry, "delete")
        delete_entry(entry)
        return Response(status=status.HTTP_204_NO_CONTENT)
