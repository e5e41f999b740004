"""Measuring one operating point of a served model: single stream, offline, peak memory and
energy, each repeated (``evaluator.measure.protocol``), into a ``PointMeasurement``.

Every time comes from the host's ``clock`` around a request and its reply; energy from the
host's ``counter`` (``None``: not measured, ``energy_note`` says why).

    >>> measured = measure_point(served, 0, sequences, plan, clock, counter, "")
    >>> measured.latency_p50_ms, measured.throughput, measured.energy_j
    (4.1, 812.5, 0.61)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from evaluator.measure.energy import EnergyCounter, EnergyRun, idle_watts
from evaluator.measure.protocol import MeasureOptions
from evaluator.measure.session import ServedModel
from evaluator.measure.stats import Repeated, latency_percentiles
from evaluator.measure.timers import Clock
from evaluator.running.batching import DEFAULT_TOKEN_BUDGET, length_batches

# Called between repetitions: the submission's progress log (it raises when the submission
# was cancelled, which stops the measurement there).
Check = Callable[[str], None]


@dataclass
class PointMeasurement:
    """Measured efficiency of one point on one hardware profile; figures are medians over
    ``repetitions``, each with its coefficient of variation (``*_cv``, a fraction).

    ``agreement`` is the percentage of the measured runs' predictions equal to the point's
    own (``None`` when there is nothing to compare with, as for the reference)."""

    latency_p50_ms: float
    latency_p90_ms: float
    latency_p99_ms: float
    latency_cv: float
    single_stream_examples: int
    repetitions: int
    throughput: float | None = None  # examples per second, offline
    throughput_cv: float | None = None
    offline_examples: int | None = None
    peak_memory_mib: float | None = None
    memory_source: str = ""
    energy_j: float | None = None  # per example, single stream, idle power subtracted
    energy_cv: float | None = None
    energy_source: str = ""
    energy_note: str = ""
    agreement: float | None = None
    flagged: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Plan:
    """What to run for one point: the single-stream sample and warm-up (example indices),
    the offline token budget, and the protocol's options."""

    sample: np.ndarray
    warmup: np.ndarray
    options: MeasureOptions
    token_budget: int = DEFAULT_TOKEN_BUDGET


@dataclass
class Answers:
    """The predictions a measurement got back, by example index."""

    labels: dict[int, float] = field(default_factory=dict)

    def add(self, indices: Sequence[int], labels: np.ndarray) -> None:
        for position, index in enumerate(indices):
            self.labels[int(index)] = float(labels[position])


@dataclass(frozen=True)
class SingleStream:
    percentiles: dict[str, Repeated]
    energy: Repeated | None
    energy_note: str


def single_stream(served: ServedModel, point: int, sequences: Sequence[np.ndarray], plan: Plan,
                  clock: Clock, counter: EnergyCounter | None, answers: Answers,
                  check: Check | None = None,
                  sleep: Callable[[float], None] = time.sleep) -> SingleStream:
    """Batch 1 over the sample, ``repetitions`` times, after the warm-up; energy per example
    above the idle power measured just before."""
    for index in plan.warmup:
        served.predict(point, [sequences[index]])
    idle = idle_watts(counter, plan.options.idle_seconds, clock.now, sleep) if counter else 0.0
    runs, energies = [], []
    for repetition in range(plan.options.repetitions):
        if check:
            check(f"single stream, repetition {repetition + 1} of {plan.options.repetitions}")
        before = counter.read_joules() if counter else 0.0
        started, latencies = clock.now(), []
        for index in plan.sample:
            sent = clock.now()
            labels, _ = served.predict(point, [sequences[index]])
            latencies.append(clock.now() - sent)
            answers.add([index], labels)
        if counter:
            energies.append(EnergyRun(counter.read_joules() - before, clock.now() - started,
                                      len(plan.sample)).per_example(idle))
        runs.append(latency_percentiles(latencies))
    percentiles = {name: Repeated.of([run[name] for run in runs]) for name in runs[0]}
    energy, note = _energy(energies)
    return SingleStream(percentiles, energy, note)


def _energy(per_example: list[float]) -> tuple[Repeated | None, str]:
    if not per_example:
        return None, ""
    if min(per_example) <= 0:  # the run's energy did not rise above idle
        return None, ("the energy above idle was within the counter's noise (a run "
                      "measured at or below the idle power)")
    return Repeated.of(per_example), ""


def offline(served: ServedModel, point: int, sequences: Sequence[np.ndarray], plan: Plan,
            clock: Clock, answers: Answers, check: Check | None = None) -> Repeated:
    """Examples per second over every sequence in the platform's length-sorted batches."""
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    batches = length_batches(lengths, plan.token_budget)
    rates = []
    for repetition in range(plan.options.repetitions):
        if check:
            check(f"offline, repetition {repetition + 1} of {plan.options.repetitions}")
        started = clock.now()
        for batch in batches:
            labels, _ = served.predict(point, [sequences[i] for i in batch])
            if repetition == 0:
                answers.add(batch, labels)
        rates.append(len(sequences) / max(clock.now() - started, 1e-9))
    return Repeated.of(rates)


def measure_point(served: ServedModel, point: int, sequences: Sequence[np.ndarray], plan: Plan,
                  clock: Clock, counter: EnergyCounter | None, energy_note: str,
                  agreement: Callable[[Answers], float | None] | None = None,
                  check: Check | None = None) -> PointMeasurement:
    """Every figure of one point (``point``: the index of its threshold in the served job)."""
    answers = Answers()
    memory_from_start = not served.reset_peak_memory()
    stream = single_stream(served, point, sequences, plan, clock, counter, answers, check)
    rate = offline(served, point, sequences, plan, clock, answers, check) \
        if plan.options.offline else None
    memory, source = served.peak_memory()
    latency = stream.percentiles
    cvs = [latency["p50"].cv] + [r.cv for r in (rate, stream.energy) if r is not None]
    return PointMeasurement(
        latency["p50"].median, latency["p90"].median, latency["p99"].median, latency["p50"].cv,
        len(plan.sample), plan.options.repetitions,
        rate.median if rate else None, rate.cv if rate else None,
        len(sequences) if rate else None, memory,
        source + (" (since the model loaded)" if memory_from_start else ""),
        stream.energy.median if stream.energy else None,
        stream.energy.cv if stream.energy else None,
        counter.name if stream.energy else "",
        stream.energy_note or (energy_note if counter is None else ""),
        agreement(answers) if agreement else None,
        any(cv > plan.options.cv_limit for cv in cvs))
