"""The little of NVIDIA's management library (NVML, package ``nvidia-ml-py``) ELUE reads:
a GPU's name, the driver and its CUDA version, and the GPU's cumulative energy counter.

Read by the worker process, outside the sandbox, so that the code measured cannot change what
is read. Every function raises ``NvmlUnavailable`` with a reason where there is no NVML (no
NVIDIA driver, a GPU too old for the energy counter), which callers turn into "not measured".
"""

from __future__ import annotations

import functools
from dataclasses import dataclass


class NvmlUnavailable(Exception):
    """NVML cannot answer here; ``str`` says why."""


@functools.cache
def _library():
    try:
        import pynvml
    except ImportError:
        raise NvmlUnavailable("the nvidia-ml-py package is not installed") from None
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as error:
        raise NvmlUnavailable(f"NVML did not start ({error})") from None
    return pynvml


def _call(function_name: str, *args):
    nvml = _library()
    try:
        return getattr(nvml, function_name)(*args)
    except nvml.NVMLError as error:
        raise NvmlUnavailable(f"{function_name} failed ({error})") from None


def _handle(index: int):
    return _call("nvmlDeviceGetHandleByIndex", index)


def energy_millijoules(index: int) -> int:
    """GPU ``index``'s energy counter since the driver loaded, in mJ (Volta and newer)."""
    return int(_call("nvmlDeviceGetTotalEnergyConsumption", _handle(index)))


@dataclass(frozen=True)
class GpuInfo:
    name: str
    driver_version: str
    cuda_driver_version: str  # the CUDA version the driver supports, e.g. "12.8"


def gpu_info(index: int) -> GpuInfo:
    name = _call("nvmlDeviceGetName", _handle(index))
    driver = _call("nvmlSystemGetDriverVersion")
    cuda = int(_call("nvmlSystemGetCudaDriverVersion"))
    return GpuInfo(_text(name), _text(driver), f"{cuda // 1000}.{cuda % 1000 // 10}")


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
