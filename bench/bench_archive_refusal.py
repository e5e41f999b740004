"""What a zip of many empty entries costs the web process: before and after the
end-of-central-directory check.

    .venv/bin/python bench/bench_archive_refusal.py [--entries 1000000]

Writes a zip of ``--entries`` empty members (1,000,000: about 47 MB on disk, a small upload)
and measures, each in a fresh child process (time and peak resident memory of the child):

- ``zipfile``: what the upload check did before (``zipfile.ZipFile(...).infolist()``, the
  whole central directory parsed before the member limit could be checked);
- ``unpack``: ``evaluator.bundle.archive.unpack`` now, refused by the end record's counts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[1]

MEASURE = """
import json, resource, sys, time, zipfile
from pathlib import Path
sys.path.insert(0, {repo!r})
from evaluator.bundle.archive import unpack
from evaluator.errors import SubmissionInvalid
upload, scratch = Path({upload!r}), Path({scratch!r})
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
started = time.perf_counter()
if {how!r} == "zipfile":
    with zipfile.ZipFile(upload) as archive:
        outcome = f"{{len(archive.infolist()):,}} entries parsed"
else:
    try:
        unpack(upload, scratch)
        outcome = "unpacked"
    except SubmissionInvalid as refusal:
        outcome = refusal.problems[0].message
seconds = time.perf_counter() - started
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": seconds, "extra_mib": (after - before) / 1024,
                   "outcome": outcome}}))
"""


def write_zip(path: Path, entries: int) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for i in range(entries):
            archive.writestr(f"e{i}", b"")


def measure(how: str, upload: Path, scratch: Path) -> dict:
    code = MEASURE.format(repo=str(REPO_DIR), upload=str(upload), scratch=str(scratch),
                          how=how)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="elue-bench-zip-") as folder:
        upload = Path(folder) / "many.zip"
        write_zip(upload, args.entries)
        print(f"{args.entries:,} empty entries: {upload.stat().st_size / 1e6:.1f} MB")
        for how in ("zipfile", "unpack"):
            result = measure(how, upload, Path(folder) / f"scratch-{how}")
            print(f"{how:8} {result['seconds']:7.3f} s  +{result['extra_mib']:6.1f} MiB  "
                  f"{result['outcome']}")


if __name__ == "__main__":
    main()
