"""The sandbox side of a measurement: the model answers one request at a time on the
process's standard input and output (``evaluator.running.sandboxed.wire``), while the host
(``evaluator.measure.session``) holds the clock.

A serve job is a run job without inputs: the examples arrive one request at a time, so the
model cannot see them before the host starts timing::

    {"action": "serve", "model_dir": "/submission", "custom": false, "num_labels": 2,
     "regression": false, "thresholds": [null], "pad_id": 0, "device": "cuda", "dtype": "fp32"}

Before the model is loaded the protocol's streams are moved out of the way: standard input
becomes /dev/null and standard output a copy of standard error, so that ``print`` in
``model.py`` cannot corrupt a frame.
"""

from __future__ import annotations

import os
from typing import BinaryIO

import torch

from evaluator.running.batching import predict_batch
from evaluator.running.sandboxed import wire
from evaluator.running.sandboxed.jobs import load_model, model_step


def protocol_streams() -> tuple[BinaryIO, BinaryIO]:
    """The host's request and reply streams, taken off file descriptors 0 and 1."""
    requests = os.fdopen(os.dup(0), "rb", buffering=0)
    replies = os.fdopen(os.dup(1), "wb", buffering=0)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    return requests, replies


def serve(job: dict) -> None:
    """Load the model, say ``READY``, then answer requests until ``QUIT`` or end of input."""
    requests, replies = protocol_streams()
    module, model = load_model(job)
    steps = [model_step(job, module, model, t) for t in job["thresholds"]]
    device = job.get("device", "cpu")
    replies.write(wire.READY)
    read = wire.exactly(requests.read)
    while True:
        try:
            kind, point, sequences = wire.read_request(read)
        except EOFError:
            return
        if kind == wire.QUIT:
            return
        replies.write(answer(kind, point, sequences, steps, job["pad_id"], device))


def answer(kind: int, point: int, sequences, steps, pad_id: int, device: str) -> bytes:
    """The reply to one request."""
    cuda = device.startswith("cuda")
    if kind == wire.PREDICT:
        with torch.inference_mode():
            labels, exits = predict_batch(steps[point], sequences, pad_id, device)
        return wire.predictions_reply(labels, exits)
    if kind == wire.RESET_PEAK:
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        return b"\x00"
    if kind == wire.PEAK:
        return wire.peak_reply(torch.cuda.max_memory_allocated() if cuda else -1)
    raise wire.ProtocolError(f"unknown request kind {kind}")
