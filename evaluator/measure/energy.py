"""Energy counters, read by the host around a measured run: the GPU's (NVML) on a GPU, the
CPU packages' (RAPL, ``/sys/class/powercap``) on a CPU where the host exposes them, else none,
and the measurement says "not measured" with the reason. Never an estimate.

Energy per example is the counter's increase during the run minus the idle power (measured
just before, over ``idle_seconds``, with the model loaded and waiting) times the run's
duration, divided by the examples run. Both counters cover the whole device or CPU package:
other work on the same GPU or CPU at the same time is counted too (docs/measurement.md).

Tests use any object with ``name`` and ``read_joules()``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from evaluator.measure import nvml
from evaluator.running.devices import Device

POWERCAP = Path("/sys/class/powercap")
NVML, RAPL = "nvml", "rapl"


class EnergyCounter(Protocol):
    name: str

    def read_joules(self) -> float:
        """The counter's value in joules: only differences between two reads mean anything."""


class NvmlCounter:
    """A GPU's cumulative energy counter (millijoules since the driver loaded)."""

    name = NVML

    def __init__(self, index: int):
        self.index = index

    def read_joules(self) -> float:
        return nvml.energy_millijoules(self.index) / 1000.0


class RaplCounter:
    """The sum of the CPU packages' RAPL energy counters (microjoules, wrapping at
    ``max_energy_range_uj``): each read adds each package's increase since the last read."""

    name = RAPL

    def __init__(self, domains: Sequence[Path]):
        self.domains = list(domains)
        self.ranges = [int((d / "max_energy_range_uj").read_text()) for d in self.domains]
        self.last = [self._raw(d) for d in self.domains]
        self.total_uj = 0

    @staticmethod
    def _raw(domain: Path) -> int:
        return int((domain / "energy_uj").read_text())

    def read_joules(self) -> float:
        for i, domain in enumerate(self.domains):
            now = self._raw(domain)
            self.total_uj += (now - self.last[i]) % (self.ranges[i] + 1)
            self.last[i] = now
        return self.total_uj / 1e6


def rapl_packages(root: Path = POWERCAP) -> list[Path]:
    """The package-level RAPL domains under ``root`` (``intel-rapl:0`` named ``package-0``;
    sub-domains such as ``core`` would count twice)."""
    if not root.is_dir():
        return []
    found = []
    for domain in sorted(root.iterdir()):
        name = domain / "name"
        if name.is_file() and name.read_text().strip().startswith("package-"):
            found.append(domain)
    return found


def open_counter(device: Device, powercap: Path = POWERCAP
                 ) -> tuple[EnergyCounter | None, str]:
    """The energy counter for ``device``, or ``(None, why it is not measured)``."""
    if device.is_cuda:
        try:
            counter = NvmlCounter(device.index)
            counter.read_joules()
        except nvml.NvmlUnavailable as error:
            return None, f"the GPU's energy counter is unavailable: {error}"
        return counter, ""
    packages = rapl_packages(powercap)
    if not packages:
        return None, f"this host exposes no RAPL energy counter ({powercap})"
    try:
        return RaplCounter(packages), ""
    except (OSError, ValueError) as error:
        return None, f"the RAPL energy counter is not readable here ({error})"


@dataclass(frozen=True)
class EnergyRun:
    """The counter's increase (J) over a run of ``seconds`` and ``examples``."""

    joules: float
    seconds: float
    examples: int

    def per_example(self, idle_watts: float) -> float:
        """Joules per example above idle."""
        return (self.joules - idle_watts * self.seconds) / self.examples


def idle_watts(counter: EnergyCounter, seconds: float, now: Callable[[], float],
               sleep: Callable[[float], None]) -> float:
    """The power drawn while nothing runs, over ``seconds``."""
    start, before = now(), counter.read_joules()
    sleep(seconds)
    return (counter.read_joules() - before) / max(now() - start, 1e-9)
