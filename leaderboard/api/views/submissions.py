"""Submissions: one multipart request uploads and queues a bundle; only the owner (and staff)
ever see a submission, to follow, cancel, resubmit, hide or delete it."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from evaluator.score import overall_score
from leaderboard.actions import ActionRefused, cancel, delete_submission, resubmit, set_visibility
from leaderboard.api.idempotency import Work, idempotent
from leaderboard.api.serializers import (
    SubmissionDetailSerializer,
    SubmissionInput,
    SubmissionSerializer,
    VisibilityInput,
)
from leaderboard.api.uploads import bundle_on_disk, check_size
from leaderboard.models import Submission, TaskScore
from leaderboard.submissions import create_submission, prepare_submission


def with_details(submission: Submission) -> Submission:
    """Attach the log and, once scored, the entry's scores (``SubmissionDetailSerializer``)."""
    submission.api_log = [{"at": event.at, "status": event.status, "message": event.message,
                           "seconds": gap} for event, gap in submission.log()]
    submission.api_scores = list(TaskScore.objects.filter(entry_id=submission.entry_id)
                                 .select_related("task", "reference_version")
                                 ) if submission.entry_id else []
    submission.api_overall = overall_score({s.task.slug: s.score for s in submission.api_scores})
    return submission


def detail_response(submission: Submission, code: int = status.HTTP_200_OK) -> Response:
    response = Response(SubmissionDetailSerializer(with_details(submission)).data, status=code)
    response.submission_id = submission.pk  # remembered with an Idempotency-Key
    return response


class SubmissionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin,
                        viewsets.GenericViewSet):
    """The caller's own submissions (staff: everyone's); others' are 404, not 403."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = SubmissionSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        return Submission.objects.visible_to(self.request.user).order_by("-created_at", "-pk")

    def retrieve(self, request, pk=None):
        return detail_response(self.get_object())

    @extend_schema(request={"multipart/form-data": SubmissionInput},
                   responses={201: SubmissionDetailSerializer},
                   summary="Upload a bundle (zip or files) and queue it for evaluation")
    def create(self, request):
        check_size(request)
        return idempotent(request, lambda: self._prepare(request))

    def _prepare(self, request) -> Work:
        """Check and store the upload (slow, outside any transaction); the work then left is
        creating the submission's rows."""
        data = SubmissionInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        bundle, files = fields.pop("bundle", None), fields.pop("files", None)
        with bundle_on_disk(bundle, files) as path:
            prepared = prepare_submission(request.user, path, **fields)
        return Work(lambda: detail_response(create_submission(prepared),
                                            status.HTTP_201_CREATED), prepared.discard)

    @extend_schema(request=VisibilityInput, responses=SubmissionDetailSerializer,
                   summary="Make the submission (and its entry) public or private")
    def partial_update(self, request, pk=None):
        submission = self.get_object()
        data = VisibilityInput(data=request.data)
        data.is_valid(raise_exception=True)
        set_visibility(submission, data.validated_data["visibility"])
        return detail_response(submission)

    def destroy(self, request, pk=None):
        delete_submission(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=SubmissionDetailSerializer,
                   summary="Cancel a submission that has not finished")
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        submission = self.get_object()
        if not cancel(submission):
            raise ActionRefused(f"submission {submission.pk} is already {submission.status}; "
                                "only an unfinished submission can be cancelled")
        submission.refresh_from_db()
        return detail_response(submission)

    @extend_schema(request=None, responses={201: SubmissionDetailSerializer},
                   summary="Submit the same files and metadata again (quota applies)")
    @action(detail=True, methods=["post"])
    def resubmit(self, request, pk=None):
        return detail_response(resubmit(self.get_object()), status.HTTP_201_CREATED)
