"""Per-example cost of an architecture without one trace per example (SPEC §3, "Speed").

A model's MACs split into parts, each a quadratic in the token length L: everything before
and around the layers ("embeddings"), each transformer layer, and one exit head (pooler and
classifier). One trace at a length gives every part, from fvcore's by-module totals
(``evaluator.cost.families`` names each layer's module and its kind); layers may differ
(pruned heads, ModernBERT's alternating attention), and the trace is of the shortest copy
holding one layer of each kind. Each part is fitted exactly (rational
arithmetic) through three lengths, verified at more lengths including the longest one
needed, and, if the fit does not verify, counted at each distinct length instead.
ModernBERT's sliding-window layers are then charged for the window they compute
(``families.WindowSavings``) rather than the L² scores the eager trace shows.

Charging (SPEC §3): a static model truncated to k layers costs embeddings + layers 1..k +
one head; an example leaving a multi-exit model after layer k costs embeddings + layers
1..k + k heads (a head runs at every layer to decide whether to exit).

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
from evaluator.cost.families import WindowSavings, layer_kinds, layer_names, sliding_windows
from evaluator.cost.fvcore_rules import module_macs, total_macs
from evaluator.errors import EvaluationFailed

if TYPE_CHECKING:
    from transformers import PretrainedConfig

logger = logging.getLogger(__name__)

FIT_LENGTHS: tuple[int, ...] = (8, 16, 32)  # three lengths determine a quadratic
VERIFY_LENGTHS: tuple[int, ...] = (1, 11)  # plus the longest length needed
ADDITIVITY_LENGTH = 8  # where a truncated model is checked against the sum of its parts


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


@dataclass(frozen=True)
class Windowed:
    """A sliding-window layer: its traced (full-attention) cost less what the window saves."""

    traced: Quadratic | Table
    savings: WindowSavings

    def at(self, length: int) -> int:
        return self.traced.at(length) - self.savings.at(length)


Part = Quadratic | Table | Windowed


@dataclass(frozen=True)
class Parts:
    """MACs (or parameters) of one example split: before the layers, each layer, one head."""

    embeddings: int
    layers: tuple[int, ...]
    head: int

    def total(self, num_layers: int | None = None, heads: int = 1) -> int:
        """The first ``num_layers`` layers (all if ``None``) with ``heads`` heads."""
        return self.embeddings + sum(self.layers[:num_layers]) + heads * self.head


@dataclass(frozen=True)
class CostModel:
    """Per-example MACs and parameter count of one architecture, by part.

    ``layers[i]`` is the cost of layer i + 1; ``build_cost_model`` checks a truncated copy
    of the model against the sum of its parts.
    """

    embeddings: Part
    layers: tuple[Part, ...]
    head: Part
    params: Parts
    fitted: bool = True

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    def parts_at(self, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per-example MACs (int64) of the embeddings, of layers 1..k for every k (shape
        (N, num_layers + 1), column 0 being no layer) and of one head."""
        lengths = _check_lengths(lengths)
        unique, inverse = np.unique(lengths, return_inverse=True)
        at = [int(n) for n in unique]
        embeddings = np.array([self.embeddings.at(n) for n in at], dtype=np.int64)
        layers = np.array([[0] + [part.at(n) for part in self.layers] for n in at],
                          dtype=np.int64).reshape(len(at), self.num_layers + 1)
        head = np.array([self.head.at(n) for n in at], dtype=np.int64)
        return embeddings[inverse], np.cumsum(layers, axis=1)[inverse], head[inverse]

    def macs(self, lengths: np.ndarray, exit_layers: np.ndarray | None = None,
             num_layers: int | None = None) -> np.ndarray:
        """MACs of each example (int64), charged by SPEC §3.

        Static (``exit_layers`` is ``None``): embeddings + layers 1..k + one head, where k is
        ``num_layers`` (truncation) or all layers. Dynamic: embeddings + layers 1..k_i + k_i
        heads for an example that left after layer k_i (1-based).
        """
        embeddings, layers, head = self.parts_at(lengths)
        if exit_layers is None:
            return embeddings + layers[:, self.layers_used(num_layers)] + head
        exits = self._exits(exit_layers, len(embeddings))
        return embeddings + layers[np.arange(len(exits)), exits] + exits * head

    def parameters(self, num_layers: int | None = None, multi_exit: bool = False) -> int:
        """Parameter count truncated to ``num_layers``, with one head per layer if multi-exit."""
        layers = self.layers_used(num_layers)
        return self.params.total(layers, heads=layers if multi_exit else 1)

    def layers_used(self, num_layers: int | None = None) -> int:
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
    """The model, split into parts by module: its parameters from the whole model, its MACs
    from traces of the shortest copy holding one layer of each kind.

    Layers of one kind cost the same (``families.layer_kinds``): a BERT is traced with one
    layer, ModernBERT with four (its first, a global and two windowed ones), a model with
    pruned heads up to its last differently pruned layer. ``check_additive`` compares the
    whole model with the sum of its parts.
    """

    def __init__(self, config: PretrainedConfig, attn_implementation: str = "eager"):
        self.config = config
        self.model = architecture.build_model(config, attn_implementation=attn_implementation)
        self.base, self.pooler = architecture.head_module_names(self.model)
        self.layers = [f"{self.base}.{name}" for name in layer_names(config)]
        kinds = layer_kinds(config)
        first = {kind: kinds.index(kind) for kind in kinds}
        self.stand_in = [first[kind] for kind in kinds]  # the traced layer each layer costs
        depth = max(self.stand_in) + 1
        self.traced = self.model if depth == len(kinds) else \
            architecture.build_model(config, depth, attn_implementation)
        self._counted: dict[int, Parts] = {}

    def macs(self, length: int) -> Parts:
        """MACs of each part for one example of ``length`` tokens (one trace, remembered)."""
        if length not in self._counted:
            self._counted[length] = self.split(module_macs(self.traced, length))
        return self._counted[length]

    def split(self, by_module: Mapping[str, int]) -> Parts:
        """Parts of every layer from the traced copy's by-module totals. A module shared by
        several layers (ALBERT) is charged to each layer using it in equal shares."""
        traced = self.layers[:self.traced.config.num_hidden_layers]
        uses = {name: traced.count(name) for name in traced}
        costs = [_share(by_module.get(name, 0), uses[name]) for name in traced]
        # The head: everything outside the base model (classifier) plus the base's pooler.
        pooler = by_module.get(self.pooler, 0) if self.pooler is not None else 0
        head = by_module[""] - by_module.get(self.base, 0) + pooler
        return Parts(by_module[""] - sum(costs) - head,
                     tuple(costs[i] for i in self.stand_in), head)

    def params(self) -> Parts:
        """Parameters of each part; a shared layer's are counted once, at its first use."""
        count = architecture.count_parameters
        seen: set[str] = set()
        layers = []
        for name in self.layers:
            layers.append(0 if name in seen else count(self.model.get_submodule(name)))
            seen.add(name)
        head = count(self.model) - count(self.model.base_model)
        if self.pooler:
            head += count(self.model.get_submodule(self.pooler))
        return Parts(count(self.model) - sum(layers) - head, tuple(layers), head)


def _share(macs: int, uses: int) -> int:
    if macs % uses:
        raise EvaluationFailed(f"a layer shared {uses} times costs {macs} MACs in all, which "
                               "is not the same for every use")
    return macs // uses


def _parts(counts: Mapping[int, Parts]) -> tuple[dict[int, int], list[dict[int, int]],
                                                  dict[int, int]]:
    """``{length: MACs}`` of the embeddings, of each layer and of the head."""
    layers = len(next(iter(counts.values())).layers)
    return ({n: p.embeddings for n, p in counts.items()},
            [{n: p.layers[i] for n, p in counts.items()} for i in range(layers)],
            {n: p.head for n, p in counts.items()})


def fit_parts(probe: Probe, longest: int) -> tuple[Quadratic, list[Quadratic], Quadratic] | None:
    """Quadratics for every part, or ``None`` if they do not verify up to ``longest``."""
    embeddings, layers, head = _parts({n: probe.macs(n) for n in FIT_LENGTHS})
    fits = (Quadratic.through(embeddings), [Quadratic.through(p) for p in layers],
            Quadratic.through(head))
    for length in sorted({*VERIFY_LENGTHS, longest} - set(FIT_LENGTHS)):
        predicted = Parts(fits[0].at(length), tuple(f.at(length) for f in fits[1]),
                          fits[2].at(length))
        if predicted != probe.macs(length):
            logger.info("MACs are not quadratic in length (checked at %d tokens)", length)
            return None
    return fits


def count_parts(probe: Probe, lengths: Iterable[int]) -> tuple[Table, list[Table], Table]:
    """Exact per-length counts of every part at every distinct length (one trace each)."""
    embeddings, layers, head = _parts({n: probe.macs(n) for n in sorted(set(lengths))})
    return Table(embeddings), [Table(p) for p in layers], Table(head)


def check_additive(probe: Probe, attn_implementation: str = "eager") -> None:
    """Check the whole model, and a copy truncated to one layer, against the sum of their
    parts (MACs at one length; parameters): what full, truncated and early-exit examples
    are charged.

    Raises ``EvaluationFailed`` if they differ (layers of one kind that do not cost the same,
    or a cost outside the layers that grows with their number).
    """
    config = probe.config
    length = min(ADDITIVITY_LENGTH, architecture.max_tokens(config))
    parts, params = probe.macs(length), probe.params()
    checks = []  # the traced copy's own parts add up by construction
    if probe.traced is not probe.model:
        checks.append((probe.model, config.num_hidden_layers))
    if probe.traced.config.num_hidden_layers > 1:
        checks.append((architecture.build_model(config, 1, attn_implementation), 1))
    for model, layers in checks:
        if architecture.count_parameters(model) != params.total(layers) or \
                total_macs(model, length) != parts.total(layers):
            raise EvaluationFailed(f"the cost of this {config.model_type} model is not the "
                                   "sum of its embeddings, layers and head, which the "
                                   "platform's counter cannot handle yet")


def _needed_lengths(config: PretrainedConfig, lengths: Iterable[int]) -> list[int]:
    needed = sorted({int(n) for n in lengths})
    if not needed or needed[0] < 1 or needed[-1] > architecture.max_tokens(config):
        raise ValueError(f"lengths must be token counts in 1..{architecture.max_tokens(config)}")
    return needed


def _windowed(layers: list, config: PretrainedConfig) -> tuple[Part, ...]:
    """Sliding-window layers charged for their window (``families.sliding_windows``)."""
    windows = sliding_windows(config)
    return tuple(Windowed(part, windows[i]) if i in windows else part
                 for i, part in enumerate(layers))


def build_cost_model(config: PretrainedConfig, lengths: Iterable[int],
                     attn_implementation: str = "eager") -> CostModel:
    """The cost model of ``config`` valid for every length in ``lengths`` (token counts).

    One trace per fitted or verified length of the shortest copy holding a layer of each
    kind (one layer for most models), and one of the whole model, all on the meta device:
    about 0.3 s for BERT-base. Falls back to one trace per distinct length. A config that
    transformers builds but cannot run is refused (``bad_config``, naming the key when one
    is to blame).
    """
    needed = _needed_lengths(config, lengths)
    with architecture.refusing_what_fails(config):
        probe = Probe(config, attn_implementation)
        architecture.check_size(probe.model)
        check_additive(probe, attn_implementation)
        fits = None
        if architecture.max_tokens(config) >= max(FIT_LENGTHS):  # else too short to bother
            fits = fit_parts(probe, needed[-1])
        if fits is None:
            logger.info("counting %s at each of %d lengths", config.model_type, len(needed))
        embeddings, layers, head = fits or count_parts(probe, needed)
    return CostModel(embeddings, _windowed(layers, config), head, probe.params(),
                     fitted=fits is not None)


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
        layers = cost.layers_used(num_layers)
        histogram = {layers: len(per_example)}
        params = cost.parameters(layers)
    else:
        values, counts = np.unique(np.asarray(exit_layers, dtype=np.int64), return_counts=True)
        histogram = {int(v): int(c) for v, c in zip(values, counts, strict=True)}
        params = cost.parameters(multi_exit=True)
    return PointCost(float(per_example.mean()), float(np.median(per_example)),
                     float(np.percentile(per_example, 95)), histogram, params / 1e6)
