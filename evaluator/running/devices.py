"""Which device a model runs on, and what of the host's GPU the sandbox may see.

The worker's ``ELUE_DEVICE`` is ``auto`` (a GPU when the host has one), ``cpu`` or ``cuda``;
``ELUE_CUDA_DEVICE`` picks the GPU by index. Everything here works from a given list of
``/dev/nvidia*`` paths (``present_nodes()`` reads the real one), so that the choice and the
sandbox's device binding are tested on machines without a GPU.

    >>> device = select_device("auto", 0, ["/dev/nvidiactl", "/dev/nvidia0", "/dev/nvidia-uvm"])
    >>> device.kind, device.nodes
    ('cuda', ('/dev/nvidiactl', '/dev/nvidia0', '/dev/nvidia-uvm'))
    >>> select_device("auto", 0, []).kind
    'cpu'
"""

from __future__ import annotations

import glob
import re
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

CPU, CUDA, AUTO = "cpu", "cuda", "auto"
DEVICE_CHOICES = (AUTO, CPU, CUDA)
# The control node and the unified-memory nodes every CUDA process opens; the GPU's own node
# is added by index. Display (nvidia-modeset), MIG capability nodes and other GPUs stay out.
SHARED_NODES = ("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools")
REQUIRED_NODES = ("/dev/nvidiactl", "/dev/nvidia-uvm")
DRIVER_LIBRARY = "libcuda.so.1"
# Already visible inside the sandbox (``evaluator.running.sandbox`` binds them read-only).
SYSTEM_LIBRARY_ROOTS = ("/usr", "/lib", "/lib64", "/lib32")


class DeviceUnavailable(Exception):
    """The worker was told to use a GPU that this host does not have (``str`` says which)."""


@dataclass(frozen=True)
class Device:
    """Where a model runs: ``kind`` ``"cpu"`` or ``"cuda"``; for a GPU its host index, the
    device nodes to bind into the sandbox and driver library folders outside /usr."""

    kind: str = CPU
    index: int | None = None
    nodes: tuple[str, ...] = ()
    library_dirs: tuple[str, ...] = ()

    @property
    def is_cuda(self) -> bool:
        return self.kind == CUDA

    def sandbox_environment(self) -> dict[str, str]:
        """Variables the sandboxed process needs for this device: only the chosen GPU."""
        if not self.is_cuda:
            return {"CUDA_VISIBLE_DEVICES": ""}
        return {"CUDA_VISIBLE_DEVICES": str(self.index)}


def present_nodes() -> list[str]:
    """The host's ``/dev/nvidia*`` device nodes (none on a machine without NVIDIA's driver)."""
    return sorted(glob.glob("/dev/nvidia*"))


def gpu_nodes(index: int, nodes: Iterable[str]) -> tuple[str, ...] | None:
    """The nodes a CUDA process on GPU ``index`` needs, out of ``nodes``; ``None`` when one
    it cannot do without is missing."""
    available = set(nodes)
    wanted = [n for n in SHARED_NODES if n in available]
    own = f"/dev/nvidia{index}"
    if own not in available or any(n not in available for n in REQUIRED_NODES):
        return None
    return (wanted[0], own, *wanted[1:])


def select_device(requested: str, index: int, nodes: Sequence[str],
                  library_dirs: Sequence[str] = ()) -> Device:
    """The device for ``ELUE_DEVICE=requested``: ``auto`` takes GPU ``index`` when its nodes
    are present, else the CPU; ``cuda`` without them raises ``DeviceUnavailable``."""
    if requested not in DEVICE_CHOICES:
        raise ValueError(f"ELUE_DEVICE={requested!r}: expected one of {', '.join(DEVICE_CHOICES)}")
    if requested == CPU:
        return Device()
    found = gpu_nodes(index, nodes)
    if found is None:
        if requested == CUDA:
            raise DeviceUnavailable(
                f"ELUE_DEVICE=cuda but this host has no usable GPU {index} (device nodes "
                f"found: {', '.join(nodes) or 'none'}; needed /dev/nvidia{index}, "
                f"{', '.join(REQUIRED_NODES)})")
        return Device()
    return Device(CUDA, index, found, tuple(library_dirs))


def outside_system_dirs(paths: Iterable[str]) -> tuple[str, ...]:
    """The folders of the driver libraries ``paths`` that the sandbox does not already see
    (a container runtime may put them under /usr/local/nvidia, say)."""
    folders = []
    for path in paths:
        folder = str(Path(path).parent)
        if not any(folder == root or folder.startswith(root + "/")
                   for root in SYSTEM_LIBRARY_ROOTS) and folder not in folders:
            folders.append(folder)
    return tuple(folders)


def driver_library_paths(ldconfig_output: str) -> list[str]:
    """Where ``libcuda.so.1`` is, from the output of ``ldconfig -p``."""
    pattern = re.compile(rf"^\s*{re.escape(DRIVER_LIBRARY)} \(.*\) => (\S+)$", re.MULTILINE)
    return pattern.findall(ldconfig_output)


def host_driver_library_dirs() -> tuple[str, ...]:
    """This host's driver library folders outside the system folders (usually none)."""
    try:
        listed = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True,
                                timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ()
    return outside_system_dirs(driver_library_paths(listed))


def worker_device(requested: str, index: int) -> Device:
    """The device of this worker, from its settings and its real device nodes."""
    nodes = present_nodes()
    return select_device(requested, index, nodes, host_driver_library_dirs() if nodes else ())
