"""The capture job: the only job that imports the submitter's ``model.py``.

It builds the model and captures, with ``torch.export``, one graph per computation the
platform needs, each for every batch size and token length (a graph that only holds for
the lengths it was traced at is refused):

- ``static``: ``forward(input_ids, attention_mask=mask)``, the whole model with one head;
- ``exit-K``: ``forward(input_ids, exit_layer=K, attention_mask=mask)``, every head passed;
- ``predict-I``: ``predict(model, input_ids, attention_mask, thresholds[I])``, whose exit
  layers decide where each example leaves.

When the tokenizer gives segment ids (``"segments": true``), each call whose function takes
``token_type_ids`` (by name or through ``**kwargs``) gets them as a keyword, and its graph
takes them as a third input, after token ids and attention mask: they are an input of the
graph that is counted and run, like the token ids. A ``forward`` or ``predict`` that does
not take them is called as before, and its graph has two inputs.

Each graph is written as ``NAME.graph.json`` and ``NAME.tensors.safetensors``
(``evaluator.cost.captured_graph``). Nothing here is trusted afterwards: the graphs are
checked, counted and run by other processes that never import the submitter's code
(``evaluator.running.sandboxed.graph_jobs``); this process may rewrite its files as it likes.

    {"action": "capture", "model_dir": "/submission", "num_labels": 2, "max_tokens": 512,
     "static": true, "exits": [1, 2, 3], "thresholds": [0.5], "segments": true,
     "out": "graphs"}
"""

from __future__ import annotations

import importlib.util
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from evaluator.cost.captured_graph import GraphInvalid, save_program
from evaluator.running.model_inputs import SEGMENTS, accepts_segments
from evaluator.running.sandbox_limits import GRAPHS_ARCHIVE
from evaluator.running.sandboxed.protocol import (
    MODEL_CODE,
    JobFailed,
    describe,
    fresh,
    progress,
)

EXAMPLE_BATCH, EXAMPLE_LENGTH = 2, 16
MAX_BATCH = 1024


def import_model_code(model_dir: Path) -> ModuleType:
    """Import ``model.py`` from ``model_dir`` (its sibling modules importable too)."""
    sys.path.insert(0, str(model_dir))
    spec = importlib.util.spec_from_file_location("submission_model", model_dir / MODEL_CODE)
    if spec is None or spec.loader is None:  # not for a .py path, but say so if it happens
        raise ImportError(f"cannot import {model_dir / MODEL_CODE}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not callable(getattr(module, "build", None)):
        raise JobFailed("model_interface", f"{MODEL_CODE} defines no function build()")
    return module


def build(module: ModuleType, num_labels: int):
    """``module.build(num_labels)`` on the CPU, in eval mode, checked to be a Module."""
    import torch

    with torch.device("cpu"):
        model = module.build(num_labels)
    if not isinstance(model, torch.nn.Module):
        raise JobFailed("model_interface", f"build({num_labels}) returned "
                        f"{type(model).__name__}, not a torch.nn.Module")
    return model.eval()


def graph_names(job: dict) -> list[tuple[str, int | None, int | None]]:
    """``(name, exit layer, threshold index)`` of every graph the job asks for."""
    names: list[tuple[str, int | None, int | None]] = []
    if job.get("static"):
        names.append(("static", None, None))
    names += [(f"exit-{int(k)}", int(k), None) for k in job.get("exits", [])]
    names += [(f"predict-{i}", None, i) for i in range(len(job.get("thresholds", [])))]
    return names


def describe_graph(name: str, thresholds: list) -> str:
    """``"forward at exit 3"``, for messages."""
    kind, _, index = name.partition("-")
    if kind == "static":
        return "forward without an exit layer"
    if kind == "exit":
        return f"forward at exit {index}"
    return f"predict at threshold {thresholds[int(index)]:g}"


def wrappers(module: ModuleType, model, segments: bool = False
             ) -> tuple[Callable, Callable]:
    """Makers of the modules calling ``forward`` at an exit and ``predict`` at a threshold
    (the submitted module is ``self.model``). Each takes ``(input_ids, attention_mask)``, and
    ``token_type_ids`` as well where ``segments`` and the submitted function takes them."""
    import torch

    class AtExit(torch.nn.Module):
        segments = False

        def __init__(self, exit_layer: int | None):
            super().__init__()
            self.model = model
            self.exit_layer = exit_layer

        def call(self, input_ids, attention_mask, **extra):
            if self.exit_layer is None:
                return self.model(input_ids, attention_mask=attention_mask, **extra)
            return self.model(input_ids, exit_layer=self.exit_layer,
                              attention_mask=attention_mask, **extra)

    class Forward(AtExit):
        def forward(self, input_ids, attention_mask):
            return self.call(input_ids, attention_mask)

    class ForwardWithSegments(AtExit):
        segments = True

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.call(input_ids, attention_mask, **{SEGMENTS: token_type_ids})

    class AtThreshold(torch.nn.Module):
        segments = False

        def __init__(self, threshold: float):
            super().__init__()
            self.model = model
            self.threshold = threshold

        def call(self, input_ids, attention_mask, **extra):
            result = module.predict(self.model, input_ids, attention_mask, self.threshold,
                                    **extra)
            if not (isinstance(result, tuple) and len(result) == 2):
                raise JobFailed("model_interface", "predict() must return a tuple "
                                "(labels, exit_layers)")
            return result

    class Predict(AtThreshold):
        def forward(self, input_ids, attention_mask):
            return self.call(input_ids, attention_mask)

    class PredictWithSegments(AtThreshold):
        segments = True

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.call(input_ids, attention_mask, **{SEGMENTS: token_type_ids})

    # predict(model, input_ids, attention_mask, threshold, token_type_ids=None); a forward or
    # predict() without token_type_ids is still called as it was.
    forward = ForwardWithSegments if segments and accepts_segments(model.forward) else Forward
    predict = PredictWithSegments if segments and accepts_segments(
        getattr(module, "predict", None)) else Predict
    return forward, predict


def export(wrapper, max_tokens: int):
    """``wrapper`` captured for every batch size and every length up to ``max_tokens``,
    with segment ids as its third input if it takes them (``wrapper.segments``)."""
    import torch
    from torch.export import Dim

    length = min(EXAMPLE_LENGTH, max_tokens)
    batch_dim = Dim("batch", min=1, max=MAX_BATCH)
    length_dim = Dim("length", min=1, max=max(2, max_tokens))
    example = torch.ones((EXAMPLE_BATCH, length), dtype=torch.long)
    inputs: tuple[torch.Tensor, ...] = (example, example.clone())
    if getattr(wrapper, "segments", False):  # segment ids of a sentence pair: 0s, then 1s
        inputs += ((torch.arange(length) >= length // 2).long().expand(EXAMPLE_BATCH, -1)
                   .contiguous(),)
    dims = {0: batch_dim, 1: length_dim}
    with torch.no_grad():
        return torch.export.export(wrapper, inputs, dynamic_shapes=(dims,) * len(inputs),
                                   strict=False)


def capture_job(job: dict) -> dict:
    """Capture and write every graph the job asks for; returns their names."""
    module = import_model_code(Path(job["model_dir"]))
    thresholds = [float(t) for t in job.get("thresholds", [])]
    if thresholds and not callable(getattr(module, "predict", None)):
        raise JobFailed("model_interface", f"{MODEL_CODE} defines no function predict()")
    model = build(module, int(job["num_labels"]))
    forward, predict = wrappers(module, model, bool(job.get("segments")))
    out = Path(job["out"])
    out.mkdir(exist_ok=True)
    written = []
    for name, exit_layer, index in graph_names(job):
        what = describe_graph(name, thresholds)
        wrapper = forward(exit_layer) if index is None else predict(thresholds[index])
        try:
            program = export(wrapper, int(job["max_tokens"]))
            save_program(program, out, name)
        except JobFailed:
            raise
        except GraphInvalid as error:
            raise JobFailed("capture_failed", f"capturing {what}: {error}") from None
        except Exception as error:  # noqa: BLE001 - the submitter's code may raise anything
            raise JobFailed("capture_failed", f"{what} could not be captured as one graph for "
                            "every batch size and length (no Python branching on tensor "
                            f"values or on the length): {describe(error)}") from None
        written.append(name)
        progress(f"captured {what}")
    pack_graphs(out, written)
    return {"graphs": written}


def pack_graphs(folder: Path, names: list[str]) -> None:
    """The graphs written in ``folder`` (on the sandbox's own scratch, which vanishes with
    it) as one uncompressed zip in the output file ``GRAPHS_ARCHIVE``: only named output
    files reach the worker, each under the file-size limit."""
    with zipfile.ZipFile(fresh(GRAPHS_ARCHIVE), "w", zipfile.ZIP_STORED) as archive:
        for path in sorted(folder.iterdir()):
            # NAME.graph.json and NAME.tensors.safetensors of each graph written.
            if path.is_file() and path.name.split(".", 1)[0] in names:
                archive.write(path, path.name)
