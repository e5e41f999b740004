"""Builders for submission files and archives, made from the real ELUE test sets."""

from __future__ import annotations

import json
import struct
import zipfile
from functools import cache
from pathlib import Path

from evaluator.benchmark import TASKS
from evaluator.data import load_test_set
from tests.conftest import ELUE_DATA_DIR

PREDICTION_HEADER = "index\tprediction"
EXIT_LAYER_HEADER = "index\texit_layer"


@cache
def true_labels(slug: str) -> tuple[str, ...]:
    """The hidden labels of a real test set (read once per test run)."""
    return tuple(load_test_set(ELUE_DATA_DIR, TASKS[slug]).labels)


def tsv(header: str, values: list | tuple, newline: str = "\n") -> str:
    """A prediction or exit-layer file: ``header`` then ``index<TAB>value`` rows."""
    rows = [header] + [f"{i}\t{v}" for i, v in enumerate(values)]
    return newline.join(rows) + newline


def predictions(slug: str) -> str:
    """A perfect prediction file for a real task (its own labels)."""
    return tsv(PREDICTION_HEADER, true_labels(slug))


def exit_layers(slug: str, layers: int = 12) -> str:
    return tsv(EXIT_LAYER_HEADER, [i % layers + 1 for i in range(len(true_labels(slug)))])


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def declared_folder(folder: Path, slugs: tuple[str, ...] = ("sst-2", "mrpc"),
                    mflops: float = 2000.0) -> Path:
    """A declared-cost bundle (SPEC §2 kind 2) in ``folder``: perfect predictions on ``slugs``
    and ``costs.json`` with ``mflops`` and 50 MParams for each."""
    for slug in slugs:
        write(folder, f"{slug}.tsv", predictions(slug))
    write(folder, "costs.json", json.dumps({s: {"mflops": mflops, "mparams": 50.0}
                                            for s in slugs}))
    return folder


def zip_folder(folder: Path, target: Path, keep_folder: bool = True) -> Path:
    """Zip ``folder`` as a person would: with the folder itself as the top-level entry."""
    base = folder.parent if keep_folder else folder
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            archive.write(path, path.relative_to(base).as_posix())
    return target


def with_bad_header_offset(upload: Path) -> Path:
    """The zip with its end record's directory offset moved 1,000 bytes past the truth:
    zipfile then looks for the first member's local header before the file starts."""
    data = bytearray(upload.read_bytes())
    at = data.rfind(b"PK\x05\x06") + 16
    struct.pack_into("<I", data, at, struct.unpack_from("<I", data, at)[0] + 1000)
    upload.write_bytes(data)
    return upload


def zip_of_empty_entries(target: Path, count: int) -> Path:
    """A zip of ``count`` empty entries: a large central directory in a small upload."""
    with zipfile.ZipFile(target, "w") as archive:
        for i in range(count):
            archive.writestr(f"e{i}", b"")
    return target


def zip_entries(target: Path, entries: dict[str, bytes | str],
                compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(target, "w", compression) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return target
