"""Choosing the device a model runs on, and what of the host's GPU the sandbox sees, from
given lists of ``/dev/nvidia*`` nodes (no GPU is needed to test it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from evaluator.bundle.model_files import read_model
from evaluator.running import sandbox
from evaluator.running.custom_code import ModelRunOptions, model_policy
from evaluator.running.devices import (
    CUDA,
    Device,
    DeviceUnavailable,
    driver_library_paths,
    gpu_nodes,
    outside_system_dirs,
    select_device,
)
from evaluator.running.sandbox import SandboxPolicy, bwrap_arguments, limit_arguments
from tests.evaluator.custom_models import COST_EFF, multi_exit_model

EIGHT_GPUS = ["/dev/nvidia-caps", "/dev/nvidia-modeset", "/dev/nvidia-uvm",
              "/dev/nvidia-uvm-tools", "/dev/nvidiactl"] + [f"/dev/nvidia{i}" for i in range(8)]
LDCONFIG = """1234 libs found in cache `/etc/ld.so.cache'
	libcudart.so.12 (libc6,x86-64) => /usr/local/cuda/lib64/libcudart.so.12
	libcuda.so.1 (libc6,x86-64) => /usr/local/nvidia/lib64/libcuda.so.1
	libcuda.so.1 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcuda.so.1
	libc.so.6 (libc6,x86-64, OS ABI: Linux 3.2.0) => /lib/x86_64-linux-gnu/libc.so.6
"""


def test_auto_takes_the_gpu_when_its_nodes_are_there():
    device = select_device("auto", 3, EIGHT_GPUS)
    assert device.kind == CUDA and device.index == 3
    assert device.nodes == ("/dev/nvidiactl", "/dev/nvidia3", "/dev/nvidia-uvm",
                            "/dev/nvidia-uvm-tools")


def test_only_the_chosen_gpu_and_the_compute_nodes_are_bound():
    nodes = select_device("cuda", 0, EIGHT_GPUS).nodes
    assert "/dev/nvidia1" not in nodes and "/dev/nvidia7" not in nodes
    assert "/dev/nvidia-modeset" not in nodes and "/dev/nvidia-caps" not in nodes


def test_auto_falls_back_to_the_cpu_without_a_gpu():
    assert select_device("auto", 0, []) == Device()
    assert select_device("auto", 2, ["/dev/nvidiactl", "/dev/nvidia0", "/dev/nvidia-uvm"]
                         ).kind == "cpu"


def test_cpu_is_the_cpu_even_on_a_gpu_host():
    assert select_device("cpu", 0, EIGHT_GPUS) == Device()


def test_cuda_without_a_gpu_is_a_clear_error():
    with pytest.raises(DeviceUnavailable, match="needed /dev/nvidia0"):
        select_device("cuda", 0, ["/dev/nvidia0"])  # no control node, no unified memory
    with pytest.raises(DeviceUnavailable, match="device nodes found: none"):
        select_device("cuda", 0, [])


def test_an_unknown_device_setting_is_refused():
    with pytest.raises(ValueError, match="ELUE_DEVICE='gpu'"):
        select_device("gpu", 0, EIGHT_GPUS)


def test_the_tools_node_is_optional():
    assert gpu_nodes(0, ["/dev/nvidiactl", "/dev/nvidia0", "/dev/nvidia-uvm"]) == (
        "/dev/nvidiactl", "/dev/nvidia0", "/dev/nvidia-uvm")


def test_driver_libraries_outside_usr_are_found_in_the_ldconfig_cache():
    paths = driver_library_paths(LDCONFIG)
    assert paths == ["/usr/local/nvidia/lib64/libcuda.so.1",
                     "/usr/lib/x86_64-linux-gnu/libcuda.so.1"]
    # /usr/local is under /usr, which the sandbox already binds; a driver elsewhere is added.
    assert outside_system_dirs(paths) == ()
    assert outside_system_dirs(["/opt/nvidia/lib/libcuda.so.1"]) == ("/opt/nvidia/lib",)


def test_the_sandbox_binds_exactly_the_given_nodes(tmp_path):
    device = select_device("cuda", 1, EIGHT_GPUS, ["/opt/nvidia/lib"])
    args = bwrap_arguments(tmp_path, {}, root=True, devices=device.nodes,
                           library_dirs=device.library_dirs)
    bound = [args[i + 1] for i, a in enumerate(args) if a == "--dev-bind"]
    assert bound == ["/dev/nvidiactl", "/dev/nvidia1", "/dev/nvidia-uvm",
                     "/dev/nvidia-uvm-tools"]
    assert args.index("--dev-bind") > args.index("--dev")  # on top of the minimal /dev
    assert args[args.index("/opt/nvidia/lib") - 1] == "--ro-bind"
    assert "--unshare-net" in args


def test_a_gpu_run_bounds_the_data_segment_not_the_address_space():
    assert any(a.startswith("--as=") for a in limit_arguments(SandboxPolicy()))
    gpu = limit_arguments(SandboxPolicy(memory_mib=2048, devices=("/dev/nvidia0",)))
    assert f"--data={2048 * 1024 * 1024}" in gpu and not any(a.startswith("--as=") for a in gpu)


def test_runs_get_the_gpu_and_counting_does_not(tmp_path):
    folder = multi_exit_model(tmp_path / "model", COST_EFF)
    model, _ = read_model(folder, sorted(p.name for p in folder.iterdir()), "model")
    options = ModelRunOptions(device=select_device("cuda", 5, EIGHT_GPUS))
    running = model_policy(model, options, on_device=True)
    assert running.devices == ("/dev/nvidiactl", "/dev/nvidia5", "/dev/nvidia-uvm",
                               "/dev/nvidia-uvm-tools")
    assert dict(running.environment)["CUDA_VISIBLE_DEVICES"] == "5"
    assert model_policy(model, options, on_device=False).devices == ()
    assert not running.allow_unsandboxed  # custom code: never without the sandbox


@pytest.mark.slow
def test_a_bound_node_is_the_only_extra_device_inside_a_real_sandbox(tmp_path):
    available, why = sandbox.sandbox_available()
    if not available:
        pytest.fail(f"this test needs a host that can sandbox code: {why}")
    # Real character devices of this host that bubblewrap's minimal /dev does not have.
    given, withheld = "/dev/loop-control", "/dev/kvm"
    assert Path(given).exists() and Path(withheld).exists()
    policy = SandboxPolicy(devices=(given,), environment=(("CUDA_VISIBLE_DEVICES", "0"),))
    command, _, _ = sandbox.sandbox_command(
        ["-c", "import os; print(os.path.exists('/dev/loop-control'), "
               "os.path.exists('/dev/kvm'), os.environ['CUDA_VISIBLE_DEVICES'])"],
        tmp_path, {}, policy)
    done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "False", "0"]
    assert sys.executable in command
