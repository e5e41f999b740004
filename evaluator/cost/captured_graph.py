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

    >>> graph = load_program(Path("exit-3.graph.json").read_bytes())
    >>> outputs = interpret(graph, graph.meta_inputs(1, 64), device="meta")
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from evaluator.cost.graph_rules import SHAPE_FUNCTIONS, refusal

if TYPE_CHECKING:
    import torch
    from torch.export import ExportedProgram

GRAPH_SUFFIX = ".graph.json"
TENSORS_SUFFIX = ".tensors.safetensors"
MAX_GRAPH_BYTES = 64 * 1024 * 1024
MAX_NODES = 50_000
MAX_LIST = 10_000
MAX_STRING = 300
MAX_INT = 2 ** 63  # int64 (a slice to the end is written as 2**63 - 1)
MAX_ELEMENTS = 4 * 10 ** 9  # per tensor the model holds
MODEL_PREFIX = "model."  # the capture wraps the submitted module as ``self.model``

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,199}")
TARGET = re.compile(r"[A-Za-z0-9_.]{1,300}")
ATEN = re.compile(r"torch\.ops\.aten\.([a-z0-9_]+)\.([A-Za-z0-9_]+)")
INPUT_KINDS = frozenset({"user_input", "parameter", "buffer", "tensor_constant"})
DEVICE_TYPES = frozenset({"cpu", "cuda", "meta"})
KEYWORD = 2  # the schema's ArgumentKind
PYTHON_FUNCTIONS: dict[str, Callable] = {
    "_operator.getitem": operator.getitem, "_operator.add": operator.add,
    "_operator.sub": operator.sub, "_operator.mul": operator.mul,
    "_operator.floordiv": operator.floordiv, "_operator.truediv": operator.truediv,
    "_operator.mod": operator.mod, "_operator.neg": operator.neg,
    "_operator.pow": operator.pow, "_operator.eq": operator.eq, "_operator.ne": operator.ne,
    "_operator.lt": operator.lt, "_operator.le": operator.le, "_operator.gt": operator.gt,
    "_operator.ge": operator.ge, "_operator.and_": operator.and_,
    "_operator.or_": operator.or_, "_operator.not_": operator.not_,
    "math.ceil": math.ceil, "math.floor": math.floor, "math.trunc": math.trunc,
}


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


# --- reading the JSON into a graph --------------------------------------------------------

def _fail(message: str) -> NoReturn:
    raise GraphInvalid(message)


def _single(value: Any, what: str) -> tuple[str, Any]:
    """The one ``(kind, value)`` of a union of the schema (``{"as_int": 3}``)."""
    if not isinstance(value, dict) or len(value) != 1:
        _fail(f"{what} is malformed")
    return next(iter(value.items()))


def _int(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not -MAX_INT <= value < MAX_INT:
        _fail(f"expected a whole number, found {str(value)[:40]!r}")
    return value


def _float(value: Any) -> float:
    if isinstance(value, str) and value in ("Infinity", "-Infinity", "NaN"):
        return float(value.replace("Infinity", "inf"))
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        _fail(f"expected a number, found {str(value)[:40]!r}")
    return float(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        _fail(f"expected true or false, found {str(value)[:40]!r}")
    return value


def _string(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_STRING:
        _fail("a string argument is too long")
    return value


def _list(value: Any, convert: Callable[[Any], Any]) -> list:
    if not isinstance(value, list) or len(value) > MAX_LIST:
        _fail("a list argument is malformed")
    return [convert(item) for item in value]


def _enum(value: Any, table: Mapping, what: str) -> Any:
    if isinstance(value, bool) or value not in table:
        _fail(f"unknown {what} {str(value)[:20]!r}")
    return table[value]


def _device(value: Any) -> torch.device:
    import torch

    if not isinstance(value, dict) or value.get("type") not in DEVICE_TYPES or \
            set(value) - {"type", "index"}:
        _fail(f"a device is not one of {', '.join(sorted(DEVICE_TYPES))}")
    index = value.get("index")
    if index is not None and not (isinstance(index, int) and 0 <= index < 64):
        _fail("a device index is malformed")
    if index is None:
        return torch.device(value["type"])
    return torch.device(value["type"], index)


class GraphReader:
    """Builds a ``torch.fx.Graph`` from the JSON of a captured program, checking each thing
    it uses; everything else in the file (metadata, guards, size expressions) is ignored."""

    def __init__(self, raw: Any):
        import torch
        from torch._export.serde import serialize

        if not isinstance(raw, dict) or not isinstance(raw.get("graph_module"), dict):
            _fail("not a captured program")
        self.module = raw["graph_module"]
        graph = self.module.get("graph")
        if not isinstance(graph, dict) or not isinstance(graph.get("nodes"), list):
            _fail("the program has no graph")
        if len(graph["nodes"]) > MAX_NODES:
            _fail(f"the graph has {len(graph['nodes']):,} operations; at most {MAX_NODES:,}")
        self.json = graph
        self.graph = torch.fx.Graph()
        self.values: dict[str, Any] = {}
        self.dtypes = serialize._SERIALIZE_TO_TORCH_DTYPE
        self.layouts = serialize._SERIALIZE_TO_TORCH_LAYOUT
        self.formats = serialize._SERIALIZE_TO_TORCH_MEMORY_FORMAT

    # arguments

    def _value(self, reference: Any) -> Any:
        """The graph value (node) named by ``{"name": ...}`` or ``{"as_name": ...}``."""
        if not isinstance(reference, dict) or len(reference) != 1:
            _fail("a reference to a value is malformed")
        name = next(iter(reference.values()))
        if not isinstance(name, str) or name not in self.values:
            _fail(f"the graph uses {str(name)[:40]!r} before it is computed")
        return self.values[name]

    def _symbolic(self, value: Any) -> Any:
        kind, inner = _single(value, "a shape argument")
        if kind == "as_name":
            return self._value(value)
        converters = {"as_int": _int, "as_float": _float, "as_bool": _bool}
        if kind not in converters:
            _fail(f"a shape argument is {kind}")
        return converters[kind](inner)

    def _optional_tensor(self, value: Any) -> Any:
        kind, inner = _single(value, "an optional tensor")
        if kind == "as_none":
            return None
        if kind != "as_tensor":
            _fail(f"an optional tensor is {kind}")
        return self._value(inner)

    def argument(self, value: Any) -> Any:
        """One ``Argument`` of the schema as a plain value or a node of the graph."""
        kind, inner = _single(value, "an argument")
        if kind == "as_none":
            return None
        if kind == "as_tensor":
            return self._value(inner)
        converters: dict[str, Callable[[Any], Any]] = {
            "as_tensors": lambda v: _list(v, self._value),
            "as_int": _int, "as_ints": lambda v: _list(v, _int),
            "as_float": _float, "as_floats": lambda v: _list(v, _float),
            "as_bool": _bool, "as_bools": lambda v: _list(v, _bool),
            "as_string": _string, "as_strings": lambda v: _list(v, _string),
            "as_sym_int": self._symbolic, "as_sym_ints": lambda v: _list(v, self._symbolic),
            "as_sym_bool": self._symbolic, "as_sym_bools": lambda v: _list(v, self._symbolic),
            "as_sym_float": self._symbolic,
            "as_sym_floats": lambda v: _list(v, self._symbolic),
            "as_scalar_type": lambda v: _enum(v, self.dtypes, "dtype"),
            "as_layout": lambda v: _enum(v, self.layouts, "layout"),
            "as_memory_format": lambda v: _enum(v, self.formats, "memory format"),
            "as_device": _device,
            "as_optional_tensor": self._optional_tensor,
            "as_optional_tensors": lambda v: _list(v, self._optional_tensor),
        }
        if kind not in converters:
            what = {"as_graph": "a sub-graph (torch.cond, torch.while_loop, ...)",
                    "as_custom_obj": "a custom object", "as_operator": "an operator argument"}
            _fail(f"the graph holds {what.get(kind, kind)}, which ELUE does not count or run")
        return converters[kind](inner)

    # nodes

    def target(self, name: Any) -> Any:
        """The operator a node calls: an ATen operator ELUE counts, or shape arithmetic."""
        import torch

        if not isinstance(name, str):
            _fail("a node has no operator")
        if name in SHAPE_FUNCTIONS:
            return PYTHON_FUNCTIONS.get(name) or getattr(torch, name.split(".", 1)[1])
        match = ATEN.fullmatch(name)
        if match is None:
            _fail(f"the graph calls {name[:80]!r}, which is not an ATen operator; custom "
                  "operators and Python functions are never run")
        why = refusal(match.group(1))
        if why:
            _fail(f"the model uses {why}")
        packet = getattr(torch.ops.aten, match.group(1), None)
        overload = getattr(packet, match.group(2), None) if packet is not None else None
        if not isinstance(overload, torch._ops.OpOverload):
            _fail(f"the graph calls {name[:80]!r}, which this PyTorch does not have")
        return overload

    def call(self, target: Any, inputs: Any) -> tuple[list, dict]:
        """Positional and keyword arguments of a call, by the operator's schema."""
        import torch

        if not isinstance(inputs, list) or len(inputs) > 64:
            _fail("a node's arguments are malformed")
        given: dict[str, tuple[Any, Any]] = {}
        for named in inputs:
            if not isinstance(named, dict) or not isinstance(named.get("name"), str):
                _fail("a node's argument is malformed")
            given[named["name"]] = (self.argument(named.get("arg")), named.get("kind"))
        if not isinstance(target, torch._ops.OpOverload):
            return [value for value, _ in given.values()], {}
        args, kwargs, by_name = [], {}, False
        for argument in target._schema.arguments:
            if argument.name not in given:
                by_name = True  # after a left-out argument, the others go by name
                continue
            value, kind = given.pop(argument.name)
            by_name = by_name or argument.kwarg_only or kind == KEYWORD
            if by_name:
                kwargs[argument.name] = value
            else:
                args.append(value)
        if given:
            _fail(f"{target} has no argument {next(iter(given))!r}")
        return args, kwargs

    def node(self, node: Any) -> None:
        import torch

        if not isinstance(node, dict):
            _fail("a node is malformed")
        target = self.target(node.get("target"))
        args, kwargs = self.call(target, node.get("inputs"))
        made = self.graph.call_function(target, tuple(args), kwargs)
        outputs = node.get("outputs")
        if not isinstance(outputs, list):
            _fail("a node's outputs are malformed")
        returns = len(target._schema.returns) if isinstance(target, torch._ops.OpOverload) \
            else 1
        if len(outputs) == 1 and returns == 1:
            kind, inner = _single(outputs[0], "an output")
            if kind == "as_tensors":
                self._name_items(made, [{"as_tensor": t} for t in _list(inner, lambda t: t)])
            else:
                self._name(made, outputs[0])
        else:
            self._name_items(made, outputs)

    def _name_items(self, made: Any, outputs: list) -> None:
        for index, output in enumerate(outputs):
            self._name(self.graph.call_function(operator.getitem, (made, index)), output)

    def _name(self, made: Any, output: Any) -> None:
        kind, inner = _single(output, "an output")
        if kind == "as_none" or (isinstance(inner, dict) and set(inner) == {"as_int"}):
            return  # not used by name (a size export found to be fixed)
        if kind not in ("as_tensor", "as_sym_int", "as_sym_bool", "as_sym_float"):
            _fail(f"an operation returns {kind}")
        name = inner.get("name", inner.get("as_name")) if isinstance(inner, dict) else None
        if not isinstance(name, str) or not NAME.fullmatch(name) or name in self.values:
            _fail("an operation's output is malformed or named twice")
        self.values[name] = made

    # inputs and outputs

    def inputs(self) -> list[TensorSpec | None]:
        """Placeholders in order, with the model's tensors described (fixed shapes)."""
        signature = self.module.get("signature")
        specs = signature.get("input_specs") if isinstance(signature, dict) else None
        if not isinstance(specs, list) or len(specs) > MAX_NODES:
            _fail("the graph has no signature")
        described: list[TensorSpec | None] = []
        for spec in specs:
            kind, inner = _single(spec, "an input of the graph")
            if kind not in INPUT_KINDS:
                _fail(f"the graph takes a {kind} input, which ELUE does not support")
            if not isinstance(inner, dict):
                _fail("an input of the graph is malformed")
            arg = inner.get("arg")
            if kind == "user_input":
                arg = _single(arg, "an input of the graph")[1]
            name = arg.get("name") if isinstance(arg, dict) else None
            if not isinstance(name, str) or not NAME.fullmatch(name) or name in self.values:
                _fail("an input of the graph is malformed")
            self.values[name] = self.graph.placeholder(f"input_{len(described)}")
            described.append(None if kind == "user_input" else self._tensor(kind, inner, name))
        if sum(spec is None for spec in described) not in (2, 3):
            _fail("the graph must take two or three inputs: token ids, attention mask and "
                  "segment ids if the model takes them")
        return described

    def _tensor(self, kind: str, inner: dict, name: str) -> TensorSpec:
        target = inner.get("parameter_name") or inner.get("buffer_name") or \
            inner.get("tensor_constant_name")
        if not isinstance(target, str) or not TARGET.fullmatch(target):
            _fail("a tensor of the model has a malformed name")
        meta = (self.json.get("tensor_values") or {}).get(name)
        if not isinstance(meta, dict) or not isinstance(meta.get("sizes"), list) or \
                len(meta["sizes"]) > 16:
            _fail(f"the graph does not describe its tensor {target}")
        shape = []
        for size in meta["sizes"]:
            size_kind, value = _single(size, "a size")
            if size_kind != "as_int":
                _fail(f"{target} has a shape that is not fixed")
            shape.append(_int(value))
        if min(shape, default=0) < 0 or math.prod(shape) > MAX_ELEMENTS:
            _fail(f"{target} has an impossible shape")
        stored = kind == "parameter" or (kind == "buffer" and inner.get("persistent") is True)
        return TensorSpec({"tensor_constant": "constant"}.get(kind, kind), target, stored,
                          tuple(shape), _enum(meta.get("dtype"), self.dtypes, "dtype"))

    def outputs(self) -> None:
        signature = self.module["signature"]
        for spec in signature.get("output_specs") or []:
            kind, _ = _single(spec, "an output of the graph")
            if kind != "user_output":
                _fail("the model changes its own tensors (parameters, buffers or inputs) "
                      "when it runs; a model ELUE counts must keep no state between calls")
        results = self.json.get("outputs")
        if not isinstance(results, list) or not results:
            _fail("the graph has no outputs")
        values = []
        for result in results:
            kind, inner = _single(result, "an output of the graph")
            if kind != "as_tensor":
                _fail("every output of the model must be a tensor")
            values.append(self._value(inner))
        self.graph.output(tuple(values))

    def read(self) -> CapturedGraph:
        specs = self.inputs()
        for node in self.json["nodes"]:
            self.node(node)
        self.outputs()
        return CapturedGraph(self.graph, specs)


# --- loading ------------------------------------------------------------------------------

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


def load_program(data: bytes) -> CapturedGraph:
    """The checked graph of a ``NAME.graph.json``; raises ``GraphInvalid``."""
    if len(data) > MAX_GRAPH_BYTES:
        raise GraphInvalid(f"the graph file has {len(data):,} bytes; at most "
                           f"{MAX_GRAPH_BYTES:,}")
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise GraphInvalid(f"the graph file is not JSON ({str(error)[:200]})") from None
    return GraphReader(raw).read()


def aten_name(target: Any) -> str:
    """``"linear"`` for ``torch.ops.aten.linear.default``."""
    return target._schema.name.split("::", 1)[1]


# --- running ------------------------------------------------------------------------------

Observer = Callable[[Any, tuple, dict, Any], None]  # (ATen operator, args, kwargs, output)


def interpret(graph: CapturedGraph, inputs: list, device: str = "cpu",
              observe: Observer | None = None) -> list:
    """Run ``graph`` on ``inputs`` (its tensors and the caller's inputs, in order), one
    ATen call per node, every tensor it creates on ``device``; ``observe(operator, args,
    kwargs, output)`` sees each ATen call. Returns the flat outputs."""
    import torch

    place = torch.device(device)

    class Run(torch.fx.Interpreter):
        def call_function(self, target, args, kwargs):
            if not isinstance(target, torch._ops.OpOverload) and any(
                    isinstance(a, torch.Tensor) for a in (*args, *kwargs.values())):
                # Python's operators on tensors would compute unseen by the rules.
                raise GraphInvalid(f"the graph applies {target} to a tensor; only ATen "
                                   "operators may compute on tensors")
            args = tuple(place if isinstance(a, torch.device) else a for a in args)
            if "device" in kwargs:
                kwargs = {**kwargs, "device": place}
            result = super().call_function(target, args, kwargs)
            if observe is not None and isinstance(target, torch._ops.OpOverload):
                observe(target, args, kwargs, result)
            return result

    return list(Run(torch.nn.Module(), graph=graph.graph).run(*inputs))


def state_tensors(graph: CapturedGraph, weights: Mapping[str, torch.Tensor],
                  captured: Mapping[str, torch.Tensor]) -> list:
    """The graph's tensors for a real run: parameters and persistent buffers from the
    submitted ``weights`` (by name, same shape), constants and other buffers as captured."""
    tensors: list[torch.Tensor | None] = []
    for spec in graph.inputs:
        if spec is None:
            tensors.append(None)
            continue
        source = weights if spec.in_state_dict else captured
        key = spec.weight_name if spec.in_state_dict else spec.target
        where = "the weights" if spec.in_state_dict else "the captured constants"
        if key not in source:
            raise GraphInvalid(f"{key} is not in {where}")
        tensor = source[key]
        if tuple(tensor.shape) != spec.shape:
            raise GraphInvalid(f"{key} has shape {tuple(tensor.shape)} in {where}; the model "
                               f"built by build() has {spec.shape}")
        if tensor.dtype != spec.dtype and not (tensor.is_floating_point()
                                               and spec.dtype.is_floating_point):
            raise GraphInvalid(f"{key} is {tensor.dtype} in {where}; the model has {spec.dtype}")
        tensors.append(tensor.to(spec.dtype))
    return tensors
