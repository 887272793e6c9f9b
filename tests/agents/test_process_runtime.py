"""The process runtime runs real local processes: exit codes, environment, log tail, stop, recovery."""

from __future__ import annotations

import os
import signal
import sys

from agents.runtimes.process import ProcessRuntime, process_identity
from tests.agents.helpers import wait_until

A1 = "11111111-1111-4111-8111-111111111111"
A2 = "22222222-2222-4222-8222-222222222222"


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def final_status(runtime, assignment_id, timeout=15.0):
    found = {}

    def done():
        for status in runtime.poll():
            if status.id == assignment_id and status.is_final:
                found["status"] = status
                return True
        return False

    assert wait_until(done, timeout=timeout), f"{assignment_id} did not finish"
    return found["status"]


def test_a_command_that_succeeds_reports_exit_zero_and_its_output(tmp_path):
    runtime = ProcessRuntime(state_dir=tmp_path, hostname="gpu-node-07")
    runtime.start(A1, {"command": python("print('hello from the workload')"), "device_indices": [0]})
    assert runtime.knows(A1)
    first = runtime.poll()[0]
    assert first.state in ("running", "succeeded")  # a fast child may be done already
    status = final_status(runtime, A1)
    assert (status.state, status.exit_code) == ("succeeded", 0)
    assert "hello from the workload" in status.log_tail
    assert status.started_at <= status.finished_at


def test_a_failing_command_reports_its_exit_code_and_stderr(tmp_path):
    runtime = ProcessRuntime(state_dir=tmp_path)
    runtime.start(A1, {"command": python("import sys; sys.stderr.write('boom\\n'); sys.exit(3)")})
    status = final_status(runtime, A1)
    assert (status.state, status.exit_code) == ("failed", 3)
    assert "boom" in status.log_tail


def test_the_workload_environment_follows_the_protocol(tmp_path, monkeypatch):
    monkeypatch.setenv("TIDEGRID_TOKEN", "tgb_must_not_leak")
    runtime = ProcessRuntime(state_dir=tmp_path, vendor="nvidia")
    spec = {"command": python("import os, json; print(json.dumps(dict(os.environ)))"),
            "env": {"EPOCHS": "3", "CUDA_VISIBLE_DEVICES": "0,1,2,3,4,5,6,7"},
            "device_indices": [2], "device_uuids": ["GPU-x"], "compute_milli": 250, "memory_mib": 10240,
            "profile": None, "workload_kind": "batch"}
    runtime.start(A1, spec)
    status = final_status(runtime, A1)
    import json

    env = json.loads(status.log_tail.strip().splitlines()[-1])
    assert env["EPOCHS"] == "3"
    assert env["CUDA_VISIBLE_DEVICES"] == "2"  # the spec cannot widen its own device set
    assert env["TIDEGRID_ASSIGNMENT_ID"] == A1
    assert env["TIDEGRID_COMPUTE_MILLI"] == "250"
    assert env["TIDEGRID_MEMORY_MIB"] == "10240"
    assert env["CUDA_DEVICE_MEMORY_LIMIT"] == "10240m"
    assert env["CUDA_DEVICE_SM_LIMIT"] == "25"
    assert "TIDEGRID_PROFILE" not in env
    assert "TIDEGRID_TOKEN" not in env
    assert env["PATH"] == os.environ["PATH"]  # the agent's own environment underneath


def test_whole_devices_and_profiles_get_no_hami_limits_and_ascend_gets_its_variable(tmp_path):
    code = "import os; print(repr({k: v for k, v in os.environ.items() if k.startswith(('CUDA', 'ASCEND', 'TIDE'))}))"
    runtime = ProcessRuntime(state_dir=tmp_path / "a", vendor="huawei")
    runtime.start(A1, {"command": python(code), "device_indices": [0, 1], "compute_milli": 1000,
                       "memory_mib": 65536})
    env = eval(final_status(runtime, A1).log_tail.strip().splitlines()[-1])  # noqa: S307 - our own repr output
    assert env["ASCEND_RT_VISIBLE_DEVICES"] == "0,1"
    assert "CUDA_VISIBLE_DEVICES" not in env and "CUDA_DEVICE_SM_LIMIT" not in env
    runtime = ProcessRuntime(state_dir=tmp_path / "b", vendor="nvidia")
    runtime.start(A2, {"command": python(code), "device_indices": [3], "compute_milli": 430, "memory_mib": 20096,
                       "profile": "3g.40gb"})
    env = eval(final_status(runtime, A2).log_tail.strip().splitlines()[-1])  # noqa: S307
    assert env["TIDEGRID_PROFILE"] == "3g.40gb"
    assert "CUDA_DEVICE_MEMORY_LIMIT" not in env  # a MIG slice is enforced by the hardware


def test_the_log_tail_is_the_last_4_kib(tmp_path):
    runtime = ProcessRuntime(state_dir=tmp_path)
    runtime.start(A1, {"command": python("print('x' * 10000); print('THE END')")})
    status = final_status(runtime, A1)
    assert len(status.log_tail) == 4096
    assert status.log_tail.rstrip().endswith("THE END")


def test_stop_terminates_a_sleeping_process(tmp_path):
    runtime = ProcessRuntime(state_dir=tmp_path, grace_s=5)
    runtime.start(A1, {"command": python("import time; print('sleeping', flush=True); time.sleep(600)")})
    assert wait_until(lambda: "sleeping" in runtime.poll()[0].log_tail)
    runtime.stop(A1)
    status = final_status(runtime, A1, timeout=10)
    assert status.state == "stopped"
    assert status.exit_code == 128 + signal.SIGTERM


def test_stop_kills_a_process_that_ignores_sigterm_after_the_grace(tmp_path):
    runtime = ProcessRuntime(state_dir=tmp_path, grace_s=0.5)
    code = ("import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('stubborn', flush=True); "
            "time.sleep(600)")
    runtime.start(A1, {"command": python(code)})
    assert wait_until(lambda: "stubborn" in runtime.poll()[0].log_tail)
    runtime.stop(A1)
    status = final_status(runtime, A1, timeout=10)
    assert (status.state, status.exit_code) == ("stopped", 128 + signal.SIGKILL)


def test_a_missing_executable_is_a_failed_assignment_not_a_crash(tmp_path):
    runtime = ProcessRuntime(state_dir=tmp_path)
    runtime.start(A1, {"command": ["/nonexistent/trainer", "--epochs", "3"]})
    status = runtime.poll()[0]
    assert status.state == "failed" and status.exit_code is None
    assert "could not start '/nonexistent/trainer'" in status.log_tail


def test_an_instance_reports_ssh_and_jupyter_endpoints_it_hands_to_the_workload(tmp_path):
    runtime = ProcessRuntime(state_dir=tmp_path, hostname="gpu-node-07", ssh_port_base=22000,
                             jupyter_port_base=28000)
    show_env = python("import os, time; print('ports', os.environ['TIDEGRID_SSH_PORT'],"
                      " os.environ['TIDEGRID_JUPYTER_PORT'], os.environ['TIDEGRID_JUPYTER_TOKEN'], flush=True);"
                      " time.sleep(600)")
    runtime.start(A1, {"command": show_env, "workload_kind": "instance"})
    runtime.start(A2, {"command": show_env, "workload_kind": "instance"})
    connections = {status.id: status.connection for status in runtime.poll()}
    assert connections[A1]["ssh"] == "ssh -p 22001 tidegrid@gpu-node-07"
    assert connections[A2]["ssh"] == "ssh -p 22002 tidegrid@gpu-node-07"
    assert connections[A1]["jupyter"].startswith("http://gpu-node-07:28001/lab?token=")
    assert connections[A2]["jupyter"].startswith("http://gpu-node-07:28002/lab?token=")
    token = connections[A1]["jupyter"].rsplit("=", 1)[1]
    assert len(token) >= 20 and token not in connections[A2]["jupyter"]
    assert set(connections[A1]) == {"ssh", "jupyter"}
    assert wait_until(lambda: f"ports 22001 28001 {token}" in
                      next(s.log_tail for s in runtime.poll() if s.id == A1), timeout=15)
    runtime.shutdown()
    assert {status.state for status in runtime.poll()} == {"stopped"}


def test_a_batch_job_gets_no_connection(tmp_path):
    runtime = ProcessRuntime(state_dir=tmp_path, hostname="gpu-node-07")
    runtime.start(A1, {"command": python("pass"), "workload_kind": "batch"})
    assert final_status(runtime, A1).connection == {}


def test_an_instance_without_a_command_runs_until_stopped(tmp_path):
    runtime = ProcessRuntime(state_dir=tmp_path, hostname="gpu-node-07", grace_s=5)
    runtime.start(A1, {"workload_kind": "instance"})
    assert wait_until(lambda: runtime.poll()[0].state == "running", timeout=15)
    runtime.stop(A1)
    status = final_status(runtime, A1)
    assert status.state == "stopped"
    assert status.exit_code == 128 + signal.SIGTERM


def test_forget_drops_the_record(tmp_path):
    runtime = ProcessRuntime(state_dir=tmp_path)
    runtime.start(A1, {"command": python("pass")})
    final_status(runtime, A1)
    assert (tmp_path / "assignments" / f"{A1}.json").exists()
    runtime.forget(A1)
    assert not runtime.knows(A1)
    assert not (tmp_path / "assignments" / f"{A1}.json").exists()


def test_after_an_agent_crash_a_leftover_workload_is_stopped_and_reported_failed(tmp_path):
    crashed = ProcessRuntime(state_dir=tmp_path)
    crashed.start(A1, {"command": python("import time; time.sleep(600)")})
    crashed.start(A2, {"command": python("print('done')")})
    final_status(crashed, A2)  # finished, but the server never acknowledged it
    pid = crashed._workloads[A1].pid
    assert process_identity(pid) is not None
    # The agent dies without shutting down; a new one starts on the same state folder.
    restarted = ProcessRuntime(state_dir=tmp_path)
    restarted.recover()
    statuses = {status.id: status for status in restarted.poll()}
    assert statuses[A1].state == "failed"
    assert "agent restarted" in statuses[A1].log_tail
    assert statuses[A2].state == "succeeded" and "done" in statuses[A2].log_tail
    # The orphan is gone (reap it: it is still the first runtime's child in this test process).
    crashed._workloads[A1].process.wait(timeout=10)


KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMNTkeouB66zyz8Ui7WHQZ7J1qiHplt6Au+MHoNXxC9Y"


def test_an_instance_gets_its_members_keys_in_its_authorized_keys(tmp_path):
    runtime = ProcessRuntime(state_dir=tmp_path, hostname="gpu-node-07", grace_s=5)
    show = python("import os; print(open(os.environ['TIDEGRID_SSH_AUTHORIZED_KEYS_FILE']).read(), flush=True);"
                  " import time; time.sleep(600)")
    runtime.start(A1, {"command": show, "workload_kind": "instance", "ssh_authorized_keys": [KEY]})
    path = tmp_path / "work" / A1 / ".ssh" / "authorized_keys"
    assert path.read_text() == KEY + "\n"
    assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    assert wait_until(lambda: KEY in next(s.log_tail for s in runtime.poll() if s.id == A1), timeout=15)
    runtime.shutdown()


def test_a_key_that_would_add_a_line_or_options_is_refused_before_anything_runs(tmp_path):
    runtime = ProcessRuntime(state_dir=tmp_path, hostname="gpu-node-07")
    runtime.start(A1, {"command": python("pass"), "workload_kind": "instance",
                       "ssh_authorized_keys": [KEY + "\ncommand=\"sh\" " + KEY]})
    status = runtime.poll()[0]
    assert status.state == "failed" and "ssh_authorized_keys" in status.log_tail
    assert not (tmp_path / "work" / A1 / ".ssh").exists()
