"""The hardware profile: what it records, its stable key, and how it is named."""

from __future__ import annotations

from dataclasses import replace

import torch

from evaluator.measure import hardware, nvml
from evaluator.measure.hardware import HardwareProfile, cpu_model, detect_profile
from evaluator.running.devices import CUDA, Device

X86 = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R)  Gold 6338\n"
ARM = "processor\t: 0\nBogoMIPS\t: 50.00\nCPU implementer\t: 0x41\n"
H200 = HardwareProfile("cuda", "NVIDIA H200", "570.86.15", "12.8 / 12.8", "AMD EPYC 9654", 1,
                       "2.13.0", "fp32", "elue-measure/1 single-stream n=1000 warmup=50 reps=3")


def test_it_reads_the_cpu_model():
    assert cpu_model(X86) == "Intel(R) Xeon(R) Gold 6338"
    assert cpu_model(ARM) == "unknown CPU"


def test_the_key_is_stable_and_covers_every_field():
    assert H200.key == replace(H200).key and len(H200.key) == 16
    for change in ({"dtype": "bf16"}, {"threads": 2}, {"driver_version": "575.0"},
                   {"protocol": "elue-measure/1 single-stream n=200 warmup=50 reps=3"}):
        assert replace(H200, **change).key != H200.key, change


def test_labels_name_the_hardware():
    assert H200.label == ("NVIDIA H200 · fp32 · driver 570.86.15, CUDA 12.8 / 12.8 · "
                          "torch 2.13.0")
    cpu = replace(H200, device="cpu", device_name="AMD EPYC 9654", threads=2)
    assert cpu.label == "AMD EPYC 9654 · 2 threads · fp32 · torch 2.13.0"
    assert H200.as_dict()["key"] == H200.key


def test_a_cpu_profile_of_this_host(monkeypatch):
    monkeypatch.setattr(hardware, "host_cpu_model", lambda: "Test CPU 9000")
    profile = detect_profile(Device(), 2, "bf16", "elue-measure/1 x")
    assert (profile.device, profile.device_name, profile.threads, profile.dtype) == (
        "cpu", "Test CPU 9000", 2, "bf16")
    assert profile.torch_version == torch.__version__ and profile.cuda_version == ""


def test_a_gpu_profile_comes_from_nvml(monkeypatch):
    monkeypatch.setattr(nvml, "gpu_info", lambda index: nvml.GpuInfo(f"NVIDIA H200 #{index}",
                                                                      "570.86.15", "12.8"))
    profile = detect_profile(Device(CUDA, 1, ("/dev/nvidia1",)), 1, "fp32", "p")
    assert (profile.device, profile.device_name, profile.driver_version) == (
        "cuda", "NVIDIA H200 #1", "570.86.15")
    assert profile.cuda_version.endswith("/ 12.8")


def test_a_gpu_nvml_cannot_name_gets_a_profile_of_its_own(monkeypatch):
    def unavailable(index):
        raise nvml.NvmlUnavailable("no NVML")
    monkeypatch.setattr(nvml, "gpu_info", unavailable)
    profile = detect_profile(Device(CUDA, 0, ("/dev/nvidia0",)), 1, "fp32", "p")
    assert profile.device_name == "unidentified NVIDIA GPU"
