from django.contrib import admin

from leaderboard.models import (
    Entry,
    HardwareProfile,
    Measurement,
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


@admin.register(HardwareProfile)
class HardwareProfileAdmin(admin.ModelAdmin):
    list_display = ("label", "key", "device", "dtype", "protocol", "created_at",
                    "reference_requested_at")


@admin.register(Measurement)
class MeasurementAdmin(admin.ModelAdmin):
    list_display = ("task", "point", "reference_layers", "profile", "latency_p50_ms",
                    "throughput", "energy_j", "flagged")
    list_filter = ("profile", "task", "flagged")
    raw_id_fields = ("point",)
