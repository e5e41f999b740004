"""The admin: the benchmark's data, entries, the moderation queue of published entries
(approve or reject with a reason; the owner is e-mailed the decision), and accounts."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Count
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from leaderboard.accounts import ConfirmationFailed, mark_confirmed
from leaderboard.actions import ActionRefused, review_entry
from leaderboard.models import (
    Account,
    Entry,
    EntryAwaitingReview,
    OperatingPoint,
    PublishedScore,
    ReferencePoint,
    ReferenceVersion,
    Task,
    TaskScore,
    TestData,
)


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "group", "metric", "test_size")


@admin.register(TestData)
class TestDataAdmin(admin.ModelAdmin):
    list_display = ("task", "examples", "imported_at")


class ReferencePointInline(admin.TabularInline):
    model = ReferencePoint
    extra = 0


@admin.register(ReferenceVersion)
class ReferenceVersionAdmin(admin.ModelAdmin):
    list_display = ("number", "created_at", "note")
    inlines = [ReferencePointInline]


class OperatingPointInline(admin.TabularInline):
    model = OperatingPoint
    extra = 0


class ReviewedPointInline(OperatingPointInline):
    """The points as typed in, to compare with the paper; not editable."""

    fields = readonly_fields = ("task", "name", "mflops", "performance", "mparams",
                                "mflops_basis", "source")
    can_delete = False
    max_num = 0


class ReviewForm(forms.Form):
    reason = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text="Sent to the submitter and shown with the entry. Required to reject.")

    def __init__(self, decision: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.decision = decision

    def clean_reason(self) -> str:
        reason = self.cleaned_data["reason"].strip()
        if self.decision == Entry.Review.REJECTED and not reason:
            raise forms.ValidationError("Say why: the submitter is told the reason.")
        return reason


def review_action(decision: str, verb: str):
    """An admin action that asks for a reason on a page of its own, then reviews every
    selected published entry."""

    def action(modeladmin, request, queryset):
        entries = list(queryset.filter(kind=Entry.Kind.PUBLISHED).select_related("owner"))
        form = ReviewForm(decision, request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            try:
                for entry in entries:
                    link = request.build_absolute_uri(reverse("leaderboard:entry",
                                                              args=[entry.pk]))
                    review_entry(entry, decision, request.user, form.cleaned_data["reason"],
                                 link)
            except ActionRefused as exc:
                modeladmin.message_user(request, str(exc), messages.ERROR)
                return None
            modeladmin.message_user(request, f"{len(entries)} published entr"
                                    f"{'y' if len(entries) == 1 else 'ies'} {verb}; the "
                                    "owners are e-mailed the decision.", messages.SUCCESS)
            return None
        return TemplateResponse(request, "admin/leaderboard/review_entries.html", {
            **modeladmin.admin_site.each_context(request),
            "title": f"{verb.capitalize()} published entries",
            "opts": modeladmin.model._meta, "entries": entries, "form": form, "verb": verb,
            "action": request.POST.get("action", ""),
            "checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        })

    action.__name__ = f"{decision}_entries"
    return admin.action(description=f"{verb.capitalize()} the selected published entries "
                        "(with a reason)", permissions=["change"])(action)


REVIEW_ACTIONS = [review_action(Entry.Review.APPROVED, "approve"),
                  review_action(Entry.Review.REJECTED, "reject")]
class PublishedScoreInline(admin.TabularInline):
    """The scores the entry's paper printed (task empty: overall)."""

    model = PublishedScore
    extra = 0


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "is_dynamic", "visibility", "review", "owner")
    list_filter = ("kind", "visibility", "review", "is_dynamic")
    search_fields = ("name", "affiliation")
    inlines = [OperatingPointInline, PublishedScoreInline]
    actions = REVIEW_ACTIONS


@admin.register(EntryAwaitingReview)
class EntryAwaitingReviewAdmin(admin.ModelAdmin):
    """The moderation queue: published entries whose owner wants them public, oldest first.
    Nothing here is edited; an entry leaves the queue when approved or rejected."""

    list_display = ("name", "owner", "created_at", "point_count", "affiliation", "paper",
                    "page")
    search_fields = ("name", "affiliation", "owner__username")
    actions = REVIEW_ACTIONS
    inlines = [ReviewedPointInline, PublishedScoreInline]
    readonly_fields = ("name", "owner", "description", "affiliation", "paper_url", "code_url",
                       "is_dynamic", "visibility", "created_at")
    fields = readonly_fields

    def get_queryset(self, request):
        return (super().get_queryset(request).awaiting_review().select_related("owner")
                .annotate(point_count=Count("points")))

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="points", ordering="point_count")
    def point_count(self, entry) -> int:
        return entry.point_count

    @admin.display(description="paper")
    def paper(self, entry) -> str:
        if not entry.paper_url:
            return "–"
        return format_html('<a href="{}" rel="noopener nofollow">paper</a>', entry.paper_url)

    @admin.display(description="entry page")
    def page(self, entry) -> str:
        return format_html('<a href="{}">view</a>', reverse("leaderboard:entry",
                                                            args=[entry.pk]))


@admin.register(TaskScore)
class TaskScoreAdmin(admin.ModelAdmin):
    list_display = ("entry", "task", "score", "reference_version")


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    """Who confirmed which address; staff can confirm one by hand (e.g. for a script's
    account). The keyed hash of the sign-up address is not shown."""

    list_display = ("user", "confirmed_email", "email_confirmed_at", "created_at")
    search_fields = ("user__username", "user__email", "confirmed_email")
    fields = ("user", "confirmed_email", "email_confirmed_at", "confirmation_sent_at")
    readonly_fields = fields
    actions = ["confirm_addresses"]

    @admin.action(description="Confirm the selected accounts' e-mail addresses")
    def confirm_addresses(self, request, queryset):
        for account in queryset.select_related("user"):
            try:
                mark_confirmed(account.user)
            except ConfirmationFailed as exc:
                self.message_user(request, f"{account.user}: {exc}", messages.ERROR)
