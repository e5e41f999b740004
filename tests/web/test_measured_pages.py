"""Measured efficiency where people look: the entry page lists each point's figures with
its hardware; the task chart has latency and energy axes per hardware profile, each with
that profile's measured reference, never mixing profiles."""

from __future__ import annotations

import pytest

from leaderboard.charts import FRONT_NAME, REFERENCE_NAME
from leaderboard.models import OperatingPoint, ReferenceVersion
from tests.measured import figures, measured_entry, profile, reference
from tests.web.test_task_pages import figures as chart_figures

pytestmark = pytest.mark.django_db


def seeded_version():
    return ReferenceVersion.objects.current()


def h200_reference_performance(version) -> list[tuple[int, float]]:
    return list(version.points.filter(task__slug="sst-2").values_list("layers", "performance"))
MEASURED_REFERENCE = f"{REFERENCE_NAME}, measured"


@pytest.fixture
def h200(seeded):
    return profile()


def test_the_entry_page_lists_measured_figures_with_the_hardware(client, h200):
    entry = measured_entry("Fast BERT", h200, [
        ("0.5", 1500.0, 88.0, figures(3.0)),
        ("0.9", 3000.0, 91.0, figures(6.0, energy=None, flagged=True, latency_cv=0.08))])
    html = client.get(f"/entries/{entry.pk}/").content.decode()
    assert "Measured efficiency" in html and "NVIDIA H200 · fp32" in html
    assert "3.00 / 4.50 / 6.00" in html  # p50 / p90 / p99 in ms
    assert "NVML, idle subtracted" in html and "0.5000" in html
    assert "not measured<br><small class=\"muted\">this host exposes no RAPL" in html
    assert "8.0% / 2.0% / –" in html and "variable: a CV above 5%" in html


def test_a_point_the_platform_could_not_measure_says_why(client, h200):
    entry = measured_entry("Fast BERT", h200, [("0.5", 1500.0, 88.0, figures(3.0))])
    OperatingPoint.objects.create(entry=entry, task=entry.points.get().task, name="0.9",
                                  mflops=3000.0, performance=90.0, mflops_basis="counted",
                                  measurement_note="measuring the model failed: exceeded the "
                                                   "wall time of 600 s and was stopped")
    html = client.get(f"/entries/{entry.pk}/").content.decode()
    assert "not measured: measuring the model failed: exceeded the wall time" in html


def test_entries_without_measurements_show_no_measured_table(client, seeded):
    from leaderboard.models import Entry

    html = client.get(f"/entries/{Entry.objects.get(name='HashEE').pk}/").content.decode()
    assert "Measured efficiency" not in html


def test_the_task_chart_has_latency_and_energy_per_profile(client, h200):
    reference(h200)
    measured_entry("Fast BERT", h200, [("0.5", 1500.0, 88.0, figures(3.0)),
                                       ("0.9", 3000.0, 91.0, figures(6.0))])
    html = client.get("/tasks/sst-2/").content.decode()
    views = chart_figures(html)["measured"][h200.key]
    assert views["label"] == "NVIDIA H200 · fp32" and 'data-axis="latency"' in html
    latency = {t["name"]: t for t in views["latency"]["data"]}
    assert latency["Fast BERT"]["x"] == [3.0, 6.0] and latency["Fast BERT"]["y"] == [88.0, 91.0]
    # Each depth the reference curve has a performance for, at its latency on this profile.
    depths = dict(h200_reference_performance(seeded_version()))
    assert latency[MEASURED_REFERENCE]["x"] == [float(k) for k in sorted(depths)]
    assert latency[MEASURED_REFERENCE]["y"] == [depths[k] for k in sorted(depths)]
    assert FRONT_NAME in latency
    assert views["latency"]["layout"]["xaxis"]["title"]["text"].startswith("Latency")
    energy = {t["name"]: t for t in views["energy"]["data"]}
    assert energy["Fast BERT"]["x"] == [0.5, 0.5]
    assert energy[MEASURED_REFERENCE]["x"] == pytest.approx([0.1 * k for k in sorted(depths)])


def test_profiles_are_never_mixed_on_one_chart(client, h200):
    cpu = profile("fedcba9876543210", "AMD EPYC 9654 · 1 thread · fp32", device="cpu")
    measured_entry("On the GPU", h200, [("static", 1500.0, 88.0, figures(3.0))])
    measured_entry("On the CPU", cpu, [("static", 1500.0, 86.0, figures(40.0, energy=None))])
    measured = chart_figures(client.get("/tasks/sst-2/").content.decode())["measured"]
    assert [t["name"] for t in measured[h200.key]["latency"]["data"]
            if t["name"] not in (FRONT_NAME,)] == ["On the GPU"]
    assert [t["name"] for t in measured[cpu.key]["latency"]["data"]
            if t["name"] != FRONT_NAME] == ["On the CPU"]
    assert measured[cpu.key]["energy"] is None  # no counter on that CPU: no energy chart


def test_a_measurement_that_disagrees_with_its_point_is_not_charted(client, h200):
    measured_entry("Fast BERT", h200, [("static", 1500.0, 88.0, figures(3.0))])
    measured_entry("Too fast", h200, [("static", 100.0, 90.0, figures(0.1, agreement=51.0))])
    latency = chart_figures(client.get("/tasks/sst-2/").content.decode())[
        "measured"][h200.key]["latency"]
    assert "Too fast" not in [t["name"] for t in latency["data"]]


def test_without_measurements_the_chart_offers_no_measured_axis(client, seeded):
    html = client.get("/tasks/sst-2/").content.decode()
    assert chart_figures(html)["measured"] == {} and 'data-axis="latency"' not in html
