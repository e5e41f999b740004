"""The leaderboard tests' shared actors: ``probe``, one public scored entry."""

from __future__ import annotations

import pytest

from leaderboard.models import Basis, Entry, OperatingPoint, Task
from leaderboard.scoring import score_entry


@pytest.fixture
def probe(seeded, alice) -> Entry:
    """A public entry of alice's with one scored point on SST-2."""
    entry = Entry.objects.create(owner=alice, name="Probe", kind=Entry.Kind.DECLARED)
    OperatingPoint.objects.create(entry=entry, task=Task.objects.get(slug="sst-2"), name="p",
                                  mflops=1500.0, performance=88.8, mparams=40.0,
                                  mflops_basis=Basis.DECLARED)
    score_entry(entry, seeded)
    return entry
