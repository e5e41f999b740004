"""Measured efficiency in the database: storing what a worker measured, asking for a
profile's reference once, and reading figures back per hardware profile.

Figures are compared only within one ``HardwareProfile``; these helpers always take one.

    >>> store_measurements(entry_points, report.hardware, reports)   # by the worker
    >>> point_latency_ms(point, profile)                             # p50, or None
    12.4
    >>> reference_measurements(profile, task)                        # 1..12 layers
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from leaderboard.models import Entry, HardwareProfile, Measurement, OperatingPoint, Task

PROFILE_FIELDS = ("device", "device_name", "driver_version", "cuda_version", "cpu_model",
                  "threads", "torch_version", "dtype", "protocol", "label")
FIGURES = ("latency_p50_ms", "latency_p90_ms", "latency_p99_ms", "latency_cv",
           "single_stream_examples", "repetitions", "throughput", "throughput_cv",
           "offline_examples", "peak_memory_mib", "memory_source", "energy_j", "energy_cv",
           "energy_source", "energy_note", "agreement", "flagged")
# Below this share of measured predictions equal to the point's own, the measured run was
# not the model that made the point (or answered without computing): never charted.
MIN_AGREEMENT = 99.0


def profile_of(hardware: dict) -> HardwareProfile:
    """The stored profile for a worker's ``Report.hardware`` (created the first time)."""
    profile, _ = HardwareProfile.objects.get_or_create(
        key=hardware["key"], defaults={name: hardware[name] for name in PROFILE_FIELDS})
    return profile


def measurement(profile: HardwareProfile, task: Task, figures: dict,
                point: OperatingPoint | None = None,
                reference_layers: int | None = None) -> Measurement:
    """An unsaved measurement of ``point`` or of the reference at ``reference_layers``."""
    return Measurement(profile=profile, task=task, point=point,
                       reference_layers=reference_layers,
                       **{name: figures[name] for name in FIGURES})


def store_measurements(points: Iterable[tuple[OperatingPoint, dict | None]],
                       hardware: dict | None) -> HardwareProfile | None:
    """Store each saved point's measurement (``None``: not measured); the profile used."""
    measured = [(point, figures) for point, figures in points if figures is not None]
    if hardware is None or not measured:
        return None
    profile = profile_of(hardware)
    Measurement.objects.bulk_create(measurement(profile, point.task, figures, point=point)
                                    for point, figures in measured)
    return profile


def record_reference(profile: HardwareProfile, task: Task, layers: int, figures: dict) -> None:
    """Store (or replace) the reference's measurement at ``layers`` on ``task``."""
    Measurement.objects.filter(profile=profile, task=task, reference_layers=layers).delete()
    measurement(profile, task, figures, reference_layers=layers).save()


def measured_reference_layers(profile: HardwareProfile) -> set[tuple[str, int]]:
    return set(Measurement.objects.filter(profile=profile, point=None)
               .values_list("task__slug", "reference_layers"))


def claim_reference_request(profile: HardwareProfile, now: datetime | None = None) -> bool:
    """Whether to send the profile's reference measurement now: the first time the profile
    is seen, or again once an earlier request had time to finish and did not (conditional,
    so two workers recording at once send it once)."""
    now = now or timezone.now()
    overdue = now - timedelta(seconds=settings.ELUE_REFERENCE_TIME_LIMIT)
    waiting = Q(reference_requested_at=None) | Q(reference_requested_at__lt=overdue)
    return bool(HardwareProfile.objects.filter(waiting, pk=profile.pk)
                .update(reference_requested_at=now))


# --- reading ------------------------------------------------------------------------------

def point_latency_ms(point: OperatingPoint, profile: HardwareProfile) -> float | None:
    """The point's measured single-stream p50 latency on ``profile`` (ms), or ``None``."""
    return (Measurement.objects.filter(point=point, profile=profile)
            .values_list("latency_p50_ms", flat=True).first())


def latencies_on(profile: HardwareProfile, task: Task) -> dict[int, float]:
    """Point id -> measured p50 latency (ms) of every point of ``task`` on ``profile``."""
    return dict(Measurement.objects.filter(profile=profile, task=task, point__isnull=False)
                .values_list("point_id", "latency_p50_ms"))


def chartable(queryset):
    """Measurements fit for a chart: the measured run agreed with the point's predictions."""
    return queryset.filter(Q(agreement=None) | Q(agreement__gte=MIN_AGREEMENT))


def point_measurements(profile: HardwareProfile, task: Task, public_only: bool = True):
    """The points' measurements on ``profile`` and ``task``, with point and entry."""
    found = Measurement.objects.filter(profile=profile, task=task, point__isnull=False)
    if public_only:
        found = found.filter(point__entry__visibility=Entry.Visibility.PUBLIC)
    return found.select_related("point__entry", "profile")


def reference_measurements(profile: HardwareProfile, task: Task) -> list[Measurement]:
    return list(Measurement.objects.filter(profile=profile, task=task, point=None)
                .order_by("reference_layers"))


def profiles_on(task: Task) -> list[HardwareProfile]:
    """Profiles with at least one public point measured on ``task``, oldest first."""
    return list(HardwareProfile.objects.filter(
        measurements__task=task,
        measurements__point__entry__visibility=Entry.Visibility.PUBLIC).distinct()
        .order_by("created_at", "pk"))
