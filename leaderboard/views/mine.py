"""My submissions: every submission of the signed-in user with its status (updated live by
polling ``submissions_status``), its log, the failure reason, and the owner's actions."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_POST

from leaderboard.accounts import EmailNotConfirmed
from leaderboard.actions import ActionRefused, cancel, delete_submission, resubmit, set_visibility
from leaderboard.models import Entry, Submission
from leaderboard.params import BadParameter, parse_int_list
from leaderboard.submissions import QuotaExceeded


def own_submissions(user):
    """The user's live submissions, newest first, with what the page shows of each."""
    return (Submission.objects.visible_to(user).filter(owner=user)
            .select_related("entry").prefetch_related("events"))


@login_required
def my_submissions(request):
    return render(request, "leaderboard/my_submissions.html", {
        "submissions": own_submissions(request.user),
        "entries": Entry.objects.filter(owner=request.user, kind=Entry.Kind.PUBLISHED),
    })


@login_required
@require_GET
def submissions_status(request):
    """Own submissions' status and rendered card, for the page's poller: those listed in
    ``?ids=1,2`` (the cards still unfinished on the page), or all."""
    submissions = own_submissions(request.user)
    try:
        ids = parse_int_list(request.GET.get("ids", ""), "ids")
    except BadParameter as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    if ids:
        submissions = submissions.filter(pk__in=ids)
    return JsonResponse({"submissions": [{
        "id": s.pk, "status": s.status, "final": s.is_final, "events": len(s.events.all()),
        "html": render_to_string("leaderboard/_submission.html", {"s": s}, request=request),
    } for s in submissions]})


def _cancel(submission: Submission) -> str:
    if not cancel(submission):
        raise ActionRefused(f"submission {submission.pk} had already finished "
                            f"({submission.status}); nothing to cancel")
    return f"{submission.name} was cancelled."


def _delete(submission: Submission) -> str:
    delete_submission(submission)
    return f"{submission.name} was deleted."


def _visibility(visibility: str) -> Callable[[Submission], str]:
    def action(submission: Submission) -> str:
        set_visibility(submission, visibility)
        return f"{submission.name} is now {visibility}."
    return action


def _resubmit(submission: Submission) -> str:
    again = resubmit(submission)
    return f"{again.name} was submitted again as submission {again.pk}."


ACTIONS: dict[str, Callable[[Submission], str]] = {
    "cancel": _cancel,
    "delete": _delete,
    "make-public": _visibility(Entry.Visibility.PUBLIC),
    "make-private": _visibility(Entry.Visibility.PRIVATE),
    "resubmit": _resubmit,
}


@login_required
@require_POST
def submission_action(request, pk: int, action: str):
    if action not in ACTIONS:
        raise Http404(f"unknown action {action!r}; one of {', '.join(ACTIONS)}")
    submission = get_object_or_404(own_submissions(request.user), pk=pk)
    try:
        messages.success(request, ACTIONS[action](submission))
    except (ActionRefused, QuotaExceeded, EmailNotConfirmed) as exc:
        messages.error(request, str(exc))
    return redirect("leaderboard:my_submissions")
