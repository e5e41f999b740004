from django.contrib import admin, messages

from leaderboard.accounts import ConfirmationFailed, mark_confirmed
from leaderboard.models import (
    Account,
    Entry,
    OperatingPoint,
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


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "is_dynamic", "visibility", "owner")
    list_filter = ("kind", "visibility", "is_dynamic")
    search_fields = ("name", "affiliation")
    inlines = [OperatingPointInline]


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
