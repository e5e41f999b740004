"""Limits that hold for a whole sandbox, not for each of its processes
(``evaluator.running.sandbox`` applies them; docs/sandbox.md lists them all).

- **One process.** A seccomp filter refuses ``fork``, ``vfork`` and ``clone`` without
  ``CLONE_THREAD`` (``EPERM``) and ``clone3`` (``ENOSYS``: the C library then falls back to
  ``clone`` for threads). Threads share their process's address space, so the per-process
  address-space limit becomes the sandbox's memory limit: with fork allowed, 64 processes of
  4 GiB each were possible. The kernel enforces it, whatever the code does (ctypes, raw
  system calls); 32-bit system calls are refused by the filter's architecture check.
- **A size-limited scratch.** ``/scratch`` is a tmpfs of ``scratch_mib`` inside the sandbox
  (and so in memory, not on the disk shared with the database and uploads). The files the
  caller put in the host's scratch directory (``job.json``) are bound into it read-only;
  the named output files, created beforehand, are bound read-write, each bounded by the
  file-size limit. Everything else the code writes disappears with the sandbox.
- **Lower priority.** The code runs at ``nice`` 10: the worker, the web server and the
  database keep the CPU when they need it.

    >>> with seccomp_program() as fd:
    ...     args = seccomp_arguments(fd) + scratch_arguments(scratch, 512, OUTPUTS)
"""

from __future__ import annotations

import errno
import functools
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

SCRATCH = "/scratch"
MIB = 1024 * 1024
# The files a sandboxed job writes for the worker to read (evaluator.running.sandboxed).
GRAPHS_ARCHIVE = "graphs.zip"  # a capture job's graphs (evaluator.running.sandboxed.capture)
OUTPUTS = ("result.json", "result.npz", "error.json", "progress.log", GRAPHS_ARCHIVE)
CLONE_THREAD = 0x00010000
NICENESS = 10
SCRATCH_FULL = "No space left on device"


def _no_new_processes_rules():
    """The seccomp filter (libseccomp's) refusing every new process.

    Raises ``RuntimeError`` or ``ImportError`` when libseccomp is missing.
    """
    import pyseccomp as seccomp  # loads libseccomp with ctypes: only where sandboxes run

    program = seccomp.SyscallFilter(seccomp.ALLOW)
    for call in ("fork", "vfork"):
        program.add_rule(seccomp.ERRNO(errno.EPERM), call)
    program.add_rule(seccomp.ERRNO(errno.EPERM), "clone",
                     seccomp.Arg(0, seccomp.MASKED_EQ, CLONE_THREAD, 0))
    program.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    return program


@functools.cache
def no_new_processes_filter() -> bytes:
    """The filter compiled (classic BPF), as bubblewrap's ``--seccomp`` reads it."""
    with tempfile.TemporaryFile() as handle:
        _no_new_processes_rules().export_bpf(handle)
        handle.seek(0)
        return handle.read()


def forbid_new_processes() -> None:
    """From now on this process can start no other (threads still can); irreversible."""
    _no_new_processes_rules().load()


@contextmanager
def seccomp_program() -> Iterator[int]:
    """A readable file descriptor holding the filter, for bubblewrap's ``--seccomp``."""
    with tempfile.TemporaryFile() as handle:
        handle.write(no_new_processes_filter())
        handle.flush()
        handle.seek(0)
        yield handle.fileno()


def seccomp_arguments(fd: int) -> list[str]:
    """bubblewrap loads the filter just before it starts the command."""
    return ["--seccomp", str(fd)]


def prepare_outputs(scratch: Path, uid: int | None, outputs: Sequence[str] = OUTPUTS) -> None:
    """Create the empty output files the sandbox may write (owned by its user ``uid``)."""
    for name in outputs:
        path = scratch / name
        path.touch()
        if uid is not None:
            os.chown(path, uid, uid)


def scratch_arguments(scratch: Path, scratch_mib: int,
                      outputs: Sequence[str] = OUTPUTS) -> list[str]:
    """bubblewrap options mounting ``/scratch``: a tmpfs of ``scratch_mib``, the host
    scratch's files bound read-only, and its existing ``outputs`` bound read-write."""
    args = ["--perms", "0777", "--size", str(scratch_mib * MIB), "--tmpfs", SCRATCH,
            "--perms", "0777", "--dir", f"{SCRATCH}/tmp"]
    for path in sorted(scratch.iterdir()):
        if not path.is_file() or path.is_symlink() or path.name.startswith("."):
            continue
        mode = "--bind" if path.name in outputs else "--ro-bind"
        args += [mode, str(path), f"{SCRATCH}/{path.name}"]
    return args


def nice_arguments() -> list[str]:
    return ["nice", "-n", str(NICENESS)]


def scratch_full_reason(message: str, scratch_mib: int) -> str | None:
    """The submitter's reason when ``message`` says the scratch tmpfs is full."""
    if SCRATCH_FULL not in message:
        return None
    return (f"filled its scratch space of {scratch_mib} MiB (the only writable place: a "
            "size-limited temporary file system, emptied after each run)")
