"""The complete example of docs/submission-format.md ("Models with code and weights"),
also shown on the site's How to submit page: a two-layer multi-exit model leaving at the
first exit whose top probability reaches the threshold. Copy it to model/model.py."""

import torch
from torch import nn

HIDDEN, HEADS, FFN, LAYERS, VOCAB = 256, 4, 1024, 2, 30522


class Exit(nn.Module):
    def __init__(self, num_labels):
        super().__init__()
        self.pooler = nn.Linear(HIDDEN, HIDDEN)
        self.classifier = nn.Linear(HIDDEN, num_labels)

    def forward(self, hidden):
        return self.classifier(torch.tanh(self.pooler(hidden[:, 0])))


class MultiExit(nn.Module):
    def __init__(self, num_labels):
        super().__init__()
        self.words = nn.Embedding(VOCAB, HIDDEN)
        self.positions = nn.Embedding(512, HIDDEN)
        self.segments = nn.Embedding(2, HIDDEN)
        self.norm = nn.LayerNorm(HIDDEN)
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(HIDDEN, HEADS, FFN, batch_first=True)
            for _ in range(LAYERS))
        self.exits = nn.ModuleList(Exit(num_labels) for _ in range(LAYERS))

    def forward(self, input_ids, exit_layer=None, attention_mask=None, token_type_ids=None):
        """Logits of every exit passed (static: all layers, the last exit)."""
        padding = None if attention_mask is None else attention_mask == 0
        positions = torch.arange(input_ids.shape[1])
        segments = torch.zeros_like(input_ids) if token_type_ids is None else token_type_ids
        hidden = self.words(input_ids) + self.positions(positions) + self.segments(segments)
        hidden = self.norm(hidden)
        logits = []
        for k, layer in enumerate(self.layers[:exit_layer or LAYERS]):
            hidden = layer(hidden, src_key_padding_mask=padding)
            if exit_layer is not None or k == LAYERS - 1:
                logits.append(self.exits[k](hidden))
        return tuple(logits)


def build(num_labels):
    return MultiExit(num_labels)


def predict(model, input_ids, attention_mask, threshold, token_type_ids=None):
    logits = torch.stack(model(input_ids, LAYERS, attention_mask, token_type_ids))
    if threshold is None:
        return logits[-1].argmax(-1), torch.full((input_ids.shape[0],), LAYERS)
    confident = logits.softmax(-1).amax(-1) >= threshold
    confident[-1] = True  # everyone leaves at the last exit at the latest
    exits = confident.int().argmax(0)
    chosen = logits[exits, torch.arange(input_ids.shape[0])]
    return chosen.argmax(-1), exits + 1
