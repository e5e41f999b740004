"""Fuzzing the archive module: mutated zips are unpacked or refused with ``archive_*``
problems, never anything else (an ``OSError`` or ``OverflowError`` would be a 500 on the
API and the live check).

The mutations (``tests.evaluator.archive_mutations``, also posted to a live server by
``proof/fuzz.py``) hit the fields zipfile trusts. Bounded: a few hundred examples, a second
or two.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings

from evaluator.bundle.archive import unpack
from evaluator.bundle.archive_limits import ArchiveLimits
from evaluator.errors import SubmissionInvalid
from tests.evaluator.archive_mutations import SEEDS, mutated_zip

LIMITS = ArchiveLimits(max_members=20, max_total_bytes=4 * 1024 * 1024,
                       max_file_bytes=2 * 1024 * 1024)


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
