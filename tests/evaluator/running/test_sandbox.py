"""Hostile model code in the sandbox: each attempt ends in a clear reason, nothing leaks.

Every test runs a real sandbox (bubblewrap) through ``count_custom``, as the platform does
when it counts a submitted ``model.py``; the worker-level tests are in tests/sandbox/.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from evaluator.bundle.model_files import read_model
from evaluator.errors import SubmissionInvalid
from evaluator.running import sandbox, sandbox_arguments
from evaluator.running.custom_code import count_custom
from evaluator.running.model_sandbox import ModelCodeFailed, ModelRunOptions
from evaluator.running.sandbox import SandboxUnavailable, run_sandboxed
from evaluator.running.sandbox_policy import SandboxPolicy
from tests.conftest import ELUE_DATA_DIR, REPO_DIR
from tests.evaluator.custom_models import COST_EFF, multi_exit_model

pytestmark = pytest.mark.slow

QUICK = SandboxPolicy(memory_mib=3072, cpu_seconds=60, wall_seconds=60, processes=64)


@pytest.fixture(autouse=True)
def sandbox_host():
    available, why = sandbox.sandbox_available()
    if not available:
        pytest.fail(f"these tests need a host that can sandbox code: {why} (docs/sandbox.md)")


def mallory_counts(tmp_path: Path, code: str, policy: SandboxPolicy = QUICK) -> str:
    """Submit ``code`` as Mallory's model.py; return why counting it failed."""
    folder = multi_exit_model(tmp_path / "model", COST_EFF, code)
    model, problems = read_model(folder, sorted(p.name for p in folder.iterdir()), "model")
    assert problems == []
    with pytest.raises(ModelCodeFailed) as failure:
        count_custom(model, 2, np.array([8]), [], True, 512, ModelRunOptions(policy=policy))
    return str(failure.value)


def test_it_refuses_a_socket_to_the_hosts_redis(tmp_path):
    reason = mallory_counts(tmp_path, "import socket\n"
                            "def build(n):\n"
                            "    socket.create_connection(('127.0.0.1', 6379), timeout=2)\n")
    assert "tried to open a network connection" in reason
    assert "127.0.0.1" in reason and "6379" in reason


def test_it_keeps_the_connection_refused_even_past_the_audit_hook(tmp_path):
    # ctypes-level code skips Python's audit events: the network namespace still holds.
    reason = mallory_counts(tmp_path, """
import ctypes, socket, struct
def build(n):
    libc = ctypes.CDLL(None)
    fd = libc.socket(socket.AF_INET, socket.SOCK_STREAM, 0)
    address = struct.pack('!HHI8x', socket.AF_INET, 6379, 0x7F000001)
    result = libc.connect(fd, address, len(address))
    raise RuntimeError(f'connect returned {result} errno {ctypes.get_errno()}')
""")
    assert "connect returned -1" in reason


def test_it_cannot_read_the_hidden_labels(tmp_path):
    labels = ELUE_DATA_DIR / "MRPC" / "test_full.tsv"
    assert labels.is_file()
    reason = mallory_counts(tmp_path, f"def build(n):\n    return open({str(labels)!r}).read()\n")
    assert "model.py line 2: FileNotFoundError" in reason


def test_it_sees_no_repository_database_or_settings(tmp_path):
    reason = mallory_counts(tmp_path, f"""
import os
def build(n):
    seen = [p for p in ({str(REPO_DIR / 'var')!r}, {str(REPO_DIR / 'elue')!r},
                        {str(REPO_DIR / 'leaderboard')!r}, '/work/shared') if os.path.exists(p)]
    raise RuntimeError(f'visible: {{seen}} env: {{sorted(os.environ)}}')
""")
    assert "visible: []" in reason
    assert "DATABASE_URL" not in reason and "DJANGO_SETTINGS_MODULE" not in reason
    assert "'OMP_NUM_THREADS'" in reason


def test_it_refuses_writes_outside_scratch(tmp_path):
    reason = mallory_counts(tmp_path, "def build(n):\n"
                            "    open('/submission/model.py', 'a').write('# pwned')\n")
    assert "tried to write '/submission/model.py'" in reason
    assert "outside its scratch directory" in reason
    assert not (tmp_path / "model" / "model.py").read_text().endswith("# pwned")


def test_it_stops_an_infinite_loop_at_the_wall_time(tmp_path):
    policy = SandboxPolicy(memory_mib=3072, cpu_seconds=60, wall_seconds=6)
    reason = mallory_counts(tmp_path, "def build(n):\n    while True:\n        pass\n", policy)
    assert reason.endswith("exceeded the wall time of 6 s and was stopped")


def test_it_stops_a_busy_loop_at_the_cpu_limit(tmp_path):
    policy = SandboxPolicy(memory_mib=3072, cpu_seconds=8, wall_seconds=60)
    reason = mallory_counts(tmp_path, "def build(n):\n    while True:\n        pass\n", policy)
    assert reason.endswith("exceeded the CPU time limit of 8 s")


def test_it_stops_a_memory_bomb(tmp_path):
    reason = mallory_counts(tmp_path, "def build(n):\n"
                            "    hoard = []\n"
                            "    while True:\n"
                            "        hoard.append(bytearray(256 * 1024 * 1024))\n")
    assert "exceeded the memory limit" in reason


def test_it_refuses_a_fork_bomb(tmp_path):
    reason = mallory_counts(tmp_path, "import os\n"
                            "def build(n):\n"
                            "    while True:\n"
                            "        os.fork()\n")
    assert "tried to start or signal a process (os.fork)" in reason


def test_it_refuses_processes_below_the_audit_hook(tmp_path, monkeypatch):
    # libc's fork() is not audited: the kernel (seccomp) refuses it, not one child is made.
    uid = sandbox_arguments.sandbox_id()  # this sandbox's own user: other tests run theirs
    monkeypatch.setattr(sandbox, "sandbox_id", lambda: uid)
    policy = SandboxPolicy(memory_mib=3072, cpu_seconds=60, wall_seconds=30, processes=32)
    reason = mallory_counts(tmp_path, """
import ctypes
libc, made = ctypes.CDLL(None, use_errno=True), 0
while made < 10000:  # at import: runs once
    pid = libc.fork()
    if pid == 0:
        libc.pause()
    if pid < 0:
        break
    made += 1
raise RuntimeError(f'forked {made} errno {ctypes.get_errno()}')
""", policy)
    made = int(reason.split("forked ")[1].split()[0])
    assert made == 0 and reason.endswith("errno 1"), reason  # EPERM: no second process
    assert wait_until(lambda: not processes_of(uid))  # and no child outlived it


def processes_of(uid: int) -> list[str]:
    """The processes of ``uid`` still alive."""
    return [found for found in os.popen("ps -e -o uid=").read().split() if int(found) == uid]


def wait_until(condition, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_it_never_follows_a_link_the_code_left_in_scratch(tmp_path):
    labels = ELUE_DATA_DIR / "MRPC" / "test_full.tsv"
    (tmp_path / "progress.log").symlink_to(labels)
    assert sandbox.read_scratch_file(tmp_path / "progress.log", 10**9) is None
    (tmp_path / "error.json").write_text('{"code": "x"}')
    assert sandbox.read_scratch_file(tmp_path / "error.json", 100) == b'{"code": "x"}'
    assert sandbox.read_scratch_file(tmp_path / "error.json", 10) is None


def test_it_refuses_custom_code_on_a_host_without_bubblewrap(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    sandbox.sandbox_problem.cache_clear()
    try:
        available, why = sandbox.sandbox_available()
        assert not available and why.startswith("bwrap is not installed")
        with pytest.raises(SandboxUnavailable):
            run_sandboxed(["-c", "pass"], tmp_path, policy=QUICK)
        folder = multi_exit_model(tmp_path / "model", COST_EFF)
        model, _ = read_model(folder, sorted(p.name for p in folder.iterdir()), "model")
        with pytest.raises(SubmissionInvalid) as refused:
            count_custom(model, 2, np.array([8]), [], True, 512, ModelRunOptions(policy=QUICK))
        assert refused.value.problems[0].code == "custom_code_unsupported"
    finally:
        sandbox.sandbox_problem.cache_clear()


def test_it_runs_unsandboxed_only_when_the_operator_allows_it(tmp_path, monkeypatch):
    monkeypatch.setattr(sandbox, "sandbox_problem", lambda: "bwrap is not installed")
    allowed = SandboxPolicy(wall_seconds=30, allow_unsandboxed=True)
    result = run_sandboxed(["-c", "import os; print(os.getcwd())"], tmp_path, policy=allowed)
    assert result.ok and not result.sandboxed
    assert result.stdout.strip() == str(tmp_path)


def test_it_refuses_to_count_ops_it_has_no_rule_for(tmp_path):
    # A convolution would otherwise be counted as free: an easy way to game the benchmark.
    reason = mallory_counts(tmp_path, """
import torch
class Sneaky(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = torch.nn.Embedding(30522, 64)
        self.conv = torch.nn.Conv1d(64, 64, 3, padding=1)
    def forward(self, input_ids, attention_mask=None):
        return self.conv(self.embed(input_ids).transpose(1, 2)).mean()
def build(n):
    return Sneaky()
""")
    assert "the model uses aten.conv1d" in reason
    assert "no rule for" in reason


def test_a_python_under_tmp_stays_visible_inside(tmp_path):
    """The empty /tmp is mounted before the Python installation is bound, so that a
    virtual environment under /tmp (a CI checkout there) is not hidden by it."""
    args = sandbox_arguments.bwrap_arguments(tmp_path, {}, root=True)
    tmpfs = args.index("--tmpfs")
    python_binds = [i for i, a in enumerate(args[:-1])
                    if a == "--ro-bind" and Path(args[i + 1]) in sandbox_arguments._python_dirs()]
    assert python_binds and tmpfs < min(python_binds)


def run_script(tmp_path: Path, code: str, policy: SandboxPolicy):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    return run_sandboxed(["-c", code], scratch, policy=policy), scratch


def test_memory_is_limited_per_sandbox_not_per_process(tmp_path):
    """The guard can be switched off by the code it guards; what then? No process can be
    started (fork, raw clone), and threads share the one address space: 256 MiB in all."""
    policy = SandboxPolicy(memory_mib=256, cpu_seconds=30, wall_seconds=30)
    result, _ = run_script(tmp_path, """
import ctypes, os, threading
libc = ctypes.CDLL(None, use_errno=True)
for start in (os.fork, libc.fork, lambda: libc.syscall(56, 17, 0, 0, 0, 0)):  # 56: clone
    try:
        print("child", start())
    except OSError as error:
        print("refused", error.errno)
hoard = []
def grab():
    hoard.append(bytearray(100 * 1024 * 1024))
threads = [threading.Thread(target=grab) for _ in range(4)]  # 400 MiB over four threads
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print("held", len(hoard))
raise MemoryError
""", policy)
    lines = result.stdout.split("\n")
    assert lines[:3] == ["refused 1", "child -1", "child -1"]
    assert lines[3] in ("held 1", "held 2")  # 100 MiB blocks: 256 MiB in all
    assert result.reason == "exceeded the memory limit of 256 MiB"


def test_scratch_is_a_size_limited_file_system_off_the_host_disk(tmp_path):
    policy = SandboxPolicy(memory_mib=512, cpu_seconds=30, wall_seconds=30, scratch_mib=64)
    result, scratch = run_script(tmp_path, """
import os
for i in range(100):  # 100 files of 16 MiB: each under the file limit, 1.6 GB in all
    with open(f"/scratch/tmp/blob-{i}", "wb") as out:
        out.write(os.urandom(16 * 1024 * 1024))
""", policy)
    assert result.reason == ("filled its scratch space of 64 MiB (the only writable place: a "
                             "size-limited temporary file system, emptied after each run)")
    on_host = sum(p.stat().st_size for p in scratch.rglob("*") if p.is_file())
    assert on_host < 1024 * 1024  # the logs; the blobs never reached the host
