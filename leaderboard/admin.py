from django.contrib import admin

from leaderboard.models import (
    Entry,
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


class PublishedScoreInline(admin.TabularInline):
    """The scores the entry's paper printed (task empty: overall)."""

    model = PublishedScore
    extra = 0


@admin.register(Entry)
class EntryAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "is_dynamic", "visibility", "owner")
    list_filter = ("kind", "visibility", "is_dynamic")
    search_fields = ("name", "affiliation")
    inlines = [OperatingPointInline, PublishedScoreInline]


@admin.register(TaskScore)
class TaskScoreAdmin(admin.ModelAdmin):
    list_display = ("entry", "task", "score", "reference_version")
