"""Running one job of the sandboxed side (``evaluator.running.sandboxed``) for a submitted
model, and reading what it leaves: the plumbing shared by capturing, counting and running
models (``custom_code``, ``model_runs``).

Every file a sandbox leaves is read with bounds and checked by the caller (types, ranges,
sizes); one that is missing, malformed or out of range fails the submission as the model's
failure (``ModelCodeFailed``), as does a run stopped by the time limits. A ``SandboxBudget``
bounds the sandbox time of one evaluation.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from evaluator.bundle.model_files import ModelDefinition
from evaluator.errors import EvaluationFailed, Problem, SubmissionInvalid
from evaluator.running.batching import DEFAULT_TOKEN_BUDGET
from evaluator.running.sandbox import SandboxUnavailable, read_scratch_file, run_sandboxed
from evaluator.running.sandbox_limits import scratch_full_reason
from evaluator.running.sandbox_policy import SandboxPolicy, SandboxResult

SUBMISSION = "/submission"
INPUTS = "/inputs"
GRAPHS = "/graphs"
WEIGHTS = "/weights"
MAX_RESULT_BYTES = 256 * 1024 * 1024  # the sandbox's file-size limit bounds them anyway
# The sandbox writes its progress file itself (so might the model's code): at most this many
# lines per run reach the submission's log, ~10 per threshold from the runner.
MAX_PROGRESS_LINES = 200
WEIGHT_SUFFIX = ".safetensors"
Progress = Callable[[str], None]


class ModelCodeFailed(EvaluationFailed):
    """The submitted model failed, or something it may have caused went wrong: it ran out
    of time, or a sandbox's result was missing or malformed. Counts against the quota."""


class SandboxBudget:
    """Sandbox seconds one evaluation may still use, shared by all its sandbox runs, so
    that an evaluation ends (as the submitter's failure) before the task's time limit."""

    def __init__(self, seconds: float):
        self.total = float(seconds)
        self.spent = 0.0
        self.ran_code = False  # whether a sandbox met submitted code or its graphs

    @property
    def left(self) -> float:
        return self.total - self.spent

    def policy(self, policy: SandboxPolicy) -> SandboxPolicy:
        """``policy`` with its wall time cut to what is left; fails once nothing is."""
        if self.left <= 0:
            raise ModelCodeFailed(self.exhausted())
        return replace(policy, wall_seconds=min(policy.wall_seconds, self.left))

    def spend(self, seconds: float) -> None:
        self.spent += seconds

    def exhausted(self) -> str:
        return (f"the model used up the sandbox time of one submission ({self.total:g} s in "
                "all, capturing, counting and running) and was stopped")


@dataclass(frozen=True)
class ModelRunOptions:
    """How submitted models are counted and run: sandbox limits, inference batch size in
    tokens, the size and seed of the re-run sample checking a kind-3 submission, and the
    sandbox time budget of the evaluation (``None``: only each run's wall time).
    Temporary files go under ``work_dir`` (the system's temporary folder if ``None``);
    ``check_stop``, called about once a second while a sandbox runs, raises to stop it
    (the submission was cancelled)."""

    policy: SandboxPolicy = field(default_factory=SandboxPolicy)
    token_budget: int = DEFAULT_TOKEN_BUDGET
    sample_size: int = 200
    seed: int = 0
    budget: SandboxBudget | None = None
    work_dir: Path | None = None
    check_stop: Callable[[], None] | None = None




def copy_files(files: Sequence[Path], into: Path) -> Path:
    """A read-only copy of ``files`` in a fresh directory ``into`` (bound into a sandbox)."""
    into.mkdir()
    into.chmod(0o755)
    for path in files:
        shutil.copyfile(path, into / path.name)
        (into / path.name).chmod(0o644)
    return into


def model_binds(model: ModelDefinition, work: Path) -> dict[Path, str]:
    """A copy of just the model's files (no other bundle file), bound read-only."""
    return {copy_files([model.directory / n for n in model.files], work / "submission"):
            SUBMISSION}


def run_job(job: dict, binds: dict[Path, str], options: ModelRunOptions, what: str,
             code: bool, progress: Progress | None = None) -> Path:
    """Run ``job`` in a fresh sandbox with ``binds``; returns its scratch directory (the
    caller removes it with ``_cleanup``). ``code``: the job may meet submitter-made input
    (a ``model.py``, its graphs), so it runs only where the host can sandbox."""
    policy = options.policy if code else replace(options.policy, allow_unsandboxed=True)
    if options.budget is not None:
        policy = options.budget.policy(policy)
        options.budget.ran_code = options.budget.ran_code or code
    work = Path(tempfile.mkdtemp(prefix="elue-model-", dir=options.work_dir))
    scratch = work / "scratch"
    scratch.mkdir()
    (scratch / "job.json").write_text(json.dumps(job), encoding="utf-8")
    forward = _progress_forwarder(scratch, progress)

    def watch() -> None:
        forward()
        if options.check_stop is not None:
            options.check_stop()

    try:
        result = run_sandboxed(["-m", "evaluator.running.sandboxed", "job.json"], scratch, binds,
                               policy, watch=watch)
        forward()
    except SandboxUnavailable as error:
        shutil.rmtree(work, ignore_errors=True)
        raise SubmissionInvalid([Problem("custom_code_unsupported", f"this server cannot "
                                         f"sandbox model code: {error}")]) from None
    except BaseException:  # e.g. the submission was cancelled while it ran
        shutil.rmtree(work, ignore_errors=True)
        raise
    if options.budget is not None:
        options.budget.spend(result.seconds)
    failure = _reported_error(scratch, policy) or _stopped(result, policy, options)
    if failure:
        shutil.rmtree(work, ignore_errors=True)
        raise ModelCodeFailed(f"{what}: {failure}")
    return scratch


def _stopped(result: SandboxResult, policy: SandboxPolicy, options: ModelRunOptions
             ) -> str | None:
    """Why the run failed, naming the evaluation's budget when that is what stopped it."""
    budget = options.budget
    if result.timed_out and budget is not None and policy.wall_seconds < \
            options.policy.wall_seconds:
        return budget.exhausted()
    return result.reason


def _progress_forwarder(scratch: Path, progress: Progress | None) -> Callable[[], None]:
    seen = {"lines": 0}

    def forward() -> None:
        data = read_scratch_file(scratch / "progress.log", 1_000_000)
        if progress is None or data is None:
            return
        lines = data.decode("utf-8", "replace").splitlines()[:MAX_PROGRESS_LINES]
        for line in lines[seen["lines"]:]:
            progress(printable(line[:200]))
        seen["lines"] = len(lines)
    return forward


def printable(text: str) -> str:
    """``text`` without control characters (a NUL byte would fail a PostgreSQL write)."""
    return "".join(c if c.isprintable() or c == "\n" else " " for c in text)


def _reported_error(scratch: Path, policy: SandboxPolicy) -> str | None:
    """The sandbox side's own explanation (``error.json``), if it left a readable one."""
    data = read_scratch_file(scratch / "error.json", 100_000)
    if data is None:
        return None
    try:
        error = json.loads(data.decode("utf-8"))
        code, message = str(error["code"]), printable(str(error["message"])[:2000])
    except Exception:  # noqa: BLE001 - a file the model's code may have written
        return None
    if code == "memory":
        return f"exceeded the memory limit of {policy.memory_mib} MiB"
    full = scratch_full_reason(message, policy.scratch_mib)
    if full:
        return full
    if code in ("network", "process", "write_outside_scratch"):
        return f"model.py {message}"
    return message


def result_bytes(path: Path, limit: int = MAX_RESULT_BYTES) -> bytes:
    data = read_scratch_file(path, limit)
    if data is None:
        raise ValueError(f"{path.name} is missing, not a regular file or too large")
    return data


def read_result(what: str, read: Callable[[], object]):
    """``read()``, any failure of it the model's (it may have written or spoilt the file)."""
    try:
        return read()
    except ModelCodeFailed:
        raise
    except Exception as error:  # noqa: BLE001 - whatever a spoilt result file raises
        raise ModelCodeFailed(f"{what} gave no usable result ({type(error).__name__}: "
                              f"{str(error)[:300]})") from None


def cleanup(scratch: Path) -> None:
    shutil.rmtree(scratch.parent, ignore_errors=True)


