"""Running submitter code in a separate, locked-down process (SPEC §2, kinds 3 and 4).

Every piece of submitter code (a ``model.py``, and whatever a model's weights make the
runner do) runs in a child process started by ``run_sandboxed``:

- bubblewrap (``bwrap``) gives it new PID, network, IPC and UTS namespaces and a new mount
  namespace holding only the system libraries, the Python installation, the evaluator's
  sandbox-side code, the files the caller binds (read-only) and one scratch directory (the
  only writable place). The network namespace has only its own loopback: the host's Redis
  and PostgreSQL on 127.0.0.1 are unreachable.
- ``prlimit`` sets address space, CPU time, processes, file size and open files before the
  Python interpreter starts; the kernel enforces them.
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
from dataclasses import dataclass
from pathlib import Path

EVALUATOR_DIR = Path(__file__).resolve().parents[1]  # the whole package, for the sandbox side
CODE_ROOT = "/elue"  # where the evaluator package appears inside the sandbox
SCRATCH = "/scratch"  # the sandbox's only writable directory
SANDBOX_IDS = range(3_000_000, 4_000_000)  # user and group ids no account uses
MIB = 1024 * 1024
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class SandboxPolicy:
    """Limits of one sandboxed process; every one is enforced by the kernel or the parent.

    ``memory_mib`` bounds the address space (torch alone maps ~1 GiB), ``cpu_seconds`` the
    CPU time of each process, ``wall_seconds`` the elapsed time, ``processes`` the number of
    processes and threads of the unprivileged user, ``file_mib`` the size of any file
    written, ``open_files`` the open file descriptors; ``threads`` sets torch's threads.
    """

    memory_mib: int = 4096
    cpu_seconds: int = 1200
    wall_seconds: float = 900.0
    processes: int = 64
    file_mib: int = 256
    open_files: int = 256
    threads: int = 1
    allow_unsandboxed: bool = False
    # A GPU run (``evaluator.measure.devices.Device``): its ``/dev/nvidia*`` nodes, driver
    # library folders outside /usr, and variables such as ``CUDA_VISIBLE_DEVICES``.
    devices: tuple[str, ...] = ()
    library_dirs: tuple[str, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()


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


class SandboxUnavailable(Exception):
    """The host cannot sandbox code (``str(error)`` says why) and unsandboxed runs are off."""


# --- capability detection -----------------------------------------------------------------

def _python_dirs() -> list[Path]:
    """The Python installation and the virtual environment the sandbox must see read-only."""
    dirs = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve()}
    return sorted(dirs)


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in ("lib", "lib64", "lib32", "bin", "sbin"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), f"/{name}"]
        elif path.is_dir():
            args += ["--ro-bind", str(path), f"/{name}"]
    for name in ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d"):
        if Path(name).exists():
            args += ["--ro-bind", name, name]
    return args


def _parents(target: str, made: set[str]) -> list[str]:
    """``--dir`` arguments making ``target``'s parents traversable (bwrap makes them 0700)."""
    args = []
    parts = Path(target).parts
    for depth in range(2, len(parts)):
        parent = str(Path(*parts[:depth]))
        if parent not in made:
            made.add(parent)
            args += ["--perms", "0755", "--dir", parent]
    return args


def device_arguments(devices: Sequence[str], library_dirs: Sequence[str]) -> list[str]:
    """bwrap options giving the sandbox exactly these device nodes (``--dev`` made the rest
    of /dev a minimal tmpfs) and these driver library folders, read-only."""
    args = []
    for node in devices:
        args += ["--dev-bind", node, node]
    for folder in library_dirs:
        args += ["--ro-bind", folder, folder]
    return args


def bwrap_arguments(scratch: Path, binds: Mapping[Path, str], root: bool,
                    devices: Sequence[str] = (), library_dirs: Sequence[str] = ()) -> list[str]:
    """The bubblewrap command line up to (not including) the command run inside."""
    args = ["bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    if not root:
        args.append("--unshare-user")
    # /proc, /dev and an empty /tmp first: a later mount would hide a Python installation
    # or virtual environment that lives under /tmp (a checkout there, as CI may make).
    args += _system_binds() + ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    args += device_arguments(devices, library_dirs)
    made: set[str] = set()
    for directory in _python_dirs():
        args += _parents(str(directory), made) + ["--ro-bind", str(directory), str(directory)]
    args += _parents(f"{CODE_ROOT}/evaluator", made)
    args += ["--ro-bind", str(EVALUATOR_DIR), f"{CODE_ROOT}/evaluator"]
    for source, target in binds.items():
        args += _parents(target, made) + ["--ro-bind", str(source), target]
    args += ["--bind", str(scratch), SCRATCH, "--chdir", SCRATCH, "--clearenv"]
    return args


def limit_arguments(policy: SandboxPolicy) -> list[str]:
    """``prlimit`` options for ``policy`` (soft = hard: the code cannot raise them).

    With a GPU the memory limit bounds the data segment instead of the address space: CUDA
    reserves terabytes of address space it never touches (inaccessible mappings, which the
    data limit does not count), while the heap the code allocates still counts.
    """
    memory = "--data" if policy.devices else "--as"
    return ["prlimit", f"{memory}={policy.memory_mib * MIB}", f"--cpu={policy.cpu_seconds}",
            f"--nproc={policy.processes}", f"--fsize={policy.file_mib * MIB}",
            f"--nofile={policy.open_files}", "--core=0", "--"]


def sandbox_id() -> int:
    """A fresh user (and group) id for one sandbox."""
    import secrets

    return SANDBOX_IDS.start + secrets.randbelow(len(SANDBOX_IDS))


def drop_arguments(uid: int) -> list[str]:
    """``setpriv`` options: become ``uid``, no capabilities, no way to regain privileges."""
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}",
            "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]


@functools.cache
def sandbox_problem() -> str | None:
    """Why this host cannot sandbox code, or ``None`` if it can (checked once per process)."""
    for tool in ("bwrap", "prlimit", "setpriv"):
        if shutil.which(tool) is None:
            return (f"{tool} is not installed (Debian/Ubuntu: apt-get install bubblewrap "
                    "util-linux)")
    scratch = Path(_scratch_for_probe())
    try:
        root = os.geteuid() == 0
        command = bwrap_arguments(scratch, {}, root) + (drop_arguments(sandbox_id()) if root
                                                        else [])
        done = subprocess.run(command + [sys.executable, "-c", "pass"], capture_output=True,
                              text=True, timeout=60)
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

def sandbox_environment(policy: SandboxPolicy, scratch: str) -> dict[str, str]:
    """The whole environment of the sandboxed process: no settings, no secrets."""
    threads = str(policy.threads)
    return {
        "PATH": "/usr/bin:/bin", "HOME": scratch, "TMPDIR": f"{scratch}/tmp",
        "PYTHONPATH": CODE_ROOT if scratch == SCRATCH else str(EVALUATOR_DIR.parent),
        "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0", "LANG": "C.UTF-8",
        "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads, "TORCH_NUM_THREADS": threads,
        "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HOME": f"{scratch}/hf",
        "TOKENIZERS_PARALLELISM": "false", "CUDA_CACHE_PATH": f"{scratch}/cuda",
        **dict(policy.environment),
    }


def prepare_scratch(scratch: Path, uid: int | None) -> None:
    """Create ``scratch`` (and its ``tmp/``) writable by the sandbox's user ``uid``."""
    (scratch / "tmp").mkdir(parents=True, exist_ok=True)
    if uid is not None:
        for path in (scratch, scratch / "tmp"):
            os.chown(path, uid, uid)


def sandbox_command(arguments: Sequence[str], scratch: Path, binds: Mapping[Path, str],
                    policy: SandboxPolicy) -> tuple[list[str], dict[str, str] | None, bool]:
    """The command running ``python arguments`` under ``policy``; its environment (``None``:
    passed with ``--setenv``) and whether it is sandboxed.

    Raises ``SandboxUnavailable`` when the host cannot sandbox and the policy does not allow
    running unsandboxed.
    """
    problem = sandbox_problem()
    python = [sys.executable, "-B", *arguments]
    if problem is None:
        root = os.geteuid() == 0
        uid = sandbox_id() if root else None
        prepare_scratch(scratch, uid)
        env_args = [a for k, v in sandbox_environment(policy, SCRATCH).items()
                    for a in ("--setenv", k, v)]
        command = (bwrap_arguments(scratch, binds, root, policy.devices, policy.library_dirs)
                   + env_args + limit_arguments(policy))
        return command + (drop_arguments(uid) if root else []) + python, None, True
    if not policy.allow_unsandboxed:
        raise SandboxUnavailable(problem)
    prepare_scratch(scratch, None)
    env = sandbox_environment(policy, str(scratch))
    return limit_arguments(policy) + python, env, False


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
    command, env, sandboxed = sandbox_command(arguments, scratch, binds or {}, policy)
    started = time.monotonic()
    with open(scratch / ".stdout", "wb") as out, open(scratch / ".stderr", "wb") as err:
        process = subprocess.Popen(command, cwd=scratch, env=env or {},
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                   start_new_session=True)
    timed_out = _wait(process, policy.wall_seconds, watch)
    seconds = time.monotonic() - started
    stdout, stderr = _tail(scratch / ".stdout"), _tail(scratch / ".stderr")
    result = SandboxResult(process.returncode, stdout, stderr, seconds, timed_out=timed_out,
                           sandboxed=sandboxed)
    result.reason = explain(result, policy)
    return result


@dataclass
class SandboxSession:
    """A sandboxed process the caller talks to through its standard input and output
    (``start_sandboxed``); ``finish`` ends it and says how it went."""

    process: subprocess.Popen
    scratch: Path
    policy: SandboxPolicy
    sandboxed: bool
    started: float

    @property
    def deadline(self) -> float:
        """The ``time.monotonic()`` at which the wall time runs out."""
        return self.started + self.policy.wall_seconds

    def finish(self, timed_out: bool = False) -> SandboxResult:
        """Close its input, give it a second to exit, kill it otherwise; its result."""
        with contextlib.suppress(OSError):
            self.process.stdin.close()
        try:
            self.process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            kill(self.process)
        self.process.stdout.close()
        result = SandboxResult(self.process.returncode, "", _tail(self.scratch / ".stderr"),
                               time.monotonic() - self.started, timed_out=timed_out,
                               sandboxed=self.sandboxed)
        result.reason = explain(result, self.policy)
        return result


def start_sandboxed(arguments: Sequence[str], scratch: Path,
                    binds: Mapping[Path, str] | None = None,
                    policy: SandboxPolicy | None = None) -> SandboxSession:
    """Start ``python arguments`` in the sandbox as ``run_sandboxed`` does, but with pipes on
    its standard input and output for the caller to talk to it (standard error goes to
    ``scratch/.stderr``). The caller keeps to ``session.deadline`` and calls ``finish``."""
    policy = policy or SandboxPolicy()
    scratch = Path(scratch)
    command, env, sandboxed = sandbox_command(arguments, scratch, binds or {}, policy)
    with open(scratch / ".stderr", "wb") as err:
        process = subprocess.Popen(command, cwd=scratch, env=env or {}, stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=err, start_new_session=True)
    return SandboxSession(process, scratch, policy, sandboxed, time.monotonic())


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


def explain(result: SandboxResult, policy: SandboxPolicy) -> str | None:
    """A sentence for the submitter saying why the sandboxed process failed, or ``None``."""
    if result.timed_out:
        return f"exceeded the wall time of {policy.wall_seconds:g} s and was stopped"
    code = result.exit_code
    if code == 0:
        return None
    last = _last_error(result.stderr)
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
