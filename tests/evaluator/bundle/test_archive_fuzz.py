"""Fuzzing the archive module: mutated zips are unpacked or refused with ``archive_*``
problems, never anything else (an ``OSError`` or ``OverflowError`` would be a 500 on the
API and the live check).

Mutations start from real zips (stored, deflated, with folders, ZIP64 extras) and hit the
fields that zipfile trusts: each header's sizes, offsets, counts, name lengths and flags are
overwritten with extreme or random values, bytes are flipped, cut out or inserted, and the
file is truncated. Bounded: a few hundred examples, a second or two.
"""

from __future__ import annotations

import io
import os
import zipfile

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evaluator.bundle.archive import ArchiveLimits, unpack
from evaluator.errors import SubmissionInvalid

SIGNATURES = (b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07")
EXTREMES = (b"\x00", b"\xff", b"\x7f", b"\x80")
LIMITS = ArchiveLimits(max_members=20, max_total_bytes=4 * 1024 * 1024,
                       max_file_bytes=2 * 1024 * 1024)


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


@settings(max_examples=400, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=mutated_zip())
def test_a_mutated_zip_is_unpacked_or_refused_as_an_archive_problem(tmp_path, data):
    upload = tmp_path / "up.zip"
    upload.write_bytes(data)
    scratch = tmp_path / f"scratch-{os.urandom(4).hex()}"
    try:
        root = unpack(upload, scratch, LIMITS)
    except SubmissionInvalid as refusal:
        assert refusal.problems and all(p.message for p in refusal.problems)
        assert all(p.code.startswith("archive_") or p.code == "too_many_problems"
                   for p in refusal.problems), refusal.problems
        assert list(scratch.iterdir()) == []
        return
    assert root.is_relative_to(scratch)
    for path in scratch.rglob("*"):
        assert not path.is_symlink() and path.resolve().is_relative_to(scratch.resolve())


def test_the_seeds_themselves_unpack(tmp_path):
    for index, data in enumerate(SEEDS):
        upload = tmp_path / f"seed-{index}.zip"
        upload.write_bytes(data)
        root = unpack(upload, tmp_path / f"scratch-{index}", LIMITS)
        assert (root / "sst-2.tsv").is_file() and (root / "out" / "mrpc.tsv").is_file()
