"""The command line, run as real subprocesses against the fake server: SIGTERM, simulate, errors."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import agents
from tests.agents.helpers import FakeServer

REPO = Path(agents.__file__).resolve().parent.parent
A100 = "NVIDIA A100-SXM4-80GB:2"


def agent_process(*args: str) -> subprocess.Popen:
    env = {key: value for key, value in os.environ.items() if not key.startswith("TIDEGRID_")}
    env["PYTHONPATH"] = str(REPO)
    return subprocess.Popen([sys.executable, "-m", "agents", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(process: subprocess.Popen, timeout: float = 20.0) -> tuple[int, str]:
    output, _ = process.communicate(timeout=timeout)
    return process.returncode, output


def test_sigterm_stops_the_agent_promptly_and_cleanly(tmp_path):
    with FakeServer() as server:
        process = agent_process("--server", server.url, "--token", "tgb_cli", "--devices", "simulated",
                                "--simulate-model", A100, "--runtime", "process", "--state-dir", str(tmp_path),
                                "--hostname", "gpu-node-07", "--interval", "0.05", "--grace", "5")
        try:
            assignment = "5e5e5e5e-1234-4abc-8def-0123456789ab"
            with server.cond:
                server.starts[assignment] = {"command": [sys.executable, "-c", "import time; time.sleep(600)"],
                                             "device_indices": [0], "compute_milli": 1000, "memory_mib": 81920,
                                             "workload_kind": "batch"}
            assert server.wait_for(lambda: "running" in server.assignment_states(assignment), timeout=20)
            process.send_signal(signal.SIGTERM)
            code, output = finish(process)
        finally:
            if process.poll() is None:
                process.kill()
    assert code == 0, output
    assert "received SIGTERM" in output and "stopped" in output
    # The running workload was stopped, and the final report said so.
    assert server.final[assignment]["state"] == "stopped"
    seqs = server.accepted_seqs()
    assert seqs == list(range(1, len(seqs) + 1))
    assert stat.S_IMODE((tmp_path / "state.json").stat().st_mode) == 0o600


def test_simulate_runs_many_nodes_with_one_fleet_token(tmp_path):
    with FakeServer() as server:
        process = agent_process("simulate", "--server", server.url, "--token", "tgb_fleet", "--nodes", "3",
                                "--devices", "NVIDIA H100 80GB HBM3:8", "Ascend910B3:2", "--interval", "0.05",
                                "--runtime", "noop", "--state-dir", str(tmp_path), "--no-fsync", "--seed", "1")
        try:
            assert server.wait_for(lambda: len({r["node_id"] for r in server.accepted}) == 3
                                   and len(server.accepted) >= 9, timeout=20)
            process.send_signal(signal.SIGINT)
            code, output = finish(process)
        finally:
            if process.poll() is None:
                process.kill()
    assert code == 0, output
    assert sorted(e["hostname"] for e in server.enrollments) == ["sim-node-001", "sim-node-002", "sim-node-003"]
    assert all(len(e["devices"]) == 10 and e["runtime"] == "noop" for e in server.enrollments)
    for node_id in {r["node_id"] for r in server.accepted}:
        seqs = server.accepted_seqs(node_id)
        assert seqs == list(range(1, len(seqs) + 1))  # each node its own seq
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim-node-001", "sim-node-002", "sim-node-003"]


def test_simulate_refuses_too_few_tokens(tmp_path):
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("tgb_one\n# a comment\ntgb_two\n")
    code, output = finish(agent_process("simulate", "--server", "http://127.0.0.1:9", "--tokens-file", str(tokens),
                                        "--nodes", "3", "--devices", A100, "--state-dir", str(tmp_path)))
    assert code == 2 and "2 tokens for 3 nodes" in output


def test_a_refused_token_exits_non_zero(tmp_path):
    with FakeServer() as server:
        code, output = finish(agent_process("--server", server.url, "--token", "wrong", "--devices", "simulated",
                                            "--simulate-model", A100, "--state-dir", str(tmp_path)))
    assert code == 3
    assert "bootstrap token is unknown" in output


def test_nvml_without_a_driver_says_so(tmp_path):
    pynvml = pytest.importorskip("pynvml")
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:
        pass
    else:  # pragma: no cover - only on a GPU host
        pynvml.nvmlShutdown()
        pytest.skip("this host has an NVIDIA driver")
    code, output = finish(agent_process("--server", "http://127.0.0.1:9", "--token", "tgb_x", "--devices", "nvml",
                                        "--state-dir", str(tmp_path)))
    assert code == 1
    assert "NVML library not found" in output


def test_simulated_devices_need_a_model(tmp_path):
    code, output = finish(agent_process("--server", "http://127.0.0.1:9", "--devices", "simulated",
                                        "--state-dir", str(tmp_path)))
    assert code == 1 and "--simulate-model" in output


def test_the_kubernetes_runtime_without_a_usable_kubeconfig_says_so(tmp_path):
    code, output = finish(agent_process("--server", "http://127.0.0.1:9", "--token", "tgb_x", "--devices", "simulated",
                                        "--simulate-model", A100, "--runtime", "kubernetes", "--kubeconfig",
                                        str(tmp_path / "missing-kubeconfig"), "--state-dir", str(tmp_path)))
    assert code == 1
    assert "cannot start the agent" in output


def test_an_instance_reports_endpoints_on_the_connect_host(tmp_path):
    with FakeServer() as server:
        process = agent_process("--server", server.url, "--token", "tgb_cli", "--devices", "simulated",
                                "--simulate-model", A100, "--runtime", "process", "--state-dir", str(tmp_path),
                                "--hostname", "gpu-node-07", "--connect-host", "gpu07.provider.example.cn",
                                "--interval", "0.05", "--grace", "5")
        try:
            assignment = "6e6e6e6e-1234-4abc-8def-0123456789ab"
            with server.cond:
                server.starts[assignment] = {"device_indices": [0], "compute_milli": 1000, "memory_mib": 81920,
                                             "workload_kind": "instance"}

            def connection():
                reported = [a for r in server.accepted for a in r["assignments"]
                            if a["id"] == assignment and a["state"] == "running"]
                return reported[-1]["connection"] if reported else None

            assert server.wait_for(connection, timeout=20)
            process.send_signal(signal.SIGTERM)
            code, output = finish(process)
        finally:
            if process.poll() is None:
                process.kill()
    assert code == 0, output
    endpoints = connection()
    assert endpoints["ssh"] == "ssh -p 22001 tidegrid@gpu07.provider.example.cn"
    assert endpoints["jupyter"].startswith("http://gpu07.provider.example.cn:28001/lab?token=")
