"""The platform's own code on submitted data, in a limited child process: results and domain
errors come back; memory, CPU, wall time, new processes and cancelling are bounded."""

from __future__ import annotations

import json
import operator
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evaluator.bundle.load import load_bundle
from evaluator.cost.reference_flops import REFERENCE_CONFIG
from evaluator.errors import Problem, SubmissionInvalid
from evaluator.evaluate import evaluate_bundle
from evaluator.running.limited import ChildFailed, LimitExceeded, run_limited
from evaluator.running.model_sandbox import ModelRunOptions
from evaluator.running.sandbox_policy import SandboxPolicy
from tests.conftest import ELUE_DATA_DIR, REPO_DIR
from tests.evaluator.builders import predictions, write
from tests.evaluator.test_checker import model_definition

QUICK = SandboxPolicy(memory_mib=1024, cpu_seconds=30, wall_seconds=30)


def refuse(name: str) -> None:
    raise SubmissionInvalid([Problem("bad_config", f"{name} is not usable", "config.json")])


def start_a_process() -> None:
    subprocess.run(["true"], check=True)


class Stopped(Exception):
    pass


def test_it_returns_the_result():
    assert run_limited(operator.add, (2, 3), QUICK) == 5


def test_a_domain_error_comes_back_whole():
    with pytest.raises(SubmissionInvalid) as refused:
        run_limited(refuse, ("config.json",), QUICK)
    assert refused.value.problems == [Problem("bad_config", "config.json is not usable",
                                              "config.json")]


def test_memory_is_bounded():
    with pytest.raises(LimitExceeded, match="exceeded the memory limit of 1024 MiB"):
        run_limited(bytearray, (2 * 1024 ** 3,), QUICK)


def test_no_process_can_be_started():
    with pytest.raises(ChildFailed, match="PermissionError"):
        run_limited(start_a_process, (), QUICK)


def test_the_cpu_time_is_bounded():
    policy = SandboxPolicy(memory_mib=1024, cpu_seconds=2, wall_seconds=60)
    with pytest.raises(LimitExceeded, match="exceeded the CPU time limit of 2 s"):
        run_limited(sum, (range(10 ** 12),), policy)


def test_the_wall_time_and_a_cancel_stop_it():
    policy = SandboxPolicy(memory_mib=1024, cpu_seconds=30, wall_seconds=2)
    with pytest.raises(LimitExceeded, match="exceeded the wall time of 2 s"):
        run_limited(time.sleep, (60,), policy)
    calls = []

    def cancelled() -> None:
        calls.append(1)
        if len(calls) > 3:
            raise Stopped

    started = time.monotonic()
    with pytest.raises(Stopped):
        run_limited(time.sleep, (60,), QUICK, watch=cancelled)
    assert time.monotonic() - started < 5


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, killed and not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def children_of(pid: int) -> list[int]:
    listed = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(child) for child in listed.stdout.split()]


def descendants_of(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        children = children_of(todo.pop())
        found += children
        todo += children
    return found


def wait_for_true(condition, seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def test_the_child_dies_with_a_killed_worker():
    code = ("import time; from evaluator.running.limited import run_limited; "
            "from evaluator.running.sandbox_policy import SandboxPolicy; "
            "run_limited(time.sleep, (120,), SandboxPolicy(wall_seconds=300))")
    worker = subprocess.Popen([sys.executable, "-c", code], cwd=REPO_DIR,
                              env={**os.environ, "PYTHONPATH": str(REPO_DIR)})
    descendants: list[int] = []

    def counting() -> bool:
        descendants[:] = descendants_of(worker.pid)
        return bool(descendants)

    try:
        assert wait_for_true(counting, 60)
        time.sleep(2)  # past its start-up, in the work
    finally:
        worker.kill()
        worker.wait()
    assert wait_for_true(lambda: not any(alive(pid) for pid in descendants), 30)


def deep_definition(folder: Path, layers: int) -> Path:
    """A kind-3 MRPC bundle whose ``config.json`` (a few hundred bytes) has ``layers``
    narrow layers: few parameters, much to build and trace."""
    model_definition(folder, layers=2)
    write(folder, "model/config.json", json.dumps(dict(
        REFERENCE_CONFIG, num_hidden_layers=layers, hidden_size=64, num_attention_heads=4,
        intermediate_size=128)))
    write(folder, "mrpc.tsv", predictions("mrpc"))
    return folder


@pytest.mark.slow
def test_a_deep_standard_architecture_is_refused_before_anything_is_built(tmp_path):
    """A 166-byte config of 2,000 layers once cost a worker 146 s and 2.6 GB in its own
    process; narrow layers keep it under the parameter cap. The size limits read from the
    config now refuse it, in the limited child, before a layer is built."""
    bundle = load_bundle(deep_definition(tmp_path / "deep", 2000), tmp_path / "scratch")
    options = ModelRunOptions(policy=SandboxPolicy(memory_mib=4096, cpu_seconds=600,
                                                   wall_seconds=20))
    started = time.monotonic()
    with pytest.raises(SubmissionInvalid, match='"num_hidden_layers" is 2000') as refused:
        evaluate_bundle(bundle, ELUE_DATA_DIR, curves={}, options=options)
    assert [p.code for p in refused.value.problems] == ["model_too_large"]
    assert time.monotonic() - started < 40


@pytest.mark.slow
def test_a_deep_standard_architecture_is_counted_under_the_limits(tmp_path):
    """The deepest config the limits accept (48 layers) is still counted in the limited
    child, under its wall time: given less time than counting takes, it is stopped."""
    bundle = load_bundle(deep_definition(tmp_path / "deep", 48), tmp_path / "scratch")
    options = ModelRunOptions(policy=SandboxPolicy(memory_mib=4096, cpu_seconds=600,
                                                   wall_seconds=2))
    started = time.monotonic()
    with pytest.raises(LimitExceeded, match="counting the model's FLOPs exceeded the wall "
                                            "time of 2 s"):
        evaluate_bundle(bundle, ELUE_DATA_DIR, curves={}, options=options)
    assert time.monotonic() - started < 40
