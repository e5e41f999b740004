"""A model captured as a graph, stored without pickle, and read back without trusting it.

The sandbox captures a submitted model with ``torch.export`` (``evaluator.running.sandboxed.
capture``) and writes each graph as two files, neither a pickle:

- ``NAME.graph.json``: the program in ``torch.export``'s JSON schema, without tensors;
- ``NAME.tensors.safetensors``: the tensors the program holds that are not in the model's
  ``state_dict`` (constants and non-persistent buffers), as captured.

Everything in both files may have been written by the submitter's code, so PyTorch's own
deserializer never sees them (it evaluates size expressions with ``sympy.sympify``, runs
guard code and resolves operator names by attribute lookup). ``load_program`` builds a
``torch.fx.Graph`` from the JSON itself and takes from it only what it needs: the nodes, each
a call of an ATen operator with an ELUE counting rule (``evaluator.cost.graph_rules``) or of
shape arithmetic, with plain arguments (numbers, strings, dtypes, devices, other nodes); the
inputs (the model's tensors, with fixed shapes, then token ids, attention mask and, for a
model that takes them, segment ids); the outputs. No sub-graphs, custom objects, other
operator namespaces, or writes to the model's own tensors. The graph then runs only through
``interpret`` (a ``torch.fx.Interpreter``, no generated code): one ATen call per node.

Where each part lives: ``load_program`` and its checks in ``evaluator.cost.graph_reader`` (the
plain values in ``evaluator.cost.graph_values``), ``interpret`` and ``state_tensors`` in
``evaluator.cost.graph_interpreter``; this module holds the format and the checked graph.

    >>> graph = load_program(Path("exit-3.graph.json").read_bytes())
    >>> outputs = interpret(graph, graph.meta_inputs(1, 64), device="meta")
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch.export import ExportedProgram

GRAPH_SUFFIX = ".graph.json"
TENSORS_SUFFIX = ".tensors.safetensors"
MAX_GRAPH_BYTES = 64 * 1024 * 1024
MODEL_PREFIX = "model."  # the capture wraps the submitted module as ``self.model``


class GraphInvalid(ValueError):
    """A captured graph ELUE will not count or run; the message says why."""


# --- writing (in the sandbox) -------------------------------------------------------------

def save_program(program: ExportedProgram, folder: Path, name: str) -> None:
    """Write ``program`` as ``NAME.graph.json`` and ``NAME.tensors.safetensors``."""
    import torch
    from safetensors.torch import save_file
    from torch._export.serde.serialize import serialize

    serialized = serialize(program, serialize_state_dict=False, serialize_constants=False,
                           serialize_example_inputs=False)
    tensors = {}
    for target, value in program.constants.items():
        if not isinstance(value, torch.Tensor):
            raise GraphInvalid(f"the model holds a {type(value).__name__} object ({target}); "
                               "only tensors can be captured")
        tensors[target] = value.detach().to("cpu").contiguous().clone()
    (folder / f"{name}{GRAPH_SUFFIX}").write_bytes(serialized.exported_program)
    save_file(tensors, str(folder / f"{name}{TENSORS_SUFFIX}"))


# --- the checked graph --------------------------------------------------------------------

@dataclass(frozen=True)
class TensorSpec:
    """A tensor the graph holds: its kind (``parameter``, ``buffer``, ``constant``), its name
    in the captured module, whether the model's ``state_dict`` has it, shape and dtype."""

    kind: str
    target: str
    in_state_dict: bool
    shape: tuple[int, ...]
    dtype: torch.dtype

    @property
    def weight_name(self) -> str:
        """The name in the submitted weights file (the capture's ``model.`` prefix removed)."""
        return self.target.removeprefix(MODEL_PREFIX)


@dataclass
class CapturedGraph:
    """A checked graph and its inputs in order: the tensors it holds, and ``None`` for the
    caller's inputs (token ids, the attention mask, then segment ids if it takes them)."""

    graph: Any  # torch.fx.Graph
    inputs: list[TensorSpec | None]

    @property
    def tensors(self) -> list[TensorSpec]:
        return [spec for spec in self.inputs if spec is not None]

    def meta_inputs(self, batch: int, length: int) -> list[torch.Tensor]:
        """Inputs on the meta device: shapes only (for counting)."""
        import torch

        user = torch.ones((batch, length), dtype=torch.long, device="meta")
        return [user if spec is None else torch.empty(spec.shape, dtype=spec.dtype,
                                                      device="meta")
                for spec in self.inputs]
