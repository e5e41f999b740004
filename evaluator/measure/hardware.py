"""The hardware profile every measurement records: what ran it, at which precision, under
which protocol. Figures of different profiles are never compared or charted together.

    >>> profile = HardwareProfile("cuda", "NVIDIA H200", "570.86.15", "12.8", "AMD EPYC 9654",
    ...                           1, "2.13.0", "fp32", "elue-measure/1 ...")
    >>> len(profile.key)   # a hash of every field: the same machine and settings, the same key
    16
    >>> profile.label
    'NVIDIA H200 · fp32 · driver 570.86.15, CUDA 12.8 · torch 2.13.0'
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from evaluator.measure import nvml
from evaluator.running.devices import Device

CPUINFO = Path("/proc/cpuinfo")


@dataclass(frozen=True)
class HardwareProfile:
    """``device`` is ``cpu`` or ``cuda``; ``device_name`` the GPU's or the CPU's model;
    ``threads`` the CPU threads the model may use; ``cuda_version`` "torch's CUDA / the
    driver's CUDA" on a GPU, empty on a CPU."""

    device: str
    device_name: str
    driver_version: str
    cuda_version: str
    cpu_model: str
    threads: int
    torch_version: str
    dtype: str
    protocol: str

    @property
    def key(self) -> str:
        """A short hash of every field: the profile's identity."""
        canonical = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(canonical).hexdigest()[:16]

    @property
    def label(self) -> str:
        """How the profile is named on the site."""
        if self.device == "cuda":
            return (f"{self.device_name} · {self.dtype} · driver {self.driver_version}, "
                    f"CUDA {self.cuda_version} · torch {self.torch_version}")
        threads = f"{self.threads} thread{'s' if self.threads != 1 else ''}"
        return f"{self.device_name} · {threads} · {self.dtype} · torch {self.torch_version}"

    def as_dict(self) -> dict:
        return {**asdict(self), "key": self.key, "label": self.label}


def cpu_model(cpuinfo: str) -> str:
    """The CPU's model name from the text of ``/proc/cpuinfo`` ("unknown CPU" without one;
    Arm hosts name no model, only an implementer and part)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("model name", "Model", "cpu model") and value.strip():
            return " ".join(value.split())
    return "unknown CPU"


def host_cpu_model() -> str:
    try:
        return cpu_model(CPUINFO.read_text(errors="replace"))
    except OSError:
        return "unknown CPU"


def detect_profile(device: Device, threads: int, dtype: str, protocol: str) -> HardwareProfile:
    """This host's profile for a run on ``device`` (GPU details from NVML; on a GPU
    whose NVML does not answer the name says so, so such runs are never mixed with others)."""
    import torch

    cpu = host_cpu_model()
    if not device.is_cuda:
        return HardwareProfile("cpu", cpu, "", "", cpu, threads, torch.__version__, dtype,
                               protocol)
    try:
        info = nvml.gpu_info(device.index)
        name, driver, cuda = info.name, info.driver_version, info.cuda_driver_version
    except nvml.NvmlUnavailable:
        name, driver, cuda = "unidentified NVIDIA GPU", "", ""
    return HardwareProfile("cuda", name, driver, f"{torch.version.cuda or '?'} / {cuda or '?'}",
                           cpu, threads, torch.__version__, dtype, protocol)
