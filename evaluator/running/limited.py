"""The platform's own code on submitted data, in a child process under the sandbox's limits.

Counting a standard architecture runs no submitter code, but what it builds and traces is
chosen by the submission (a 166-byte ``config.json`` with 2,000 layers cost a worker 146 s
and 2.6 GB): it must not run in the worker's own process, unbounded. ``run_limited`` calls
``function(*args)`` in a fresh interpreter (``spawn``: nothing inherited from the worker)
with the policy's address space and CPU time, no way to start another process (seccomp),
the wall time and the caller's ``watch`` (cancelling) enforced from here, and returns its
result or raises its domain error.

    >>> costs = run_limited(definition_costs, (directory, test_sets), policy, watch)
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import resource
import signal
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any

from evaluator.errors import EvaluationFailed, InvalidInput
from evaluator.running.sandbox import MIB, POLL_SECONDS, SandboxPolicy
from evaluator.running.sandbox_limits import forbid_new_processes

WHAT = "counting the model's FLOPs"
CPU_GRACE = 5  # seconds between the CPU limit's SIGXCPU and its SIGKILL
PR_SET_PDEATHSIG = 1


class LimitExceeded(EvaluationFailed):
    """The child hit a limit; the message says which, for the submitter."""


class ChildFailed(RuntimeError):
    """The child raised something that is no domain error: the platform's fault."""


def _child(connection: Connection, function: Callable, args: Sequence[Any],
           memory_mib: int, cpu_seconds: int, parent: int) -> None:
    """In the child: limits first, then the work; the outcome goes back through the pipe."""
    _die_with_parent(parent)
    resource.setrlimit(resource.RLIMIT_AS, (memory_mib * MIB,) * 2)
    # SIGXCPU at the limit, SIGKILL a few seconds later should it be ignored.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + CPU_GRACE))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Without libseccomp (the offline checker on a researcher's machine) there is no filter;
    # a server reports the lack (``sandbox_available``) and refuses model code, which needs it.
    with contextlib.suppress(ImportError, RuntimeError, OSError):
        forbid_new_processes()
    try:
        outcome = ("ok", function(*args))
    except InvalidInput as error:  # rebuilt from its problems: a custom __init__ does not pickle
        outcome = ("invalid", type(error), error.problems)
    except EvaluationFailed as error:
        outcome = ("failed", type(error), str(error))
    except MemoryError:
        outcome = ("memory",)
    except Exception:  # a bug of ours, not the submitter's: the task reports a platform fault
        outcome = ("error", traceback.format_exc(limit=-3))
    connection.send(outcome)
    connection.close()


def _die_with_parent(parent: int) -> None:
    """A worker killed mid-count (``kill -9``, the hard time limit) takes the child along,
    as bubblewrap's ``--die-with-parent`` does for a sandbox."""
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before that took effect
        os._exit(1)


def run_limited(function: Callable, args: Sequence[Any], policy: SandboxPolicy,
                watch: Callable[[], None] | None = None, what: str = WHAT) -> Any:
    """``function(*args)`` in a child under ``policy``; ``watch`` is called about five times
    a second (an exception from it kills the child and propagates)."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, daemon=True, name="elue-limited", args=(
        sender, function, tuple(args), policy.memory_mib, policy.cpu_seconds, os.getpid()))
    child.start()
    sender.close()
    try:
        outcome = _wait(child, receiver, policy, watch, what)
    except BaseException:
        child.kill()
        raise
    finally:
        child.join()
        receiver.close()
    return _result(outcome, policy, what)


def _wait(child, receiver: Connection, policy: SandboxPolicy,
          watch: Callable[[], None] | None, what: str) -> tuple:
    deadline = time.monotonic() + policy.wall_seconds
    while not receiver.poll(POLL_SECONDS):
        if watch is not None:
            watch()
        if time.monotonic() >= deadline:
            raise LimitExceeded(f"{what} exceeded the wall time of {policy.wall_seconds:g} s "
                                "and was stopped")
        if not child.is_alive() and not receiver.poll():
            child.join()
            return ("died", child.exitcode)
    try:
        return receiver.recv()
    except EOFError:  # the child died while sending
        child.join()
        return ("died", child.exitcode)


def _result(outcome: tuple, policy: SandboxPolicy, what: str) -> Any:
    kind = outcome[0]
    if kind == "ok":
        return outcome[1]
    if kind == "invalid":
        raise outcome[1](outcome[2])
    if kind == "failed":
        raise outcome[1](outcome[2])
    if kind == "memory":
        raise LimitExceeded(f"{what} exceeded the memory limit of {policy.memory_mib} MiB")
    if kind == "error":
        raise ChildFailed(f"{what} failed in its child process:\n{outcome[1]}")
    code = outcome[1]
    if code == -signal.SIGXCPU:
        raise LimitExceeded(f"{what} exceeded the CPU time limit of {policy.cpu_seconds} s")
    raise LimitExceeded(f"{what} stopped unexpectedly (exit {code}), most likely for "
                        f"exceeding the memory limit of {policy.memory_mib} MiB")
