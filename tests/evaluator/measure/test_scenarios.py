"""One point's measurement with a fake served model and a fake clock: which examples are
run, how the figures and their CV come out, energy above idle, and the flags."""

from __future__ import annotations

import numpy as np
import pytest

from evaluator.measure.protocol import MeasureOptions
from evaluator.measure.scenarios import Answers, Plan, measure_point, offline, single_stream


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def now(self) -> float:
        return self.t


class FakeCounter:
    """Draws ``idle`` watts all the time, and ``joules_per_example`` on top per example."""

    name = "fake"

    def __init__(self, clock: FakeClock, idle: float):
        self.clock, self.idle, self.extra = clock, idle, 0.0

    def read_joules(self) -> float:
        return self.clock.t * self.idle + self.extra


class FakeServed:
    """Takes ``seconds(sequence, call)`` per example; answers ``len(sequence) % 2``."""

    def __init__(self, clock: FakeClock, seconds, counter: FakeCounter | None = None,
                 joules_per_example: float = 0.0):
        self.clock, self.seconds, self.counter = clock, seconds, counter
        self.joules = joules_per_example
        self.calls: list[list[int]] = []
        self.resets = 0

    def predict(self, point, sequences):
        self.calls.append([len(s) for s in sequences])
        for sequence in sequences:
            self.clock.t += self.seconds(sequence, len(self.calls))
            if self.counter:
                self.counter.extra += self.joules
        return np.array([len(s) % 2 for s in sequences], dtype=float), None

    def reset_peak_memory(self) -> bool:
        self.resets += 1
        return True

    def peak_memory(self):
        return 321.5, "rss"


SEQUENCES = [np.arange(n + 1) for n in range(100)]  # lengths 1..100
OPTIONS = MeasureOptions(sample_size=10, warmup=3, repetitions=3, idle_seconds=1.0)


def plan(options: MeasureOptions = OPTIONS) -> Plan:
    return Plan(np.arange(0, 100, 10), np.array([5, 6, 7]), options, token_budget=300)


def sleep_on(clock: FakeClock):
    return lambda seconds: setattr(clock, "t", clock.t + seconds)


def test_single_stream_runs_the_warmup_then_the_sample_one_at_a_time():
    clock = FakeClock()
    served = FakeServed(clock, lambda s, call: 0.001 * len(s))  # 1 ms per token
    stream = single_stream(served, 0, SEQUENCES, plan(), clock, None, Answers(),
                           sleep=sleep_on(clock))
    assert served.calls[:3] == [[6], [7], [8]]  # the warm-up, not timed
    assert len(served.calls) == 3 + 3 * 10 and all(len(c) == 1 for c in served.calls)
    # Sample lengths 1, 11, ..., 91: p50 is 46 ms in every repetition.
    assert stream.percentiles["p50"].median == pytest.approx(46.0)
    assert stream.percentiles["p99"].median == pytest.approx(90.1)
    assert stream.percentiles["p50"].cv == pytest.approx(0.0)
    assert stream.energy is None


def test_energy_per_example_subtracts_the_idle_power():
    clock = FakeClock()
    counter = FakeCounter(clock, idle=50.0)
    served = FakeServed(clock, lambda s, call: 0.002, counter, joules_per_example=0.25)
    stream = single_stream(served, 0, SEQUENCES, plan(), clock, counter, Answers(),
                           sleep=sleep_on(clock))
    assert stream.energy.median == pytest.approx(0.25)
    assert stream.energy.cv == pytest.approx(0.0, abs=1e-9)


def test_energy_lost_in_the_noise_is_not_measured():
    clock = FakeClock()
    counter = FakeCounter(clock, idle=50.0)
    served = FakeServed(clock, lambda s, call: 0.002, counter, joules_per_example=0.0)
    counter.idle = 50.0
    stream = single_stream(served, 0, SEQUENCES, plan(), clock, counter, Answers(),
                           sleep=sleep_on(clock))
    assert stream.energy is None and "within the counter's noise" in stream.energy_note


def test_offline_runs_the_whole_set_in_length_batches():
    clock = FakeClock()
    served = FakeServed(clock, lambda s, call: 0.001)
    answers = Answers()
    rate = offline(served, 0, SEQUENCES, plan(), clock, answers)
    first = served.calls[:len(served.calls) // 3]
    assert sum(len(c) for c in first) == 100
    assert all(max(c) * len(c) <= 300 or len(c) == 1 for c in first)  # the token budget
    assert all(c == sorted(c) for c in first)  # length-sorted
    assert rate.median == pytest.approx(1000.0)  # 1 ms per example
    assert len(answers.labels) == 100


def test_a_measurement_has_every_figure_and_flags_variable_repetitions():
    clock = FakeClock()
    # The second repetition of single stream runs 20% slower than the others.
    served = FakeServed(clock, lambda s, call: 0.0012 if 14 <= call < 24 else 0.001)
    measured = measure_point(served, 0, SEQUENCES, plan(), clock, None,
                             "this host exposes no RAPL energy counter",
                             agreement=lambda answers: 100.0 * len(answers.labels) / 100)
    assert measured.latency_p50_ms == pytest.approx(1.0)
    assert measured.latency_cv > 0.05 and measured.flagged
    assert measured.throughput == pytest.approx(1000.0)
    assert measured.throughput_cv == pytest.approx(0.0, abs=1e-9)
    assert (measured.single_stream_examples, measured.offline_examples) == (10, 100)
    assert (measured.peak_memory_mib, measured.memory_source) == (321.5, "rss")
    assert measured.energy_j is None and measured.energy_source == ""
    assert measured.energy_note == "this host exposes no RAPL energy counter"
    assert measured.agreement == 100.0 and served.resets == 1


def test_steady_repetitions_are_not_flagged():
    clock = FakeClock()
    measured = measure_point(FakeServed(clock, lambda s, call: 0.001), 0, SEQUENCES, plan(),
                             clock, None, "no counter")
    assert not measured.flagged and measured.latency_cv == pytest.approx(0.0, abs=1e-9)


def test_the_reference_measures_single_stream_only():
    clock = FakeClock()
    served = FakeServed(clock, lambda s, call: 0.001)
    options = MeasureOptions(sample_size=10, warmup=3, offline=False)
    measured = measure_point(served, 0, SEQUENCES, plan(options), clock, None, "none")
    assert measured.throughput is None and measured.offline_examples is None
    assert len(served.calls) == 3 + 3 * 10


def test_a_check_between_repetitions_can_stop_the_measurement():
    clock = FakeClock()

    def cancelled(message: str) -> None:
        if "repetition 2" in message:
            raise KeyboardInterrupt(message)
    with pytest.raises(KeyboardInterrupt, match="single stream, repetition 2 of 3"):
        measure_point(FakeServed(clock, lambda s, call: 0.001), 0, SEQUENCES, plan(), clock,
                      None, "", check=cancelled)
