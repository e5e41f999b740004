"""The label-oracle attacks of issue 13 in miniature, on the real SST-2 and STS-B test data,
against the platform's own rules: one account, a simulated month of its budget, submitting
through ``submit_bundle`` (the site, the API and ``elue_submit`` all go through it), scored by
the worker's task, and reading back only what is stored and so shown (performance at one
decimal). The settings are the defaults: 16 points per task per submission, 96 points a day,
48 per task per 30 days, two points of an account on a task identical or at least 0.5% of the
test set (and 10 examples) apart.

Two measures of what an attack learns: labels *determined* (the numbers it got back leave a
single possible value), and how often its best guess of every label is right compared with
chance (the best guess that ignores the scores: the majority class for SST-2, the best
constant for STS-B). Measured with seed 0 (docs/integrity.md has the same numbers):

- Single flip (the issue's attack: a baseline of all 0 plus points that each flip one
  example): the 199-point bundle is refused (``too_many_points``), 16-point bundles are
  refused (``near_identical_points``), and single flips sent one by one are refused against
  the account's baseline. 1 point scored in 30 days; 0 labels determined; the guess is the
  majority class, right on 51.7% of SST-2 = chance exactly.
- Its strongest form the rules allow (groups of 12 flips, the least difference allowed):
  48 points in the month (then ``quota_exceeded`` every day); 0 labels determined; the guess
  is right on 62.6% of the 564 examples covered, 53.6% of SST-2 (chance 51.7%).
- Least squares on STS-B (the issue's attack, a baseline plus points each moving one
  score): every probe is refused; 0 equations, 0 labels.
- Its strongest form (48 random rank vectors in the month, solved by least squares): the
  estimate correlates 0.22 with the true scores, yet puts 3.8% of the labels within ±0.1,
  fewer than the best constant guess (9.8%): no label recovered above chance.
- The boosting attack on SST-2 (48 random prediction vectors, least squares), the limit of
  any leaderboard that shows scores (Blum & Hardt 2015): 0 labels determined; the guess is
  right on 55.9% (chance 51.7%), the ~0.4·sqrt(points/examples) the literature predicts.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.db.models import F
from scipy.stats import pearsonr, spearmanr

from evaluator.benchmark import TASKS
from evaluator.errors import SubmissionInvalid
from leaderboard.models import OperatingPoint, PointRecord, Submission
from leaderboard.probing import point_rules
from leaderboard.submissions import QuotaExceeded, submit_bundle
from leaderboard.tasks import evaluate_submission
from leaderboard.testdata import import_test_data
from tests.conftest import ELUE_DATA_DIR
from tests.evaluator.builders import PREDICTION_HEADER, true_labels, tsv, write

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
DAYS = 30
SST2, STSB = TASKS["sst-2"], TASKS["sts-b"]


@pytest.fixture
def probed(settings, tmp_path, data_root, seeded):
    """The real SST-2 and STS-B test data on the server, uploads under ``tmp_path``."""
    settings.MEDIA_ROOT = tmp_path / "uploads"
    import_test_data(ELUE_DATA_DIR, [SST2, STSB])


@dataclass
class Attacker:
    """One account probing the labels: every number it gets back, and every refusal."""

    owner: object
    folder: Path
    day: int = 0
    submitted: int = 0
    scored: dict[str, float] = field(default_factory=dict)  # point name -> performance
    refusals: list[str] = field(default_factory=list)

    def submit(self, slug: str, points: dict[str, list]) -> bool:
        """Send ``points`` (name -> predictions; "" is the static point) with declared
        costs; on acceptance run the worker and keep the performances it stored."""
        self.submitted += 1
        folder = self.folder / f"s{self.submitted}"
        for name, values in points.items():
            write(folder, f"{slug}_{name}.tsv" if name else f"{slug}.tsv",
                  tsv(PREDICTION_HEADER, values))
        write(folder, "costs.json", json.dumps({
            (f"{slug}_{name}" if name else slug): {"mflops": 1000.0 + i, "mparams": 66.0}
            for i, name in enumerate(points)}))
        try:
            submission = submit_bundle(self.owner, folder, name=f"Probe {self.submitted}",
                                       visibility="private")
        except SubmissionInvalid as exc:
            self.refusals.append(exc.problems[0].code)
            return False
        except QuotaExceeded:
            self.refusals.append("quota_exceeded")
            return False
        assert evaluate_submission.apply(args=[submission.pk]).get() == "scored"
        submission.refresh_from_db()
        for point in OperatingPoint.objects.filter(entry=submission.entry):
            assert point.performance == round(point.performance, 1)  # shown as stored
            self.scored["" if point.name == "static" else point.name] = point.performance
        return True

    def next_day(self) -> None:
        """A day passes: everything the account did moves one day into the past."""
        self.day += 1
        for model in (Submission, PointRecord):
            model.objects.filter(**{"owner": self.owner}).update(
                created_at=F("created_at") - timedelta(days=1))


def names(count: int, start: int = 0) -> list[str]:
    """Distinct threshold names for dynamic points (``0.001``, ``0.002``, ...)."""
    return [f"{(start + i + 1) / 1000:.3f}" for i in range(count)]


def counts(performance: float, n: int) -> list[int]:
    """The correct-prediction counts an accuracy shown at one decimal allows."""
    return [k for k in range(n + 1) if round(100 * k / n, 1) == performance]


def majority_guess(labels: np.ndarray, baseline_accuracy: float) -> np.ndarray:
    """The best guess the all-0 baseline's score allows: its majority class for all."""
    return np.full(len(labels), 0 if baseline_accuracy >= 50 else 1)


# --- SST-2: single flips ------------------------------------------------------------------

def test_the_single_flip_attack_reads_no_label(alice, probed, tmp_path):
    labels = np.array([int(v) for v in true_labels("sst-2")])
    n, chance = len(labels), max(labels.mean(), 1 - labels.mean())
    attacker = Attacker(alice, tmp_path)
    zero = ["0"] * n

    def flipped(index: int) -> list[str]:
        values = list(zero)
        values[index] = "1"
        return values

    # Day 0, the bundle: a baseline and 198 single flips.
    assert not attacker.submit("sst-2", {"": zero} | {
        name: flipped(i) for i, name in enumerate(names(198))})
    assert attacker.refusals == ["too_many_points"]
    assert attacker.submit("sst-2", {"": zero})  # the baseline alone
    probe = 0
    for _ in range(DAYS):
        # Each day: a bundle of 15 flips, then one flip alone; the daily quota is not the
        # limit, the rules are.
        assert not attacker.submit("sst-2", {"": zero} | {
            name: flipped(probe + i) for i, name in enumerate(names(15, probe))})
        assert not attacker.submit("sst-2", {names(1, probe + 15)[0]: flipped(probe + 15)})
        probe += 16
        attacker.next_day()
    assert set(attacker.refusals[1:]) == {"near_identical_points"}
    assert list(attacker.scored) == [""]  # one number in a month: the baseline's

    guess = majority_guess(labels, attacker.scored[""])
    assert np.mean(guess == labels) == pytest.approx(chance)


def test_flipping_groups_as_small_as_allowed_determines_no_label(alice, probed, tmp_path):
    labels = np.array([int(v) for v in true_labels("sst-2")])
    n, chance = len(labels), max(labels.mean(), 1 - labels.mean())
    size = point_rules().min_difference(n)  # 12 examples
    rng = np.random.default_rng(0)
    order = rng.permutation(n)
    attacker = Attacker(alice, tmp_path)
    groups: dict[str, np.ndarray] = {}

    def group_points(count: int) -> dict[str, list[str]]:
        points = {}
        for name in names(count, len(groups)):
            members = order[len(groups) * size:(len(groups) + 1) * size]
            groups[name] = members
            values = np.zeros(n, dtype=int)
            values[members] = 1
            points[name] = [str(v) for v in values]
        return points

    assert attacker.submit("sst-2", {"": ["0"] * n} | group_points(15))
    for _ in range(DAYS):
        while attacker.submit("sst-2", group_points(16)):
            pass
        groups = {k: v for k, v in groups.items() if k in attacker.scored}
        attacker.next_day()
    assert len(attacker.scored) == 48 and attacker.refusals.count("quota_exceeded") == DAYS

    determined, guess = 0, majority_guess(labels, attacker.scored[""])
    base = counts(attacker.scored[""], n)  # correct predictions of the all-0 baseline
    for name, members in groups.items():
        # Flipping the group to 1 adds (ones - zeros) = 2 * ones - size correct predictions.
        ones = {(k - b + size) // 2 for b in base for k in counts(attacker.scored[name], n)
                if (k - b + size) % 2 == 0 and 0 <= (k - b + size) // 2 <= size}
        determined += int(ones in ({0}, {size}))
        guess[members] = int(np.mean(sorted(ones)) > size / 2)
    covered = np.concatenate(list(groups.values()))
    on_covered = np.mean(guess[covered] == labels[covered])
    overall = np.mean(guess == labels)
    print(f"groups of {size}: {len(covered)} examples covered, right on {on_covered:.1%} of "
          f"them, {overall:.1%} of SST-2 (chance {chance:.1%}), {determined} determined")
    assert determined == 0
    assert overall < chance + 0.05  # 53.6% with seed 0


def test_random_prediction_vectors_stay_near_chance(alice, probed, tmp_path):
    """The boosting attack: the budget bounds it, no rule can refuse it."""
    labels = np.array([int(v) for v in true_labels("sst-2")])
    n, chance = len(labels), max(labels.mean(), 1 - labels.mean())
    rng = np.random.default_rng(0)
    attacker = Attacker(alice, tmp_path)
    vectors: dict[str, np.ndarray] = {}
    for _ in range(DAYS):
        while True:
            batch = {name: rng.integers(0, 2, n) for name in names(16, len(vectors))}
            if not attacker.submit("sst-2", {k: [str(v) for v in x] for k, x in batch.items()}):
                break
            vectors |= batch
        attacker.next_day()
    assert len(attacker.scored) == 48

    # agreement = (n + <2x - 1, 2y - 1>) / 2: least squares for the signs 2y - 1.
    rows = np.array([2 * vectors[k] - 1 for k in attacker.scored])
    right = np.array([2 * attacker.scored[k] / 100 * n - n for k in attacker.scored])
    signs = np.linalg.lstsq(rows, right, rcond=None)[0]
    guess = (signs > 0).astype(int)
    accuracy = np.mean(guess == labels)
    bound = 0.4 * math.sqrt(len(rows) / n) + 3 * math.sqrt(chance * (1 - chance) / n)
    print(f"{len(rows)} random vectors: guess right on {accuracy:.1%} (chance {chance:.1%}, "
          f"bound {chance + bound:.1%})")
    assert accuracy < chance + bound  # 55.9% with seed 0


# --- STS-B: least squares -----------------------------------------------------------------

def scores_of(values: np.ndarray) -> list[str]:
    return [f"{v:.4f}" for v in values]


def best_constant_hits(labels: np.ndarray, within: float) -> float:
    return max(np.mean(np.abs(c - labels) <= within) for c in np.arange(0, 5.001, 0.01))


def test_least_squares_on_sts_b_gets_no_equations(alice, probed, tmp_path):
    labels = np.array([float(v) for v in true_labels("sts-b")])
    n = len(labels)
    base = 2.5 + np.linspace(-2, 2, n)
    attacker = Attacker(alice, tmp_path)
    assert attacker.submit("sts-b", {"": scores_of(base)})
    probe = 0
    for _ in range(DAYS):
        moved = {}
        for name in names(16, probe):
            values = base.copy()
            values[probe % n] += 0.5
            moved[name] = scores_of(values)
            probe += 1
        assert not attacker.submit("sts-b", moved)
        attacker.next_day()
    assert set(attacker.refusals) == {"near_identical_points"}
    assert list(attacker.scored) == [""]  # no equation beyond the baseline


def test_least_squares_on_random_probes_recovers_no_sts_b_label(alice, probed, tmp_path):
    labels = np.array([float(v) for v in true_labels("sts-b")])
    n = len(labels)
    rng = np.random.default_rng(0)
    quantiles = np.sort(rng.standard_normal(n))
    quantiles = (quantiles - quantiles.mean()) / quantiles.std()
    attacker = Attacker(alice, tmp_path)
    probes: dict[str, np.ndarray] = {}
    for _ in range(DAYS):
        while True:
            # Permutations of one set of values: Pearson and Spearman are then both linear
            # in the (standardised) labels and their ranks.
            batch = {name: rng.permutation(quantiles) for name in names(16, len(probes))}
            if not attacker.submit("sts-b", {k: scores_of(2.5 + 0.6 * q)
                                             for k, q in batch.items()}):
                break
            probes |= batch
        attacker.next_day()
    assert len(attacker.scored) == 48

    rows = np.array([probes[k] for k in attacker.scored]) / n
    measured = np.array([attacker.scored[k] / 100 for k in attacker.scored])
    solved = np.linalg.lstsq(rows, measured, rcond=None)[0]
    estimate = labels.mean() + labels.std() * (solved - solved.mean()) / solved.std()
    correlation = (pearsonr(estimate, labels).statistic
                   + spearmanr(estimate, labels).statistic) / 2
    hits = np.mean(np.abs(estimate - labels) <= 0.1)
    constant = best_constant_hits(labels, 0.1)
    print(f"{len(rows)} probes: estimate correlates {correlation:.2f}; within ±0.1 of the "
          f"label: {hits:.1%}, best constant guess {constant:.1%}")
    assert hits <= constant  # 3.8% against 9.8% with seed 0
