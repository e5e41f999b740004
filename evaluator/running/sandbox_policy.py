"""What one sandbox may use (``SandboxPolicy``), what came out of it (``SandboxResult``), and
the sentence that tells the submitter why it failed (``explain``): which limit was hit, or
the last line of the traceback.

    >>> explain(SandboxResult(-9, "", "", 1.2), SandboxPolicy(memory_mib=2048))
    'was killed by the system (exit -9), most likely for exceeding the memory limit of 2048 MiB'
"""

from __future__ import annotations

import signal
from dataclasses import dataclass

from evaluator.running.sandbox_limits import scratch_full_reason


@dataclass(frozen=True)
class SandboxPolicy:
    """Limits of one sandbox; every one is enforced by the kernel or the parent.

    ``memory_mib`` bounds the address space (torch alone maps ~1 GiB) of the sandbox's one
    process (it cannot start another: ``evaluator.running.sandbox_limits``), ``cpu_seconds``
    its CPU time, ``wall_seconds`` the elapsed time, ``processes`` its threads (the
    unprivileged user's processes and threads), ``file_mib`` the size of any file written,
    ``scratch_mib`` everything written (a tmpfs), ``open_files`` the open file descriptors;
    ``threads`` sets torch's threads.
    """

    memory_mib: int = 4096
    cpu_seconds: int = 1200
    wall_seconds: float = 900.0
    processes: int = 64
    file_mib: int = 256
    open_files: int = 256
    threads: int = 1
    scratch_mib: int = 512
    allow_unsandboxed: bool = False


@dataclass
class SandboxResult:
    """What came out of a sandboxed process.

    ``reason`` is ``None`` on success, else a sentence for the submitter (which limit was
    hit, or the last line of the traceback); ``exit_code`` is the process's exit status
    (negative: killed by that signal); ``seconds`` the wall time.
    """

    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    reason: str | None = None
    timed_out: bool = False
    sandboxed: bool = True

    @property
    def ok(self) -> bool:
        return self.reason is None


def explain(result: SandboxResult, policy: SandboxPolicy) -> str | None:
    """A sentence for the submitter saying why the sandboxed process failed, or ``None``."""
    if result.timed_out:
        return f"exceeded the wall time of {policy.wall_seconds:g} s and was stopped"
    code = result.exit_code
    if code == 0:
        return None
    last = _last_error(result.stderr)
    full = scratch_full_reason(last, policy.scratch_mib)
    if full:
        return full
    if "MemoryError" in last or "bad_alloc" in result.stderr or "Cannot allocate memory" in last:
        return f"exceeded the memory limit of {policy.memory_mib} MiB"
    if code in (-signal.SIGXCPU, 128 + signal.SIGXCPU, -signal.SIGKILL, 128 + signal.SIGKILL) \
            and "CPU time" not in last and _cpu_exhausted(result, policy):
        return f"exceeded the CPU time limit of {policy.cpu_seconds} s"
    if code in (-signal.SIGXFSZ, 128 + signal.SIGXFSZ) or "File too large" in last:
        return f"wrote a file larger than the limit of {policy.file_mib} MiB"
    if code in (-signal.SIGKILL, 128 + signal.SIGKILL, -signal.SIGSEGV, 128 + signal.SIGSEGV):
        return (f"was killed by the system (exit {code}), most likely for exceeding the "
                f"memory limit of {policy.memory_mib} MiB")
    return last or f"exited with status {code} and no message"


def _cpu_exhausted(result: SandboxResult, policy: SandboxPolicy) -> bool:
    # SIGXCPU is the kernel's CPU-limit signal; a SIGKILL counts only once the soft limit's
    # grace second is over, which takes at least the limit in wall time.
    return result.seconds >= policy.cpu_seconds or abs(result.exit_code) % 128 == signal.SIGXCPU


def _last_error(stderr: str) -> str:
    """The last non-empty line of ``stderr`` (a traceback's exception line)."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return lines[-1][:500] if lines else ""
