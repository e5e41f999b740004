"""Reading a captured program's JSON into a ``torch.fx.Graph``, checking each thing it uses
(``evaluator.cost.captured_graph`` says why PyTorch's own deserializer never sees the file):
nodes that call ATen operators with an ELUE counting rule or shape arithmetic, inputs (the
model's tensors with fixed shapes, then token ids and attention mask), and outputs.

    >>> graph = load_program(Path("exit-3.graph.json").read_bytes())
    >>> [(spec.target, spec.shape) for spec in graph.tensors]  # the model's tensors, in order
"""

from __future__ import annotations

import json
import math
import operator
import re
from collections.abc import Callable
from typing import Any

from evaluator.cost.captured_graph import MAX_GRAPH_BYTES, CapturedGraph, GraphInvalid, TensorSpec
from evaluator.cost.graph_rules import SHAPE_FUNCTIONS, refusal
from evaluator.cost.graph_values import (
    as_bool,
    as_device,
    as_enum,
    as_float,
    as_int,
    as_list,
    as_string,
    fail,
    single,
)

MAX_NODES = 50_000
MAX_ELEMENTS = 4 * 10 ** 9  # per tensor the model holds
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,199}")
TARGET = re.compile(r"[A-Za-z0-9_.]{1,300}")
ATEN = re.compile(r"torch\.ops\.aten\.([a-z0-9_]+)\.([A-Za-z0-9_]+)")
INPUT_KINDS = frozenset({"user_input", "parameter", "buffer", "tensor_constant"})
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


class GraphReader:
    """Builds a ``torch.fx.Graph`` from the JSON of a captured program, checking each thing
    it uses; everything else in the file (metadata, guards, size expressions) is ignored."""

    def __init__(self, raw: Any):
        import torch
        from torch._export.serde import serialize

        if not isinstance(raw, dict) or not isinstance(raw.get("graph_module"), dict):
            fail("not a captured program")
        self.module = raw["graph_module"]
        graph = self.module.get("graph")
        if not isinstance(graph, dict) or not isinstance(graph.get("nodes"), list):
            fail("the program has no graph")
        if len(graph["nodes"]) > MAX_NODES:
            fail(f"the graph has {len(graph['nodes']):,} operations; at most {MAX_NODES:,}")
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
            fail("a reference to a value is malformed")
        name = next(iter(reference.values()))
        if not isinstance(name, str) or name not in self.values:
            fail(f"the graph uses {str(name)[:40]!r} before it is computed")
        return self.values[name]

    def _symbolic(self, value: Any) -> Any:
        kind, inner = single(value, "a shape argument")
        if kind == "as_name":
            return self._value(value)
        converters = {"as_int": as_int, "as_float": as_float, "as_bool": as_bool}
        if kind not in converters:
            fail(f"a shape argument is {kind}")
        return converters[kind](inner)

    def _optional_tensor(self, value: Any) -> Any:
        kind, inner = single(value, "an optional tensor")
        if kind == "as_none":
            return None
        if kind != "as_tensor":
            fail(f"an optional tensor is {kind}")
        return self._value(inner)

    def argument(self, value: Any) -> Any:
        """One ``Argument`` of the schema as a plain value or a node of the graph."""
        kind, inner = single(value, "an argument")
        if kind == "as_none":
            return None
        if kind == "as_tensor":
            return self._value(inner)
        converters: dict[str, Callable[[Any], Any]] = {
            "as_tensors": lambda v: as_list(v, self._value),
            "as_int": as_int, "as_ints": lambda v: as_list(v, as_int),
            "as_float": as_float, "as_floats": lambda v: as_list(v, as_float),
            "as_bool": as_bool, "as_bools": lambda v: as_list(v, as_bool),
            "as_string": as_string, "as_strings": lambda v: as_list(v, as_string),
            "as_sym_int": self._symbolic, "as_sym_ints": lambda v: as_list(v, self._symbolic),
            "as_sym_bool": self._symbolic, "as_sym_bools": lambda v: as_list(v, self._symbolic),
            "as_sym_float": self._symbolic,
            "as_sym_floats": lambda v: as_list(v, self._symbolic),
            "as_scalar_type": lambda v: as_enum(v, self.dtypes, "dtype"),
            "as_layout": lambda v: as_enum(v, self.layouts, "layout"),
            "as_memory_format": lambda v: as_enum(v, self.formats, "memory format"),
            "as_device": as_device,
            "as_optional_tensor": self._optional_tensor,
            "as_optional_tensors": lambda v: as_list(v, self._optional_tensor),
        }
        if kind not in converters:
            what = {"as_graph": "a sub-graph (torch.cond, torch.while_loop, ...)",
                    "as_custom_obj": "a custom object", "as_operator": "an operator argument"}
            fail(f"the graph holds {what.get(kind, kind)}, which ELUE does not count or run")
        return converters[kind](inner)

    # nodes

    def target(self, name: Any) -> Any:
        """The operator a node calls: an ATen operator ELUE counts, or shape arithmetic."""
        import torch

        if not isinstance(name, str):
            fail("a node has no operator")
        if name in SHAPE_FUNCTIONS:
            return PYTHON_FUNCTIONS.get(name) or getattr(torch, name.split(".", 1)[1])
        match = ATEN.fullmatch(name)
        if match is None:
            fail(f"the graph calls {name[:80]!r}, which is not an ATen operator; custom "
                 "operators and Python functions are never run")
        why = refusal(match.group(1))
        if why:
            fail(f"the model uses {why}")
        packet = getattr(torch.ops.aten, match.group(1), None)
        overload = getattr(packet, match.group(2), None) if packet is not None else None
        if not isinstance(overload, torch._ops.OpOverload):
            fail(f"the graph calls {name[:80]!r}, which this PyTorch does not have")
        return overload

    def call(self, target: Any, inputs: Any) -> tuple[list, dict]:
        """Positional and keyword arguments of a call, by the operator's schema."""
        import torch

        if not isinstance(inputs, list) or len(inputs) > 64:
            fail("a node's arguments are malformed")
        given: dict[str, tuple[Any, Any]] = {}
        for named in inputs:
            if not isinstance(named, dict) or not isinstance(named.get("name"), str):
                fail("a node's argument is malformed")
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
            fail(f"{target} has no argument {next(iter(given))!r}")
        return args, kwargs

    def node(self, node: Any) -> None:
        import torch

        if not isinstance(node, dict):
            fail("a node is malformed")
        target = self.target(node.get("target"))
        args, kwargs = self.call(target, node.get("inputs"))
        made = self.graph.call_function(target, tuple(args), kwargs)
        outputs = node.get("outputs")
        if not isinstance(outputs, list):
            fail("a node's outputs are malformed")
        returns = len(target._schema.returns) if isinstance(target, torch._ops.OpOverload) \
            else 1
        if len(outputs) == 1 and returns == 1:
            kind, inner = single(outputs[0], "an output")
            if kind == "as_tensors":
                self._name_items(made, [{"as_tensor": t} for t in as_list(inner, lambda t: t)])
            else:
                self._name(made, outputs[0])
        else:
            self._name_items(made, outputs)

    def _name_items(self, made: Any, outputs: list) -> None:
        for index, output in enumerate(outputs):
            self._name(self.graph.call_function(operator.getitem, (made, index)), output)

    def _name(self, made: Any, output: Any) -> None:
        kind, inner = single(output, "an output")
        if kind == "as_none" or (isinstance(inner, dict) and set(inner) == {"as_int"}):
            return  # not used by name (a size export found to be fixed)
        if kind not in ("as_tensor", "as_sym_int", "as_sym_bool", "as_sym_float"):
            fail(f"an operation returns {kind}")
        name = inner.get("name", inner.get("as_name")) if isinstance(inner, dict) else None
        if not isinstance(name, str) or not NAME.fullmatch(name) or name in self.values:
            fail("an operation's output is malformed or named twice")
        self.values[name] = made

    # inputs and outputs

    def inputs(self) -> list[TensorSpec | None]:
        """Placeholders in order, with the model's tensors described (fixed shapes)."""
        signature = self.module.get("signature")
        specs = signature.get("input_specs") if isinstance(signature, dict) else None
        if not isinstance(specs, list) or len(specs) > MAX_NODES:
            fail("the graph has no signature")
        described: list[TensorSpec | None] = []
        for spec in specs:
            kind, inner = single(spec, "an input of the graph")
            if kind not in INPUT_KINDS:
                fail(f"the graph takes a {kind} input, which ELUE does not support")
            if not isinstance(inner, dict):
                fail("an input of the graph is malformed")
            arg = inner.get("arg")
            if kind == "user_input":
                arg = single(arg, "an input of the graph")[1]
            name = arg.get("name") if isinstance(arg, dict) else None
            if not isinstance(name, str) or not NAME.fullmatch(name) or name in self.values:
                fail("an input of the graph is malformed")
            self.values[name] = self.graph.placeholder(f"input_{len(described)}")
            described.append(None if kind == "user_input" else self._tensor(kind, inner, name))
        if sum(spec is None for spec in described) not in (2, 3):
            fail("the graph must take two or three inputs: token ids, attention mask and "
                 "segment ids if the model takes them")
        return described

    def _tensor(self, kind: str, inner: dict, name: str) -> TensorSpec:
        target = inner.get("parameter_name") or inner.get("buffer_name") or \
            inner.get("tensor_constant_name")
        if not isinstance(target, str) or not TARGET.fullmatch(target):
            fail("a tensor of the model has a malformed name")
        meta = (self.json.get("tensor_values") or {}).get(name)
        if not isinstance(meta, dict) or not isinstance(meta.get("sizes"), list) or \
                len(meta["sizes"]) > 16:
            fail(f"the graph does not describe its tensor {target}")
        shape = []
        for size in meta["sizes"]:
            size_kind, value = single(size, "a size")
            if size_kind != "as_int":
                fail(f"{target} has a shape that is not fixed")
            shape.append(as_int(value))
        if min(shape, default=0) < 0 or math.prod(shape) > MAX_ELEMENTS:
            fail(f"{target} has an impossible shape")
        stored = kind == "parameter" or (kind == "buffer" and inner.get("persistent") is True)
        return TensorSpec({"tensor_constant": "constant"}.get(kind, kind), target, stored,
                          tuple(shape), as_enum(meta.get("dtype"), self.dtypes, "dtype"))

    def outputs(self) -> None:
        signature = self.module["signature"]
        for spec in signature.get("output_specs") or []:
            kind, _ = single(spec, "an output of the graph")
            if kind != "user_output":
                fail("the model changes its own tensors (parameters, buffers or inputs) "
                     "when it runs; a model ELUE counts must keep no state between calls")
        results = self.json.get("outputs")
        if not isinstance(results, list) or not results:
            fail("the graph has no outputs")
        values = []
        for result in results:
            kind, inner = single(result, "an output of the graph")
            if kind != "as_tensor":
                fail("every output of the model must be a tensor")
            values.append(self._value(inner))
        self.graph.output(tuple(values))

    def read(self) -> CapturedGraph:
        specs = self.inputs()
        for node in self.json["nodes"]:
            self.node(node)
        self.outputs()
        return CapturedGraph(self.graph, specs)


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
