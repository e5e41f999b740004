"""Capturing small models in the test process (trusted code) as the sandbox would, and
reading the graph back as the platform does."""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from evaluator.cost.captured_graph import GRAPH_SUFFIX, CapturedGraph, save_program
from evaluator.cost.graph_reader import load_program
from evaluator.running.sandboxed.capture import export


class Forward(nn.Module):
    """``model`` called as the capture calls it: token ids and attention mask."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids, attention_mask=attention_mask)


def capture(model: nn.Module, folder: Path, name: str = "static",
            max_tokens: int = 512) -> Path:
    """Capture ``model`` and write its graph files; returns the graph file."""
    folder.mkdir(parents=True, exist_ok=True)
    save_program(export(Forward(model.eval()), max_tokens), folder, name)
    return folder / f"{name}{GRAPH_SUFFIX}"


def captured(model: nn.Module, folder: Path) -> CapturedGraph:
    return load_program(capture(model, folder).read_bytes())


def edit(path: Path, change) -> bytes:
    """The graph file's JSON after ``change(raw)``."""
    raw = json.loads(path.read_text())
    change(raw)
    return json.dumps(raw).encode()


class Tiny(nn.Module):
    """An embedding, one attention-like mixing, a LayerNorm and a classifier."""

    def __init__(self, hidden: int = 16, labels: int = 2):
        super().__init__()
        self.words = nn.Embedding(100, hidden)
        self.mix = nn.Linear(hidden, hidden)
        self.norm = nn.LayerNorm(hidden)
        self.head = nn.Linear(hidden, labels)

    def forward(self, input_ids, attention_mask=None):
        x = self.words(input_ids)
        scores = torch.matmul(self.mix(x), x.transpose(-1, -2)).softmax(-1)
        x = self.norm(x + torch.matmul(scores, x))
        return self.head(x[:, 0])


def tiny_macs(length: int, hidden: int = 16, labels: int = 2) -> int:
    """SPEC §3 for ``Tiny``: mix L·H², scores L²·H, softmax 2·L², context L²·H, LayerNorm
    2·L·H, head H·C (embedding and residual free)."""
    n, h = length, hidden
    return n * h * h + n * n * h + 2 * n * n + n * n * h + 2 * n * h + h * labels
