"""An audit hook that turns forbidden actions of submitter code into clear messages.

The namespaces and limits of ``evaluator.running.sandbox`` are the protection; this hook only names
what the code tried (Python's audit events: ``socket.connect``, ``os.fork``, ``open``...), so
that the submitter reads "tried to open a network connection to 127.0.0.1:6379" rather than
"Connection refused". The first violation is written to ``error.json`` at once: code that
catches the exception and loops is still reported correctly when the wall time stops it.
"""

from __future__ import annotations

import json
import os
import sys

SCRATCH = os.environ.get("HOME", "/scratch")
NETWORK = ("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg")
PROCESSES = ("os.fork", "os.forkpty", "os.system", "subprocess.Popen", "os.posix_spawn",
             "os.exec", "os.spawn", "os.kill", "os.killpg")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

_state = {"reported": False, "active": False}


class Forbidden(PermissionError):
    """Submitter code did something the sandbox forbids."""


def report(code: str, message: str) -> None:
    """Write ``error.json`` in scratch (the first report wins)."""
    if _state["reported"]:
        return
    _state["reported"] = True
    _state["active"] = False  # our own write below must not trip the hook
    with open(os.path.join(SCRATCH, "error.json"), "w", encoding="utf-8") as handle:
        json.dump({"code": code, "message": message}, handle)


def _writes(mode, flags) -> bool:
    if isinstance(mode, str) and any(c in mode for c in "wax+"):
        return True
    return isinstance(flags, int) and bool(flags & WRITE_FLAGS)


def _outside_scratch(path) -> bool:
    if isinstance(path, int):
        return False
    if isinstance(path, bytes):
        path = path.decode("utf-8", "replace")
    full = os.path.realpath(os.path.join(SCRATCH, os.fspath(path)))
    return not (full == SCRATCH or full.startswith(SCRATCH + os.sep) or full == "/dev/null")


def _hook(event: str, args: tuple) -> None:
    if not _state["active"]:
        return
    if event in NETWORK:
        address = args[1] if len(args) > 1 else "?"
        _refuse("network", f"tried to open a network connection ({event} to {address!r}); "
                "the sandbox has no network")
    elif event in PROCESSES:
        _refuse("process", f"tried to start or signal a process ({event}); model code runs "
                "in a single process")
    elif event == "open" and len(args) >= 3 and _writes(args[1], args[2]) \
            and _outside_scratch(args[0]):
        _refuse("write_outside_scratch", f"tried to write {args[0]!r}, outside its scratch "
                "directory; only the scratch directory is writable")


def _refuse(code: str, message: str) -> None:
    report(code, message)
    _state["active"] = True
    raise Forbidden(message)


def install() -> None:
    """Start refusing (audit hooks cannot be removed once added)."""
    _state["active"] = True
    sys.addaudithook(_hook)

