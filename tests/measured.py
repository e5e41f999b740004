"""Measured entries built directly in the database, for the page and API tests: a hardware
profile, a model entry whose points carry measurements, and a profile's reference."""

from __future__ import annotations

from leaderboard.models import (
    Basis,
    Entry,
    HardwareProfile,
    Measurement,
    OperatingPoint,
    Task,
)


def profile(key: str = "0123456789abcdef", label: str = "NVIDIA H200 · fp32",
            device: str = "cuda") -> HardwareProfile:
    return HardwareProfile.objects.create(
        key=key, device=device, device_name=label.split(" · ")[0], cpu_model="AMD EPYC 9654",
        threads=1, torch_version="2.13.0", dtype="fp32",
        protocol="elue-measure/1 single-stream n=1000 warmup=50 reps=3", label=label)


def figures(p50: float, energy: float | None = 0.5, **changes) -> dict:
    return {"latency_p50_ms": p50, "latency_p90_ms": p50 * 1.5, "latency_p99_ms": p50 * 2,
            "latency_cv": 0.01, "single_stream_examples": 1000, "repetitions": 3,
            "throughput": 1000.0 / p50, "throughput_cv": 0.02, "offline_examples": 872,
            "peak_memory_mib": 812.0, "memory_source": "gpu-allocator", "energy_j": energy,
            "energy_cv": 0.03 if energy is not None else None,
            "energy_source": "nvml" if energy is not None else "",
            "energy_note": "" if energy is not None else "this host exposes no RAPL energy "
                                                         "counter (/sys/class/powercap)",
            "agreement": 100.0, "flagged": False, **changes}


def measured_entry(name: str, on: HardwareProfile, points: list[tuple[str, float, float, dict]],
                   task: str = "sst-2", visibility: str = Entry.Visibility.PUBLIC) -> Entry:
    """A model entry on ``task`` with ``(name, mflops, performance, figures)`` points, each
    measured on ``on``."""
    entry = Entry.objects.create(name=name, kind=Entry.Kind.MODEL, visibility=visibility,
                                 is_dynamic=len(points) > 1)
    task_row = Task.objects.get(slug=task)
    for point_name, mflops, performance, measured in points:
        point = OperatingPoint.objects.create(entry=entry, task=task_row, name=point_name,
                                              mflops=mflops, performance=performance,
                                              mparams=20.0, mflops_basis=Basis.COUNTED)
        Measurement.objects.create(profile=on, task=task_row, point=point, **measured)
    return entry


def reference(on: HardwareProfile, task: str = "sst-2", energy: bool = True) -> None:
    """The reference measured on ``on`` at 1..12 layers: 1 ms per layer."""
    task_row = Task.objects.get(slug=task)
    for layers in range(1, 13):
        Measurement.objects.create(profile=on, task=task_row, reference_layers=layers,
                                   **figures(float(layers), 0.1 * layers if energy else None,
                                             throughput=None, throughput_cv=None,
                                             offline_examples=None))
