"""The command line that builds a sandbox (``evaluator.running.sandbox`` runs it): bubblewrap's
namespaces and read-only binds, ``prlimit``'s limits, ``setpriv``'s unprivileged user, and
the whole environment the code sees.

    >>> bwrap_arguments(scratch, {Path("/tmp/sub/model"): "/submission"}, root=False)
    ['bwrap', '--unshare-pid', ...]
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path

from evaluator.running.sandbox_limits import MIB, SCRATCH, scratch_arguments
from evaluator.running.sandbox_policy import SandboxPolicy

EVALUATOR_DIR = Path(__file__).resolve().parents[1]  # the whole package, for the sandbox side
CODE_ROOT = "/elue"  # where the evaluator package appears inside the sandbox
SANDBOX_IDS = range(3_000_000, 4_000_000)  # user and group ids no account uses


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


def bwrap_arguments(scratch: Path, binds: Mapping[Path, str], root: bool,
                    scratch_mib: int = SandboxPolicy.scratch_mib) -> list[str]:
    """The bubblewrap command line up to (not including) the command run inside."""
    args = ["bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    if not root:
        args.append("--unshare-user")
    # /proc, /dev and an empty /tmp first: a later mount would hide a Python installation
    # or virtual environment that lives under /tmp (a checkout there, as CI may make).
    args += _system_binds() + ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    made: set[str] = set()
    for directory in _python_dirs():
        args += _parents(str(directory), made) + ["--ro-bind", str(directory), str(directory)]
    args += _parents(f"{CODE_ROOT}/evaluator", made)
    args += ["--ro-bind", str(EVALUATOR_DIR), f"{CODE_ROOT}/evaluator"]
    for source, target in binds.items():
        args += _parents(target, made) + ["--ro-bind", str(source), target]
    args += scratch_arguments(scratch, scratch_mib) + ["--chdir", SCRATCH, "--clearenv"]
    return args


def limit_arguments(policy: SandboxPolicy) -> list[str]:
    """``prlimit`` options for ``policy`` (soft = hard: the code cannot raise them)."""
    return ["prlimit", f"--as={policy.memory_mib * MIB}", f"--cpu={policy.cpu_seconds}",
            f"--nproc={policy.processes}", f"--fsize={policy.file_mib * MIB}",
            f"--nofile={policy.open_files}", "--core=0", "--"]


def sandbox_id() -> int:
    """A fresh user (and group) id for one sandbox."""
    return SANDBOX_IDS.start + secrets.randbelow(len(SANDBOX_IDS))


def drop_arguments(uid: int) -> list[str]:
    """``setpriv`` options: become ``uid``, no capabilities, no way to regain privileges."""
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}",
            "--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--no-new-privs", "--"]



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
        "TOKENIZERS_PARALLELISM": "false",
    }
