"""Running submitter code in a separate, locked-down process (SPEC §2, kinds 3 and 4).

Every piece of submitter code (a ``model.py``, and whatever a model's weights make the
runner do) runs in a child process started by ``run_sandboxed``:

- bubblewrap (``bwrap``) gives it new PID, network, IPC and UTS namespaces and a new mount
  namespace holding only the system libraries, the Python installation, the evaluator's
  sandbox-side code, the files the caller binds (read-only) and one scratch directory (the
  only writable place: a tmpfs, from which only the named output files reach the host).
  The network namespace has only its own loopback: the host's Redis and PostgreSQL on
  127.0.0.1 are unreachable.
- ``prlimit`` sets address space, CPU time, processes, file size and open files before the
  Python interpreter starts; the kernel enforces them. A seccomp filter lets the sandbox
  start no second process, so the address-space limit is the whole sandbox's memory; the
  scratch directory is a size-limited tmpfs; the code runs at a lower priority
  (``evaluator.running.sandbox_limits``).
- ``setpriv`` drops to an unprivileged user with no capabilities and ``no_new_privs`` when
  the host runs us as root: a user id of its own, drawn at random from a range no account
  uses, so that the process limit counts this sandbox only (a shared id such as "nobody"
  also counts processes of other containers on the same kernel). Otherwise bwrap maps the
  current, already unprivileged, user into a new user namespace.
- The parent enforces the wall time by killing the sandbox (bwrap is the namespace's init:
  when it dies, every process inside dies with it).

Results come back as files in the scratch directory (JSON, NumPy arrays without pickle).
Where bubblewrap is missing or unusable, ``sandbox_available`` says why and submitter code
is refused, unless the operator set ``ELUE_ALLOW_UNSANDBOXED_CODE`` (docs/sandbox.md).

    >>> result = run_sandboxed(["-m", "evaluator.running.sandboxed", "job.json"], scratch,
    ...                        binds={Path("/tmp/sub/model"): "/submission"})
    >>> result.ok, result.reason

The limits and the reading of a failure are in ``evaluator.running.sandbox_policy``, the
command line in ``evaluator.running.sandbox_arguments``, the limits that hold for the whole
sandbox in ``evaluator.running.sandbox_limits``.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from evaluator.running.sandbox_arguments import (
    bwrap_arguments,
    drop_arguments,
    limit_arguments,
    sandbox_environment,
    sandbox_id,
)
from evaluator.running.sandbox_limits import (
    SCRATCH,
    nice_arguments,
    no_new_processes_filter,
    prepare_outputs,
    seccomp_arguments,
    seccomp_program,
)
from evaluator.running.sandbox_policy import SandboxPolicy, SandboxResult, explain

POLL_SECONDS = 0.2


class SandboxUnavailable(Exception):
    """The host cannot sandbox code (``str(error)`` says why) and unsandboxed runs are off."""


# --- capability detection -----------------------------------------------------------------

@functools.cache
def sandbox_problem() -> str | None:
    """Why this host cannot sandbox code, or ``None`` if it can (checked once per process)."""
    for tool in ("bwrap", "prlimit", "setpriv"):
        if shutil.which(tool) is None:
            return (f"{tool} is not installed (Debian/Ubuntu: apt-get install bubblewrap "
                    "util-linux)")
    try:
        no_new_processes_filter()
    except (ImportError, RuntimeError, OSError) as error:
        return (f"libseccomp is not usable ({error}; Debian/Ubuntu: apt-get install "
                "libseccomp2)")
    scratch = Path(_scratch_for_probe())
    try:
        root = os.geteuid() == 0
        with seccomp_program() as fd:
            command = (bwrap_arguments(scratch, {}, root) + seccomp_arguments(fd)
                       + (drop_arguments(sandbox_id()) if root else []))
            done = subprocess.run(command + [sys.executable, "-c", "pass"],
                                  capture_output=True, text=True, timeout=60, pass_fds=(fd,))
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap could not start a sandbox ({error})"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        return (f"bubblewrap could not start a sandbox ({detail}); it needs user namespaces "
                "or root")
    return None


def _scratch_for_probe() -> str:
    import tempfile

    path = tempfile.mkdtemp(prefix="elue-sandbox-probe-")
    os.chmod(path, 0o777)
    return path


def sandbox_available() -> tuple[bool, str]:
    """``(True, "")`` if submitter code can be sandboxed here, else ``(False, why)``."""
    problem = sandbox_problem()
    return (problem is None, problem or "")


# --- running ------------------------------------------------------------------------------

def prepare_scratch(scratch: Path, uid: int | None) -> None:
    """Create ``scratch`` (and its ``tmp/``) writable by the sandbox's user ``uid``."""
    (scratch / "tmp").mkdir(parents=True, exist_ok=True)
    if uid is not None:
        for path in (scratch, scratch / "tmp"):
            os.chown(path, uid, uid)


def sandbox_command(arguments: Sequence[str], scratch: Path, binds: Mapping[Path, str],
                    policy: SandboxPolicy, seccomp_fd: int | None = None
                    ) -> tuple[list[str], dict[str, str] | None, bool]:
    """The command running ``python arguments`` under ``policy``; its environment (``None``:
    passed with ``--setenv``) and whether it is sandboxed. ``seccomp_fd`` holds the filter
    allowing no new process (``sandbox_limits.seccomp_program``).

    Raises ``SandboxUnavailable`` when the host cannot sandbox and the policy does not allow
    running unsandboxed.
    """
    problem = sandbox_problem()
    python = [sys.executable, "-B", *arguments]
    if problem is None:
        root = os.geteuid() == 0
        uid = sandbox_id() if root else None
        prepare_outputs(scratch, uid)
        env_args = [a for k, v in sandbox_environment(policy, SCRATCH).items()
                    for a in ("--setenv", k, v)]
        if seccomp_fd is None:  # a programming error: never a sandbox of many processes
            raise ValueError("a sandbox needs the seccomp filter's file descriptor")
        command = (bwrap_arguments(scratch, binds, root, policy.scratch_mib) + env_args
                   + seccomp_arguments(seccomp_fd) + nice_arguments() + limit_arguments(policy))
        return command + (drop_arguments(uid) if uid is not None else []) + python, None, True
    if not policy.allow_unsandboxed:
        raise SandboxUnavailable(problem)
    prepare_scratch(scratch, None)
    env = sandbox_environment(policy, str(scratch))
    return nice_arguments() + limit_arguments(policy) + python, env, False


def run_sandboxed(arguments: Sequence[str], scratch: Path, binds: Mapping[Path, str] | None = None,
                  policy: SandboxPolicy | None = None,
                  watch: Callable[[], None] | None = None) -> SandboxResult:
    """Run ``python arguments`` in the sandbox with ``scratch`` as its working directory.

    ``binds`` maps host paths to where they appear inside (read-only). ``watch`` is called
    about five times a second while it runs (e.g. to forward progress); an exception from
    it kills the sandbox and propagates. Never raises for what the code does: failures are
    in ``SandboxResult.reason``.
    """
    policy = policy or SandboxPolicy()
    scratch = Path(scratch)
    with _no_new_processes() as seccomp_fd:
        command, env, sandboxed = sandbox_command(arguments, scratch, binds or {}, policy,
                                                  seccomp_fd)
        started = time.monotonic()
        with open(scratch / ".stdout", "wb") as out, open(scratch / ".stderr", "wb") as err:
            process = subprocess.Popen(command, cwd=scratch, env=env or {},
                                       stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                       start_new_session=True,
                                       pass_fds=() if seccomp_fd is None else (seccomp_fd,))
    timed_out = _wait(process, policy.wall_seconds, watch)
    seconds = time.monotonic() - started
    stdout, stderr = _tail(scratch / ".stdout"), _tail(scratch / ".stderr")
    result = SandboxResult(process.returncode, stdout, stderr, seconds, timed_out=timed_out,
                           sandboxed=sandboxed)
    result.reason = explain(result, policy)
    return result


@contextlib.contextmanager
def _no_new_processes():
    """The seccomp filter's file descriptor where sandboxes run (else ``None``)."""
    if sandbox_problem() is not None:
        yield None
        return
    with seccomp_program() as fd:
        yield fd


def _wait(process: subprocess.Popen, wall_seconds: float,
          watch: Callable[[], None] | None) -> bool:
    """Wait for ``process``; kill its whole session at the wall time (returns ``True``)."""
    deadline = time.monotonic() + wall_seconds
    try:
        while process.poll() is None:
            if time.monotonic() >= deadline:
                kill(process)
                return True
            if watch:
                watch()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=POLL_SECONDS)
    except BaseException:
        kill(process)
        raise
    return False


def kill(process: subprocess.Popen) -> None:
    """SIGKILL the sandbox's session (bwrap and, through the PID namespace, all inside)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def read_scratch_file(path: Path, limit: int, tail: bool = False) -> bytes | None:
    """The bytes of a file the sandbox wrote, or ``None`` if it is missing, not a regular
    file (a symbolic link to a host file, say) or larger than ``limit`` bytes (with
    ``tail``: its last ``limit`` bytes)."""
    import stat

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or (info.st_size > limit and not tail):
            return None
        handle.seek(max(0, info.st_size - limit))
        return handle.read(limit)


def _tail(path: Path, limit: int = 64 * 1024) -> str:
    """The last ``limit`` bytes of a log the sandbox wrote (it may have written gigabytes)."""
    data = read_scratch_file(path, limit, tail=True)
    return "" if data is None else data.decode("utf-8", "replace")
