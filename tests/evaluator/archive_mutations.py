"""Hypothesis strategies for hostile zips: real zips (stored, deflated, with folders, ZIP64
records) whose header fields zipfile trusts (sizes, offsets, counts, name lengths, flags) are
overwritten with extreme or random values, with bytes flipped, cut out or inserted, and the
file truncated. Used by the archive fuzz test and by ``proof/fuzz.py``."""

from __future__ import annotations

import io
import zipfile

from hypothesis import strategies as st

SIGNATURES = (b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07")
EXTREMES = (b"\x00", b"\xff", b"\x7f", b"\x80")


def seed_zip(kind: int) -> bytes:
    buffer = io.BytesIO()
    compression = zipfile.ZIP_STORED if kind == 0 else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        archive.writestr("sst-2.tsv", "index\tprediction\n" + "".join(
            f"{i}\t{i % 2}\n" for i in range(200)))
        archive.writestr("out/mrpc.tsv", "index\tprediction\n0\t1\n")
        if kind == 2:  # forced ZIP64 records for a small member
            with archive.open("costs.json", "w", force_zip64=True) as handle:
                handle.write(b'{"sst-2": {"mflops": 1, "mparams": 1}}')
        archive.mkdir("empty")
    return buffer.getvalue()


SEEDS = [seed_zip(kind) for kind in range(3)]


def header_positions(data: bytes) -> list[int]:
    return [i for signature in SIGNATURES for i in _all(data, signature)]


def _all(data: bytes, needle: bytes) -> list[int]:
    found, at = [], data.find(needle)
    while at != -1:
        found.append(at)
        at = data.find(needle, at + 1)
    return found


@st.composite
def mutated_zip(draw) -> bytes:
    data = bytearray(SEEDS[draw(st.integers(0, len(SEEDS) - 1))])
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["field", "byte", "cut", "insert", "truncate"]))
        if kind == "field":  # an integer field inside a header: sizes, offsets, counts
            start = draw(st.sampled_from(header_positions(data) or [0]))
            at = min(start + draw(st.integers(4, 40)), max(0, len(data) - 8))
            width = draw(st.sampled_from([2, 4, 8]))
            fill = draw(st.one_of(st.sampled_from([b * width for b in EXTREMES]),
                                  st.binary(min_size=width, max_size=width)))
            data[at:at + width] = fill[:max(0, len(data) - at)]
        elif kind == "byte" and data:
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        elif kind == "cut" and data:
            at = draw(st.integers(0, len(data) - 1))
            del data[at:at + draw(st.integers(1, 64))]
        elif kind == "insert":
            at = draw(st.integers(0, len(data)))
            data[at:at] = draw(st.binary(min_size=1, max_size=64))
        elif kind == "truncate" and data:
            del data[draw(st.integers(0, len(data) - 1)):]
    return bytes(data)
