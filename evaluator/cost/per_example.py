"""Per-example cost of an architecture without one trace per example (SPEC §3, "Speed").

A model's MACs split into three parts, each a quadratic in the token length L:
everything before the first layer ("embeddings"), one transformer layer, and one exit head
(pooler and classifier). The parts are isolated by tracing copies truncated to one and two
layers: two minus one is a layer, and the head is read from fvcore's by-module totals.
Each part is fitted exactly (rational arithmetic) through three lengths, verified at more
lengths including the longest one needed, and, if the fit does not verify, counted at each
distinct length instead.

Charging (SPEC §3): a static model truncated to k layers costs embeddings + k layers + one
head; an example leaving a multi-exit model after layer k costs embeddings + k layers + k
heads (a head runs at every layer to decide whether to exit).

    >>> cost = build_cost_model(config, lengths)
    >>> point_cost(cost, lengths).mean_mflops     # static, all layers
    >>> point_cost(cost, lengths, exit_layers)    # one operating point of a dynamic model
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

import numpy as np

from evaluator.cost import architectures as architecture
from evaluator.cost.fvcore_rules import module_macs, total_macs
from evaluator.errors import EvaluationFailed

if TYPE_CHECKING:
    from transformers import PretrainedConfig, PreTrainedModel

logger = logging.getLogger(__name__)

FIT_LENGTHS: tuple[int, ...] = (8, 16, 32)  # three lengths determine a quadratic
VERIFY_LENGTHS: tuple[int, ...] = (1, 11)  # plus the longest length needed
ADDITIVITY_LENGTH = 8  # where the whole model is checked against the sum of its parts


@dataclass(frozen=True)
class Quadratic:
    """``a·L² + b·L + c`` MACs for an example of L tokens, with exact rational coefficients."""

    a: Fraction
    b: Fraction
    c: Fraction

    @classmethod
    def through(cls, points: Mapping[int, int]) -> Quadratic:
        """The quadratic through three ``{length: MACs}`` points (Lagrange, exact)."""
        a = b = c = Fraction(0)
        for x, y in points.items():
            others = [Fraction(o) for o in points if o != x]
            weight = Fraction(y) / math.prod(x - o for o in others)
            a += weight
            b -= weight * sum(others)
            c += weight * math.prod(others)
        return cls(a, b, c)

    def at(self, length: int) -> int:
        """MACs at ``length`` tokens (rounded; exact whenever the fit verified)."""
        return round(self.a * length * length + self.b * length + self.c)


@dataclass(frozen=True)
class Table:
    """MACs counted at each length (the fall-back when a part is not quadratic)."""

    macs: dict[int, int]

    def at(self, length: int) -> int:
        try:
            return self.macs[length]
        except KeyError:
            raise ValueError(f"no count at length {length}; the cost model was built for "
                             f"lengths {min(self.macs)}..{max(self.macs)}") from None


Part = Quadratic | Table


@dataclass(frozen=True)
class Parts:
    """MACs (or parameters) of one example split: before the layers, one layer, one head."""

    embeddings: int
    layer: int
    head: int

    def total(self, num_layers: int, heads: int = 1) -> int:
        return self.embeddings + num_layers * self.layer + heads * self.head


@dataclass(frozen=True)
class CostModel:
    """Per-example MACs and parameter count of one architecture, by part.

    ``layer`` is the cost of any one layer: every layer of a supported architecture costs
    the same, which ``build_cost_model`` checks against the whole model.
    """

    embeddings: Part
    layer: Part
    head: Part
    num_layers: int
    params: Parts
    fitted: bool = True

    def parts_at(self, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-example MACs of the embeddings, one layer and one head (int64 arrays)."""
        lengths = _check_lengths(lengths)
        unique, inverse = np.unique(lengths, return_inverse=True)
        embeddings, layer, head = (
            np.array([part.at(int(n)) for n in unique], dtype=np.int64)[inverse]
            for part in (self.embeddings, self.layer, self.head))
        return embeddings, layer, head

    def macs(self, lengths: np.ndarray, exit_layers: np.ndarray | None = None,
             num_layers: int | None = None) -> np.ndarray:
        """MACs of each example (int64), charged by SPEC §3.

        Static (``exit_layers`` is ``None``): embeddings + k layers + one head, where k is
        ``num_layers`` (truncation) or all layers. Dynamic: embeddings + k_i layers + k_i
        heads for an example that left after layer k_i (1-based).
        """
        embeddings, layer, head = self.parts_at(lengths)
        if exit_layers is None:
            return embeddings + self.layers(num_layers) * layer + head
        exits = self._exits(exit_layers, len(embeddings))
        return embeddings + exits * (layer + head)

    def parameters(self, num_layers: int | None = None, multi_exit: bool = False) -> int:
        """Parameter count truncated to ``num_layers``, with one head per layer if multi-exit."""
        layers = self.layers(num_layers)
        return self.params.total(layers, heads=layers if multi_exit else 1)

    def layers(self, num_layers: int | None = None) -> int:
        """``num_layers``, or all layers if ``None``; a ``ValueError`` if out of range."""
        layers = self.num_layers if num_layers is None else num_layers
        if not 1 <= layers <= self.num_layers:
            raise ValueError(f"cannot truncate a {self.num_layers}-layer model to {layers}")
        return layers

    def _exits(self, exit_layers: np.ndarray, count: int) -> np.ndarray:
        exits = np.asarray(exit_layers, dtype=np.int64)
        if exits.shape != (count,):
            raise ValueError(f"{exits.size} exit layers for {count} examples")
        if exits.size and not (exits.min() >= 1 and exits.max() <= self.num_layers):
            raise ValueError(f"exit layers must lie in 1..{self.num_layers}")
        return exits


def _check_lengths(lengths: np.ndarray) -> np.ndarray:
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.ndim != 1 or (lengths.size and lengths.min() < 1):
        raise ValueError("lengths must be a 1-D array of positive token counts")
    return lengths


class Probe:
    """Copies of a model truncated to one and two layers, traced to split MACs into parts."""

    def __init__(self, config: PretrainedConfig, attn_implementation: str = "eager"):
        self.one = architecture.build_model(config, 1, attn_implementation)
        self.two = architecture.build_model(config, 2, attn_implementation)
        self.base, self.pooler = architecture.head_module_names(self.one)
        self._counted: dict[int, Parts] = {}

    def macs(self, length: int) -> Parts:
        """MACs of each part for one example of ``length`` tokens (two traces, remembered)."""
        if length not in self._counted:
            self._counted[length] = self._trace(length)
        return self._counted[length]

    def _trace(self, length: int) -> Parts:
        one = module_macs(self.one, length)
        layer = total_macs(self.two, length) - one[""]
        # The head: everything outside the base model (classifier) plus the base's pooler.
        pooler = one.get(self.pooler, 0) if self.pooler is not None else 0
        head = one[""] - one.get(self.base, 0) + pooler
        return Parts(one[""] - layer - head, layer, head)

    def params(self) -> Parts:
        """Parameters of each part (ALBERT shares its layers: its layer part is 0)."""
        one = architecture.count_parameters(self.one)
        layer = architecture.count_parameters(self.two) - one
        head = one - architecture.count_parameters(self.one.base_model)
        if self.pooler:
            head += architecture.count_parameters(self.one.get_submodule(self.pooler))
        return Parts(one - layer - head, layer, head)


PART_NAMES = ("embeddings", "layer", "head")


def _parts(counts: Mapping[int, Parts], name: str) -> dict[int, int]:
    """``{length: MACs}`` of the part ``name`` from ``{length: Parts}``."""
    return {length: getattr(parts, name) for length, parts in counts.items()}


def fit_parts(probe: Probe, longest: int) -> tuple[Quadratic, ...] | None:
    """Quadratics for the three parts, or ``None`` if they do not verify up to ``longest``."""
    counts = {n: probe.macs(n) for n in FIT_LENGTHS}
    fits = tuple(Quadratic.through(_parts(counts, name)) for name in PART_NAMES)
    for length in sorted({*VERIFY_LENGTHS, longest} - set(FIT_LENGTHS)):
        if Parts(*(fit.at(length) for fit in fits)) != probe.macs(length):
            logger.info("MACs are not quadratic in length (checked at %d tokens)", length)
            return None
    return fits


def count_parts(probe: Probe, lengths: Iterable[int]) -> tuple[Table, ...]:
    """Exact per-length counts of the three parts at every distinct length (2 traces each)."""
    counts = {n: probe.macs(n) for n in sorted(set(lengths))}
    return tuple(Table(_parts(counts, name)) for name in PART_NAMES)


def check_additive(whole: PreTrainedModel, probe: Probe) -> None:
    """Check the whole model against the sum of its parts (parameters, MACs at one length).

    Raises ``EvaluationFailed`` if its layers do not all cost the same.
    """
    config = whole.config
    layers = config.num_hidden_layers
    length = min(ADDITIVITY_LENGTH, architecture.max_tokens(config))
    if architecture.count_parameters(whole) != probe.params().total(layers) or \
            total_macs(whole, length) != probe.macs(length).total(layers):
        raise EvaluationFailed(f"the layers of this {config.model_type} model do not all cost "
                               "the same, which the platform's counter cannot handle yet")


def _needed_lengths(config: PretrainedConfig, lengths: Iterable[int]) -> list[int]:
    needed = sorted({int(n) for n in lengths})
    if not needed or needed[0] < 1 or needed[-1] > architecture.max_tokens(config):
        raise ValueError(f"lengths must be token counts in 1..{architecture.max_tokens(config)}")
    return needed


def build_cost_model(config: PretrainedConfig, lengths: Iterable[int],
                     attn_implementation: str = "eager") -> CostModel:
    """The cost model of ``config`` valid for every length in ``lengths`` (token counts).

    Two traces (1- and 2-layer copies) per fitted or verified length and one of the whole
    model, all on the meta device: about a second for BERT-base. Falls back to two
    traces per distinct length.
    """
    needed = _needed_lengths(config, lengths)
    whole = architecture.build_model(config, attn_implementation=attn_implementation)
    architecture.check_size(whole)
    probe = Probe(config, attn_implementation)
    check_additive(whole, probe)
    fits = None
    if architecture.max_tokens(config) >= max(FIT_LENGTHS):  # else too short to bother
        fits = fit_parts(probe, needed[-1])
    if fits is None:
        logger.info("counting %s at each of %d lengths", config.model_type, len(needed))
    embeddings, layer, head = fits or count_parts(probe, needed)
    return CostModel(embeddings, layer, head, num_layers=config.num_hidden_layers,
                     params=probe.params(), fitted=fits is not None)


@dataclass(frozen=True)
class PointCost:
    """The cost of one operating point on a test set.

    ``mean_mflops`` is the ELUE figure (mean over examples of 2 × MACs / 10⁶); median and 95th
    percentile describe the spread; ``exit_histogram`` maps exit layer to number of examples
    (every example at the last layer for a static model); ``mparams`` is in millions.
    """

    mean_mflops: float
    median_mflops: float
    p95_mflops: float
    exit_histogram: dict[int, int]
    mparams: float


def point_cost(cost: CostModel, lengths: np.ndarray, exit_layers: np.ndarray | None = None,
               num_layers: int | None = None) -> PointCost:
    """Statistics of one static point (truncated to ``num_layers``) or one dynamic point."""
    if len(lengths) == 0:
        raise ValueError("no examples")
    per_example = 2 * cost.macs(lengths, exit_layers, num_layers) / 1e6  # MFLOPs
    if exit_layers is None:
        layers = cost.layers(num_layers)
        histogram = {layers: len(per_example)}
        params = cost.parameters(layers)
    else:
        values, counts = np.unique(np.asarray(exit_layers, dtype=np.int64), return_counts=True)
        histogram = {int(v): int(c) for v, c in zip(values, counts, strict=True)}
        params = cost.parameters(multi_exit=True)
    return PointCost(float(per_example.mean()), float(np.median(per_example)),
                     float(np.percentile(per_example, 95)), histogram, params / 1e6)
