"""The platform's own code on submitted data, in a child process under the sandbox's limits.

Counting a standard architecture runs no submitter code, but what it builds and traces is
chosen by the submission (a 166-byte ``config.json`` with 2,000 layers cost a worker 146 s
and 2.6 GB): it must not run in the worker's own process, unbounded. ``run_limited`` calls
``function(*args)`` in a fresh interpreter (``python -m evaluator.running.limited``: nothing
inherited from the worker, not its threads nor its database connections) with the policy's
address space and CPU time, no way to start another process (seccomp), killed with the
worker, the wall time and the caller's ``watch`` (cancelling) enforced from here; it returns
the result or raises the child's domain error.

The call and its outcome travel as pickles in files: the child runs only the platform's own
code, as the worker itself did before.

    >>> costs = run_limited(definition_costs, (directory, test_sets), policy, watch)
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import resource
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from evaluator.errors import EvaluationFailed, InvalidInput
from evaluator.running.sandbox import POLL_SECONDS, kill
from evaluator.running.sandbox_arguments import EVALUATOR_DIR
from evaluator.running.sandbox_limits import MIB, forbid_new_processes
from evaluator.running.sandbox_policy import SandboxPolicy

WHAT = "counting the model's FLOPs"
CPU_GRACE = 5  # seconds between the CPU limit's SIGXCPU and its SIGKILL
PR_SET_PDEATHSIG = 1
FAILED = 3  # the child's exit status when it could not even report


class LimitExceeded(EvaluationFailed):
    """The child hit a limit; the message says which, for the submitter."""


class ChildFailed(RuntimeError):
    """The child raised something that is no domain error: the platform's fault."""


# --- the worker's side --------------------------------------------------------------------

def run_limited(function: Callable, args: Sequence[Any], policy: SandboxPolicy,
                watch: Callable[[], None] | None = None, what: str = WHAT,
                work_dir: Path | None = None) -> Any:
    """``function(*args)`` in a child under ``policy``; ``watch`` is called about five times
    a second (an exception from it kills the child and propagates). The call's files go in
    a temporary folder under ``work_dir``."""
    with tempfile.TemporaryDirectory(prefix="elue-limited-", dir=work_dir) as folder:
        call, outcome = Path(folder) / "call.pickle", Path(folder) / "outcome.pickle"
        call.write_bytes(pickle.dumps((function, tuple(args))))
        command = [sys.executable, "-m", "evaluator.running.limited", str(call), str(outcome),
                   str(policy.memory_mib), str(policy.cpu_seconds), str(os.getpid())]
        with open(Path(folder) / "stderr", "wb") as stderr:
            child = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=stderr,
                                     env=_environment(), start_new_session=True)
        _wait(child, policy, watch, what)
        if not outcome.is_file():
            _died(child.returncode, (Path(folder) / "stderr").read_bytes(), policy, what)
        return _result(pickle.loads(outcome.read_bytes()), policy, what)


def _environment() -> dict[str, str]:
    """The worker's environment, with the evaluator importable whatever the working folder."""
    paths = [str(EVALUATOR_DIR.parent), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)}


def _wait(child: subprocess.Popen, policy: SandboxPolicy,
          watch: Callable[[], None] | None, what: str) -> None:
    deadline = time.monotonic() + policy.wall_seconds
    try:
        while child.poll() is None:
            if time.monotonic() >= deadline:
                raise LimitExceeded(f"{what} exceeded the wall time of "
                                    f"{policy.wall_seconds:g} s and was stopped")
            if watch is not None:
                watch()
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=POLL_SECONDS)
    except BaseException:
        kill(child)
        raise


def _died(code: int, stderr: bytes, policy: SandboxPolicy, what: str) -> None:
    """The child left no outcome: a limit killed it, or it could not start."""
    if code in (-signal.SIGXCPU, 128 + signal.SIGXCPU):
        raise LimitExceeded(f"{what} exceeded the CPU time limit of {policy.cpu_seconds} s")
    if code in (-signal.SIGKILL, -signal.SIGSEGV):
        raise LimitExceeded(f"{what} was killed by the system (exit {code}), most likely "
                            f"for exceeding the memory limit of {policy.memory_mib} MiB")
    tail = stderr.decode("utf-8", "replace")[-2000:]
    raise ChildFailed(f"{what} failed in its child process (exit {code}):\n{tail}")


def _result(outcome: tuple, policy: SandboxPolicy, what: str) -> Any:
    kind = outcome[0]
    if kind == "ok":
        return outcome[1]
    if kind in ("invalid", "failed"):
        raise outcome[1](outcome[2])
    if kind == "memory":
        raise LimitExceeded(f"{what} exceeded the memory limit of {policy.memory_mib} MiB")
    raise ChildFailed(f"{what} failed in its child process:\n{outcome[1]}")


# --- the child's side: python -m evaluator.running.limited CALL OUTCOME MEMORY CPU WORKER --

def _die_with_worker(worker: int) -> None:
    """A worker killed mid-count (``kill -9``, the hard time limit) takes the child along,
    as bubblewrap's ``--die-with-parent`` does for a sandbox."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != worker:  # the worker died before that took effect
        os._exit(FAILED)


def limit_this_process(memory_mib: int, cpu_seconds: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_mib * MIB,) * 2)
    # SIGXCPU at the limit, SIGKILL a few seconds later should it be ignored.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + CPU_GRACE))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Without libseccomp (the offline checker on a researcher's machine) there is no filter;
    # a server reports the lack (``sandbox_available``) and refuses model code, which needs it.
    with contextlib.suppress(ImportError, RuntimeError, OSError):
        forbid_new_processes()


def outcome_of(function: Callable, args: Sequence[Any]) -> tuple:
    try:
        return ("ok", function(*args))
    except InvalidInput as error:  # rebuilt from its problems: a custom __init__ won't pickle
        return ("invalid", type(error), error.problems)
    except EvaluationFailed as error:
        return ("failed", type(error), str(error))
    except MemoryError:
        return ("memory",)
    except Exception:  # a bug of ours, not the submitter's: the task reports a platform fault
        return ("error", traceback.format_exc(limit=-3))


def main(argv: list[str]) -> int:
    call, outcome, memory_mib, cpu_seconds, worker = argv
    _die_with_worker(int(worker))
    limit_this_process(int(memory_mib), int(cpu_seconds))
    function, args = pickle.loads(Path(call).read_bytes())
    result = outcome_of(function, args)
    Path(outcome).write_bytes(pickle.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
