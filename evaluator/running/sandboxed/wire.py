"""The frames a served model and the host exchange over the sandbox's standard input and
output (``evaluator.running.sandboxed.serve`` inside, ``evaluator.measure.session`` outside).

Little-endian, no pickle. A request starts with one kind byte:

- ``PREDICT``: point index (u32), example count ``n`` (u32), ``n`` lengths (u32), then the
  token ids of every example one after another (i32). The reply: ``n`` labels (f64) and ``n``
  exit layers (i32, ``-1`` for a static model).
- ``RESET_PEAK``: the reply is one zero byte once the device's peak-memory counter is reset.
- ``PEAK``: the reply is the device allocator's peak in bytes (i64; ``-1`` on a CPU).
- ``QUIT``: no reply.

The first reply of a session, ``READY`` (one byte), says the model is loaded.

    >>> frame = predict_request(0, [np.array([101, 7, 102])])
    >>> read_request(io.BytesIO(frame).read)
    (1, 0, [array([101,   7, 102], dtype=int32)])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

QUIT, PREDICT, RESET_PEAK, PEAK = 0, 1, 2, 3
READY = b"\x01"
NO_EXIT = -1
MAX_EXAMPLES = 1 << 20
Read = Callable[[int], bytes]  # exactly n bytes, or EOFError


class ProtocolError(Exception):
    """A frame that does not follow this module's format."""


def exactly(read: Callable[[int], bytes]) -> Read:
    """A reader that returns exactly ``n`` bytes from a stream's ``read`` or raises
    ``EOFError`` (a stream may return fewer bytes than asked)."""
    def read_exactly(n: int) -> bytes:
        chunks, left = [], n
        while left:
            chunk = read(left)
            if not chunk:
                raise EOFError(f"the stream ended {left} bytes short of a frame")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    return read_exactly


def predict_request(point: int, sequences: Sequence[np.ndarray]) -> bytes:
    lengths = np.array([len(s) for s in sequences], dtype="<u4")
    ids = np.concatenate([np.asarray(s, dtype="<i4") for s in sequences]) if len(sequences) \
        else np.zeros(0, dtype="<i4")
    header = np.array([point, len(sequences)], dtype="<u4")
    return bytes([PREDICT]) + header.tobytes() + lengths.tobytes() + ids.tobytes()


def read_request(read: Read) -> tuple[int, int, list[np.ndarray]]:
    """``(kind, point, sequences)``; ``point`` and ``sequences`` only for ``PREDICT``."""
    kind = read(1)[0]
    if kind != PREDICT:
        return kind, 0, []
    point, count = (int(v) for v in np.frombuffer(read(8), dtype="<u4"))
    if count > MAX_EXAMPLES:
        raise ProtocolError(f"{count} examples in one request")
    lengths = np.frombuffer(read(4 * count), dtype="<u4").astype(np.int64)
    ids = np.frombuffer(read(4 * int(lengths.sum())), dtype="<i4")
    ends = np.cumsum(lengths)
    return kind, point, [ids[end - n:end] for n, end in zip(lengths, ends, strict=True)]


def predictions_reply(labels: np.ndarray, exits: np.ndarray | None) -> bytes:
    exits = np.full(len(labels), NO_EXIT) if exits is None else exits
    return (np.asarray(labels, dtype="<f8").tobytes()
            + np.asarray(exits, dtype="<i4").tobytes())


def read_predictions(read: Read, count: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The labels and exit layers (``None`` when the model gave none) of ``count`` examples."""
    labels = np.frombuffer(read(8 * count), dtype="<f8")
    exits = np.frombuffer(read(4 * count), dtype="<i4")
    return labels, (None if count and bool((exits == NO_EXIT).all()) else exits.astype(np.int64))


def peak_reply(peak_bytes: int) -> bytes:
    return np.array([peak_bytes], dtype="<i8").tobytes()


def read_peak(read: Read) -> int:
    return int(np.frombuffer(read(8), dtype="<i8")[0])
