"""Energy counters: RAPL from a powercap tree (with its wrap-around), NVML where there is a
GPU, and "not measured" with the reason everywhere else; idle power subtracted."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluator.measure import nvml
from evaluator.measure.energy import (
    NVML,
    EnergyRun,
    NvmlCounter,
    RaplCounter,
    idle_watts,
    open_counter,
    rapl_packages,
)
from evaluator.running.devices import CUDA, Device


def powercap(root: Path, domains: dict[str, tuple[str, int, int]]) -> Path:
    """A fake ``/sys/class/powercap``: domain -> (name, energy_uj, max_energy_range_uj)."""
    for domain, (name, energy, top) in domains.items():
        folder = root / domain
        folder.mkdir(parents=True)
        (folder / "name").write_text(name + "\n")
        (folder / "energy_uj").write_text(f"{energy}\n")
        (folder / "max_energy_range_uj").write_text(f"{top}\n")
    return root


def set_energy(root: Path, domain: str, energy: int) -> None:
    (root / domain / "energy_uj").write_text(f"{energy}\n")


def test_only_package_domains_are_counted(tmp_path):
    root = powercap(tmp_path, {"intel-rapl:0": ("package-0", 0, 10**9),
                               "intel-rapl:0:0": ("core", 0, 10**9),
                               "intel-rapl:1": ("package-1", 0, 10**9),
                               "intel-rapl:2": ("psys", 0, 10**9)})
    assert [p.name for p in rapl_packages(root)] == ["intel-rapl:0", "intel-rapl:1"]


def test_rapl_adds_the_packages_and_survives_a_wrap(tmp_path):
    root = powercap(tmp_path, {"intel-rapl:0": ("package-0", 999_000_000, 999_999_999),
                               "intel-rapl:1": ("package-1", 5_000_000, 999_999_999)})
    counter = RaplCounter(rapl_packages(root))
    assert counter.read_joules() == 0.0
    set_energy(root, "intel-rapl:0", 2_000_000)  # wrapped: 1,000,000 + 2,000,000 uJ later
    set_energy(root, "intel-rapl:1", 7_000_000)
    assert counter.read_joules() == pytest.approx(3.0 + 2.0)


def test_no_powercap_means_not_measured_with_the_reason(tmp_path):
    counter, why = open_counter(Device(), tmp_path / "absent")
    assert counter is None
    assert "exposes no RAPL energy counter" in why


def test_an_unreadable_rapl_counter_means_not_measured(tmp_path):
    root = powercap(tmp_path, {"intel-rapl:0": ("package-0", 0, 10**9)})
    (root / "intel-rapl:0" / "energy_uj").unlink()  # as when only root may read it
    counter, why = open_counter(Device(), root)
    assert counter is None and "not readable" in why


def test_rapl_where_the_host_exposes_it(tmp_path):
    counter, why = open_counter(Device(), powercap(tmp_path, {"intel-rapl:0": ("package-0",
                                                                                 7, 10**9)}))
    assert counter.name == "rapl" and why == ""


def test_a_gpu_without_nvml_is_not_measured(monkeypatch):
    def unavailable(index):
        raise nvml.NvmlUnavailable("NVML did not start (NVML Shared Library Not Found)")
    monkeypatch.setattr(nvml, "energy_millijoules", unavailable)
    counter, why = open_counter(Device(CUDA, 0, ("/dev/nvidia0",)))
    assert counter is None
    assert why == ("the GPU's energy counter is unavailable: NVML did not start (NVML "
                   "Shared Library Not Found)")


def test_a_gpu_with_nvml_reads_its_counter_in_joules(monkeypatch):
    readings = iter([1_000, 1_000, 251_000])
    monkeypatch.setattr(nvml, "energy_millijoules", lambda index: next(readings))
    counter, why = open_counter(Device(CUDA, 2, ("/dev/nvidia2",)))
    assert isinstance(counter, NvmlCounter) and counter.name == NVML and why == ""
    before = counter.read_joules()
    assert counter.read_joules() - before == pytest.approx(250.0)


class FakeCounter:
    """A counter drawing ``watts`` while time passes on ``clock``."""

    name = "fake"

    def __init__(self, clock: list[float], watts: float):
        self.clock, self.watts = clock, watts

    def read_joules(self) -> float:
        return self.clock[0] * self.watts


def test_idle_power_is_the_counters_rate_while_nothing_runs():
    clock = [100.0]
    counter = FakeCounter(clock, watts=60.0)
    sleep = lambda seconds: clock.__setitem__(0, clock[0] + seconds)  # noqa: E731
    assert idle_watts(counter, 2.0, lambda: clock[0], sleep) == pytest.approx(60.0)


def test_energy_per_example_is_above_idle():
    run = EnergyRun(joules=100.0, seconds=1.0, examples=40)  # 100 W for a second
    assert run.per_example(idle_watts=60.0) == pytest.approx(1.0)
