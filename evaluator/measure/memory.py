"""Peak resident memory of a sandboxed model, read by the host from ``/proc``.

The kernel keeps each process's peak resident set size (``VmHWM`` in ``/proc/PID/status``)
and resets it to the current size when ``5`` is written to ``/proc/PID/clear_refs``. The host
reads and resets it for every process of the sandbox (bubblewrap's and the model's), so the
code measured cannot report a figure of its own. On a GPU the device memory is what matters;
it comes from the allocator inside the sandbox instead (``evaluator.measure.session``).

    >>> peak_rss_mib(session_pid)      # after reset_peak_rss(session_pid) and a run
    431.2
"""

from __future__ import annotations

import contextlib
from pathlib import Path

PROC = Path("/proc")


def _parent(pid_dir: Path) -> int | None:
    try:
        stat = (pid_dir / "stat").read_text()
    except OSError:
        return None
    # "PID (name) STATE PPID ...": the name may hold spaces and parentheses.
    return int(stat.rsplit(")", 1)[1].split()[1])


def descendants(root: int, proc: Path = PROC) -> list[int]:
    """``root`` and every process below it."""
    children: dict[int, list[int]] = {}
    for pid_dir in proc.iterdir():
        if pid_dir.name.isdigit():
            parent = _parent(pid_dir)
            if parent is not None:
                children.setdefault(parent, []).append(int(pid_dir.name))
    found, waiting = [], [root]
    while waiting:
        pid = waiting.pop()
        found.append(pid)
        waiting += children.get(pid, [])
    return found


def _peak_kib(pid: int, proc: Path) -> int:
    try:
        for line in (proc / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def peak_rss_mib(root: int, proc: Path = PROC) -> float | None:
    """The largest peak resident set size among ``root``'s processes, in MiB (``None`` when
    none could be read)."""
    peaks = [_peak_kib(pid, proc) for pid in descendants(root, proc)]
    return max(peaks) / 1024 if any(peaks) else None


def reset_peak_rss(root: int, proc: Path = PROC) -> int:
    """Start every process's peak anew from its current size; how many were reset (the
    kernel refuses where the host may not touch the process)."""
    reset = 0
    for pid in descendants(root, proc):
        with contextlib.suppress(OSError):
            (proc / str(pid) / "clear_refs").write_text("5")
            reset += 1
    return reset
