"""The host's side of a served model: a sandbox running ``evaluator.running.sandboxed.serve``
that answers one request at a time over its standard input and output.

The host writes a request and reads the reply; the measurement (``evaluator.measure.scenarios``)
reads its own clock around that. The examples reach the sandbox only in requests, so the
model cannot compute anything before the clock starts; a reply must carry the predictions,
which the scenarios compare with the point's predictions.

    >>> with ServedModel.start(model, job, run_options) as served:
    ...     labels, exits = served.predict(0, [np.array([101, 2023, 102])])
    ...     served.peak_memory()
    (431.2, 'rss')
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from evaluator.bundle.model_files import ModelDefinition
from evaluator.errors import Problem, SubmissionInvalid
from evaluator.measure.memory import peak_rss_mib, reset_peak_rss
from evaluator.running.custom_code import (
    ModelCodeFailed,
    ModelRunOptions,
    model_binds,
    model_policy,
    reported_error,
)
from evaluator.running.sandbox import SandboxSession, SandboxUnavailable, start_sandboxed
from evaluator.running.sandboxed import wire

RSS, GPU_ALLOCATOR = "rss", "gpu-allocator"
MIB = 1024 * 1024


class ServedModel:
    """A model loaded in a sandbox, waiting for requests; use as a context manager."""

    def __init__(self, session: SandboxSession, work: Path, on_gpu: bool):
        self.session = session
        self.work = work
        self.on_gpu = on_gpu
        self.output = session.process.stdout.fileno()
        self.input = session.process.stdin.fileno()
        os.set_blocking(self.input, False)  # a sandbox that stops reading cannot hang us
        self.read = wire.exactly(self._read_some)

    @classmethod
    def start(cls, model: ModelDefinition, job: dict, options: ModelRunOptions) -> ServedModel:
        """Start the sandbox for ``job`` (a serve job) and wait until the model is loaded."""
        work = Path(tempfile.mkdtemp(prefix="elue-measure-"))
        scratch = work / "scratch"
        scratch.mkdir()
        (scratch / "job.json").write_text(json.dumps({**job, "action": "serve"}),
                                          encoding="utf-8")
        policy = model_policy(model, options, on_device=True)
        try:
            session = start_sandboxed(["-m", "evaluator.running.sandboxed", "job.json"],
                                      scratch, model_binds(model, work), policy)
        except SandboxUnavailable as error:
            shutil.rmtree(work, ignore_errors=True)
            raise SubmissionInvalid([Problem("custom_code_unsupported", f"this server cannot "
                                             f"sandbox model code: {error}")]) from None
        served = cls(session, work, options.device.is_cuda)
        try:
            if served.read(1) != wire.READY:
                served.fail("the model's sandbox did not answer as the measurement expects")
        except BaseException:
            served.close()
            raise
        return served

    def __enter__(self) -> ServedModel:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- requests ---------------------------------------------------------------------

    def predict(self, point: int, sequences: Sequence[np.ndarray]
                ) -> tuple[np.ndarray, np.ndarray | None]:
        """The labels (and exit layers) of ``sequences`` at point ``point``."""
        self._send(wire.predict_request(point, sequences))
        return wire.read_predictions(self.read, len(sequences))

    def reset_peak_memory(self) -> bool:
        """Start the peak-memory figure anew; ``False`` when the kernel refused to reset the
        resident-set peak (the figure then counts from the model's start)."""
        if self.on_gpu:
            self._send(bytes([wire.RESET_PEAK]))
            self.read(1)
            return True
        return reset_peak_rss(self.session.process.pid) > 0

    def peak_memory(self) -> tuple[float | None, str]:
        """``(MiB, source)``: the GPU allocator's peak on a GPU (reported from inside the
        sandbox), else the sandbox processes' peak resident set (read by the host)."""
        if self.on_gpu:
            self._send(bytes([wire.PEAK]))
            peak = wire.read_peak(self.read)
            return (peak / MIB if peak >= 0 else None), GPU_ALLOCATOR
        return peak_rss_mib(self.session.process.pid), RSS

    def round_trip(self) -> None:
        """One request the sandbox answers without computing anything: timing it gives the
        protocol's own share of a measured latency."""
        self._send(bytes([wire.PEAK]))
        wire.read_peak(self.read)

    def close(self) -> None:
        """Say ``QUIT`` and end the sandbox (killing it if it does not stop)."""
        if self.session.process.poll() is None:
            with contextlib.suppress(ModelCodeFailed):
                self._send(bytes([wire.QUIT]))
        self.session.finish()
        shutil.rmtree(self.work, ignore_errors=True)

    # --- the pipe ---------------------------------------------------------------------

    def _send(self, frame: bytes) -> None:
        """Write ``frame`` whole, waiting no longer than the wall time."""
        view = memoryview(frame)
        while view:
            self._wait_for(None, self.input)
            try:
                view = view[os.write(self.input, view):]
            except BlockingIOError:
                continue
            except (BrokenPipeError, OSError):
                self._died()

    def _wait_for(self, readable: int | None, writable: int | None) -> None:
        left = self.session.deadline - time.monotonic()
        ready = select.select([readable] if readable is not None else [],
                              [writable] if writable is not None else [], [], max(left, 0.0))
        if not (ready[0] or ready[1]):
            result = self.session.finish(timed_out=True)
            self.fail(result.reason or "the measurement ran out of time")

    def _read_some(self, wanted: int) -> bytes:
        """Up to ``wanted`` bytes of the reply, waiting no longer than the wall time."""
        self._wait_for(self.output, None)
        data = os.read(self.output, min(wanted, 1 << 20))
        if not data:
            self._died()
        return data

    def _died(self) -> None:
        result = self.session.finish()
        error = reported_error(self.session.scratch, self.session.policy)
        self.fail(error or result.reason or "the model's sandbox stopped answering")

    def fail(self, reason: str) -> None:
        raise ModelCodeFailed(f"measuring the model failed: {reason}")
