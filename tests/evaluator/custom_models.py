"""Submitted ``model.py`` files for the sandbox tests, and the hand-derived cost formulas.

``multi_exit_model`` writes a slenderized multi-exit encoder in the style of COST-EFF (per
layer its own number of heads and FFN width, an exit at every layer) or, with uniform
widths, an ElasticBERT-style model; ``macs`` and ``parameters`` are its costs under ELUE's
rules (SPEC §3), derived by hand from the code below rather than from any trace.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from evaluator.cost.token_lengths import reference_tokenizer_dir

MODEL_CODE = '''
import torch
from torch import nn

HIDDEN, HEAD_DIM, VOCAB, POSITIONS = {hidden}, {head_dim}, {vocab}, {positions}
HEADS = {heads}
FFN = {ffn}


class Layer(nn.Module):
    def __init__(self, heads, ffn):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(HIDDEN, 3 * heads * HEAD_DIM)
        self.out = nn.Linear(heads * HEAD_DIM, HIDDEN)
        self.norm1 = nn.LayerNorm(HIDDEN)
        self.up = nn.Linear(HIDDEN, ffn)
        self.down = nn.Linear(ffn, HIDDEN)
        self.norm2 = nn.LayerNorm(HIDDEN)

    def forward(self, x, bias):
        batch, length = x.shape[0], x.shape[1]
        qkv = self.qkv(x).view(batch, length, 3, self.heads, HEAD_DIM).permute(2, 0, 3, 1, 4)
        scores = torch.matmul(qkv[0], qkv[1].transpose(-1, -2)) / HEAD_DIM ** 0.5 + bias
        context = torch.matmul(scores.softmax(-1), qkv[2]).transpose(1, 2)
        x = self.norm1(x + self.out(context.reshape(batch, length, self.heads * HEAD_DIM)))
        return self.norm2(x + self.down(nn.functional.gelu(self.up(x))))


class Exit(nn.Module):
    def __init__(self, num_labels):
        super().__init__()
        self.pooler = nn.Linear(HIDDEN, HIDDEN)
        self.classifier = nn.Linear(HIDDEN, num_labels)

    def forward(self, x):
        return self.classifier(torch.tanh(self.pooler(x[:, 0])))


class MultiExit(nn.Module):
    def __init__(self, num_labels):
        super().__init__()
        self.words = nn.Embedding(VOCAB, HIDDEN)
        self.positions = nn.Embedding(POSITIONS, HIDDEN)
        self.norm = nn.LayerNorm(HIDDEN)
        self.layers = nn.ModuleList(Layer(h, f) for h, f in zip(HEADS, FFN))
        self.exits = nn.ModuleList(Exit(num_labels) for _ in HEADS)

    def forward(self, input_ids, exit_layer=None, attention_mask=None):
        """Logits of every exit passed, up to exit_layer (all layers, last exit if None)."""
        mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
        bias = (1.0 - mask[:, None, None, :].float()) * -1e4
        length = input_ids.shape[1]
        x = self.norm(self.words(input_ids) + self.positions(torch.arange(length)))
        logits = []
        for k, layer in enumerate(self.layers[:exit_layer or len(self.layers)]):
            x = layer(x, bias)
            if exit_layer is not None or k == len(self.layers) - 1:
                logits.append(self.exits[k](x))
        return tuple(logits)


def build(num_labels):
    return MultiExit(num_labels)


def predict(model, input_ids, attention_mask, threshold):
    """Leave at the first exit whose top probability reaches the threshold."""
    logits = torch.stack(model(input_ids, len(HEADS), attention_mask))  # (exits, B, C)
    if threshold is None:
        return logits[-1].argmax(-1), torch.full((input_ids.shape[0],), len(HEADS))
    confident = logits.softmax(-1).amax(-1) >= threshold
    confident[-1] = True
    exits = confident.int().argmax(0)
    chosen = logits[exits, torch.arange(input_ids.shape[0])]
    return chosen.argmax(-1), exits + 1
'''


@dataclass(frozen=True)
class Shape:
    """A multi-exit model's shape: per-layer heads and FFN widths, and the rest."""

    heads: tuple[int, ...]
    ffn: tuple[int, ...]
    hidden: int = 64
    head_dim: int = 16
    vocab: int = 30522  # bert-base-uncased's vocabulary (the tests' tokenizer)
    positions: int = 512

    @property
    def num_layers(self) -> int:
        return len(self.heads)


COST_EFF = Shape(heads=(4, 4, 3, 3, 2, 2), ffn=(128, 112, 96, 80, 64, 48))
ELASTIC = Shape(heads=(4,) * 12, ffn=(256,) * 12)


def layer_macs(shape: Shape, i: int, length: int) -> int:
    """One layer under SPEC §3: QKV 3·L·H·(h·d), scores and context 2·L²·h·d, scaling and
    softmax 2·h·L², output L·(h·d)·H, FFN 2·L·H·f, two LayerNorms 2·2·L·H."""
    h, d, hidden, f, n = shape.heads[i], shape.head_dim, shape.hidden, shape.ffn[i], length
    return (3 * n * hidden * h * d + 2 * n * n * h * d + 2 * h * n * n + n * h * d * hidden
            + 2 * n * hidden * f + 4 * n * hidden)


def exit_macs(shape: Shape, num_labels: int) -> int:
    """Pooler H·H and classifier H·C on the first token (tanh not counted)."""
    return shape.hidden * shape.hidden + shape.hidden * num_labels


def macs(shape: Shape, length: int, exit_layer: int | None, num_labels: int = 2) -> int:
    """An example of ``length`` tokens leaving after ``exit_layer`` (every exit it passed),
    or the static model (all layers, one exit) for ``None``; embeddings: LayerNorm 2·L·H."""
    layers = exit_layer or shape.num_layers
    exits = 1 if exit_layer is None else exit_layer
    return (2 * length * shape.hidden + sum(layer_macs(shape, i, length) for i in range(layers))
            + exits * exit_macs(shape, num_labels))


def parameters(shape: Shape, num_labels: int = 2) -> int:
    """Embeddings and their LayerNorm, every layer (weights and biases), every exit."""
    hidden, d = shape.hidden, shape.head_dim
    total = (shape.vocab + shape.positions) * hidden + 2 * hidden
    for h, f in zip(shape.heads, shape.ffn, strict=True):
        total += 3 * hidden * h * d + 3 * h * d + h * d * hidden + hidden  # qkv, out
        total += hidden * f + f + f * hidden + hidden + 4 * hidden  # FFN, LayerNorms
    per_exit = hidden * hidden + hidden + hidden * num_labels + num_labels
    return total + shape.num_layers * per_exit


def multi_exit_model(folder: Path, shape: Shape, code: str | None = None) -> Path:
    """A ``model/`` folder: ``model.py`` of ``shape`` (or ``code``), config.json with its
    depth, and bert-base-uncased's tokenizer files."""
    folder.mkdir(parents=True, exist_ok=True)
    source = code if code is not None else MODEL_CODE.format(
        hidden=shape.hidden, head_dim=shape.head_dim, vocab=shape.vocab,
        positions=shape.positions, heads=shape.heads, ffn=shape.ffn)
    (folder / "model.py").write_text(source, encoding="utf-8")
    config = {"model_type": "cost-eff-style", "num_hidden_layers": shape.num_layers,
              "max_position_embeddings": shape.positions}
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    tokenizer = reference_tokenizer_dir()
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json"):
        (folder / name).write_bytes((tokenizer / name).read_bytes())
    return folder


def save_weights(folder: Path, num_labels: int = 2, seed: int = 0) -> Path:
    """Random weights for ``folder/model.py``'s model, as ``model.safetensors`` (the test's
    own trusted code builds it here; the platform only ever builds it in the sandbox)."""
    import importlib.util

    import torch
    from safetensors.torch import save_file

    spec = importlib.util.spec_from_file_location("test_submission", folder / "model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.manual_seed(seed)
    model = module.build(num_labels)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(folder / "model.safetensors"))
    return folder / "model.safetensors"


def manifest(folder: Path, tasks: list[str], thresholds: list[float] | None = None) -> None:
    """``elue.json``: the tasks the weights are for and the thresholds to run."""
    content: dict = {"tasks": tasks}
    if thresholds is not None:
        content["thresholds"] = thresholds
    (folder / "elue.json").write_text(json.dumps(content), encoding="utf-8")


def standard_model(folder: Path, layers: int = 2, num_labels: int = 2, seed: int = 0) -> Path:
    """A small BERT (hidden size 64, bert-base-uncased's vocabulary) saved as a standard
    architecture with random weights: ``config.json``, ``model.safetensors`` and the
    tokenizer files, as ``save_pretrained`` leaves them (no model code)."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    config = BertConfig(hidden_size=64, num_hidden_layers=layers, num_attention_heads=4,
                        intermediate_size=128, num_labels=num_labels)
    BertForSequenceClassification(config).save_pretrained(folder, safe_serialization=True)
    tokenizer = reference_tokenizer_dir()
    for name in ("vocab.txt", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json"):
        (folder / name).write_bytes((tokenizer / name).read_bytes())
    return folder
