"""Submitting: a bundle of prediction files (zip or files) with a live check before sending,
and a form of rows for published entries. Errors are shown next to what caused them."""

from __future__ import annotations

import tempfile
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from evaluator.bundle.load import Bundle
from evaluator.errors import Problem, SubmissionInvalid
from leaderboard.accounts import EmailNotConfirmed, is_confirmed
from leaderboard.forms import (
    EntryMetadataForm,
    PointFormSet,
    UploadRefused,
    attach_point_problems,
    save_uploads,
)
from leaderboard.models import Entry
from leaderboard.published import create_published_entry
from leaderboard.request_limits import live_check_refused
from leaderboard.submissions import QuotaExceeded, submit_bundle, validate_upload


def by_file(problems: list[Problem]) -> list[dict]:
    """Problems grouped by the file they concern, in the order first seen; problems about
    no file in particular come first, under ``file=None``."""
    groups: dict[str | None, list[Problem]] = {}
    for problem in sorted(problems, key=lambda p: p.file is not None):
        groups.setdefault(problem.file, []).append(problem)
    return [{"file": name, "problems": items} for name, items in groups.items()]


def bundle_summary(bundle: Bundle) -> dict:
    return {
        "tasks": [t.name for t in bundle.tasks],
        "points": len(bundle.points),
        "cost": "counted from the model definition" if bundle.model else "declared in costs.json",
        "ignored": bundle.ignored,
    }


def _checked(request, scratch: str, check) -> tuple[object, list[Problem]]:
    """Run ``check(path)`` on the request's uploaded files; returns (result, problems)."""
    try:
        path = save_uploads(request.FILES.getlist("files"), Path(scratch))
        return check(path), []
    except (UploadRefused, SubmissionInvalid) as exc:
        return None, exc.problems


@login_required
@require_POST
def submit_check(request):
    """The live check: the cheap checks on the chosen files, stored nowhere; JSON."""
    refused = live_check_refused(request)
    if refused is not None:
        return refused
    with tempfile.TemporaryDirectory(prefix="elue-check-") as scratch:
        bundle, problems = _checked(request, scratch, validate_upload)
    if problems:
        return JsonResponse({"ok": False, "problems": [p.as_dict() for p in problems]})
    return JsonResponse({"ok": True, "problems": [], "summary": bundle_summary(bundle)})


@login_required
def submit(request):
    form = EntryMetadataForm(request.POST or None)
    problems, quota = [], None
    unconfirmed = not is_confirmed(request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        with tempfile.TemporaryDirectory(prefix="elue-upload-") as scratch:
            try:
                submission, problems = _checked(
                    request, scratch, lambda path: submit_bundle(request.user, path, **data))
            except QuotaExceeded as exc:
                submission, quota = None, exc
            except EmailNotConfirmed:
                submission = None
        if submission is not None:
            messages.success(request, f"{submission.name} was received and is queued for "
                             "scoring; its status updates below.")
            return redirect("leaderboard:my_submissions")
    return render(request, "leaderboard/submit.html", {
        "form": form, "groups": by_file(problems), "quota": quota, "unconfirmed": unconfirmed,
        "max_mb": settings.ELUE_UPLOAD_MAX_MB,
    }, status=400 if request.method == "POST" else 200)


def _rows(formset) -> tuple[list, list[int]]:
    """The non-blank rows as points, and the form index of each."""
    points, rows = [], []
    for index, form in enumerate(formset.forms):
        if not form.is_blank():
            points.append(form.point())
            rows.append(index)
    return points, rows


@login_required
def submit_published(request):
    """A published entry: numbers typed in from a paper, scored at once (SPEC §2 kind 1)."""
    form = EntryMetadataForm(request.POST or None, prefix="entry")
    formset = PointFormSet(request.POST or None, prefix="points")
    general, quota = [], None
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        points, rows = _rows(formset)
        try:
            entry = create_published_entry(request.user, points, **form.cleaned_data)
        except SubmissionInvalid as exc:
            general = attach_point_problems(formset, rows, exc.problems)
        except QuotaExceeded as exc:
            quota = exc
        except EmailNotConfirmed as exc:
            general = [str(exc)]
        else:
            messages.success(request, f"{entry.name} was added and scored." + (
                "" if entry.review == Entry.Review.APPROVED else
                " Staff review it before it is public; you are e-mailed the decision."))
            return redirect("leaderboard:entry", pk=entry.pk)
    invalid = request.method == "POST"
    return render(request, "leaderboard/submit_published.html", {
        "form": form, "formset": formset, "general": general, "quota": quota,
        "limits": {"daily": settings.ELUE_DAILY_PUBLISHED,
                   "per_task": settings.ELUE_PUBLISHED_MAX_POINTS_PER_TASK,
                   "per_entry": settings.ELUE_PUBLISHED_MAX_POINTS},
    }, status=400 if invalid else 200)
