"""Measured efficiency in the API: on entry points, as rows (JSON and CSV), and the
hardware profiles with their measured reference."""

from __future__ import annotations

import csv
import io

import pytest

from leaderboard.models import Entry
from tests.measured import figures, measured_entry, profile, reference

pytestmark = pytest.mark.django_db


@pytest.fixture
def h200(seeded):
    return profile()


@pytest.fixture
def measured(h200):
    return measured_entry("Fast BERT", h200, [("0.5", 1500.0, 88.0, figures(3.0)),
                                              ("0.9", 3000.0, 91.0, figures(6.0, flagged=True))])


def test_an_entrys_points_carry_their_measurement(anon, measured):
    points = anon.get(f"/api/v1/entries/{measured.pk}/").json()["points"]
    first = next(p for p in points if p["name"] == "0.5")
    assert first["measurement"]["latency_p50_ms"] == 3.0
    assert first["measurement"]["profile"]["label"] == "NVIDIA H200 · fp32"
    assert first["measurement"]["energy_source"] == "nvml" and first["measurement_note"] == ""


def test_points_without_measurement_say_so(anon, seeded):
    entry = Entry.objects.get(name="HashEE")
    points = anon.get(f"/api/v1/entries/{entry.pk}/").json()["points"]
    assert all(p["measurement"] is None for p in points)


def test_measured_points_as_rows_and_csv(anon, measured, h200):
    rows = anon.get("/api/v1/measurements/", {"task": "sst-2"}).json()["results"]
    assert [(r["entry"], r["point"], r["latency_p50_ms"]) for r in rows] == [
        ("Fast BERT", "0.5", 3.0), ("Fast BERT", "0.9", 6.0)]
    assert rows[1]["flagged"] and rows[0]["profile"] == h200.key
    response = anon.get("/api/v1/measurements/", {"format": "csv", "profile": h200.key})
    assert response["Content-Type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["point"] for r in table] == ["0.5", "0.9"]
    assert {"hardware", "latency_p99_ms", "energy_j", "energy_note", "throughput",
            "peak_memory_mib", "latency_cv"} <= set(table[0])


def test_private_entries_stay_out_of_the_rows(anon, h200):
    measured_entry("Secret", h200, [("static", 900.0, 80.0, figures(2.0))],
                   visibility=Entry.Visibility.PRIVATE)
    assert anon.get("/api/v1/measurements/").json()["results"] == []


def test_a_bad_filter_is_a_clear_error(anon, seeded):
    response = anon.get("/api/v1/measurements/", {"task": "sst-9"})
    assert response.status_code == 400


def test_a_profile_carries_its_measured_reference(anon, h200):
    reference(h200)
    listed = anon.get("/api/v1/hardware/").json()["results"]
    assert [p["key"] for p in listed] == [h200.key]
    detail = anon.get(f"/api/v1/hardware/{h200.key}/").json()
    assert detail["device_name"] == "NVIDIA H200"
    assert [r["reference_layers"] for r in detail["reference"]] == list(range(1, 13))
    assert detail["reference"][11]["latency_p50_ms"] == 12.0
    assert anon.get("/api/v1/hardware/ffffffffffffffff/").status_code == 404
