"""The typed protocol (agents/protocol.py): what both sides build and read."""

from datetime import UTC, datetime, timedelta

import pytest

from agents.protocol import (
    AssignmentReport,
    AssignmentSpec,
    AssignmentUsage,
    DeviceSample,
    HeartbeatReply,
    HeartbeatReport,
    ProtocolError,
    WorkItem,
)
from agents.runtimes.kubernetes import build_pod_manifest, pod_resources

NODE = "8a3e9f10-5b6c-4d7e-8f90-a1b2c3d4e5f6"
A1 = "c0ffee00-1234-4abc-8def-0123456789ab"


def test_a_report_round_trips_through_its_dict_form():
    now = datetime.now(UTC)
    report = HeartbeatReport(
        node_id=NODE, seq=7, collected_at=now,
        devices=(DeviceSample(uuid="GPU-1", index=0, utilization_pct=50.0, memory_used_mib=10, energy_mj=2**62),),
        assignments=(AssignmentReport(id=A1, state="running", started_at=now,
                                      usage=AssignmentUsage(utilization_pct=12.5, memory_used_mib=100)),))
    assert HeartbeatReport.from_dict(report.to_dict(), now=now, clock_window=timedelta(days=1)) == report


@pytest.mark.parametrize(("change", "field"), [
    ({"seq": 2**63}, "seq"), ({"seq": True}, "seq"), ({"node_id": "nope"}, "node_id"),
    ({"collected_at": "2026-01-01T00:00:00"}, "collected_at"),
    ({"collected_at": (datetime.now(UTC) + timedelta(days=2)).isoformat()}, "collected_at"),
    ({"devices": [{"uuid": "g", "utilization_pct": float("nan"), "memory_used_mib": 1}]}, "devices.0.utilization_pct"),
    ({"devices": [{"uuid": "g", "utilization_pct": 1, "memory_used_mib": 2**31}]}, "devices.0.memory_used_mib"),
    ({"assignments": [{"id": A1, "state": "running", "usage": {"utilization_pct": 900, "memory_used_mib": 1}}]},
     "assignments.0.usage.utilization_pct"),
    ({"assignments": [{"id": A1, "state": "running", "connection": {str(i): "x" for i in range(17)}}]},
     "assignments.0.connection"),
])
def test_out_of_bounds_fields_are_named_in_the_errors(change, field):
    body = {"node_id": NODE, "seq": 1, "collected_at": datetime.now(UTC).isoformat(), "devices": [], **change}
    with pytest.raises(ProtocolError) as error:
        HeartbeatReport.from_dict(body, now=datetime.now(UTC), clock_window=timedelta(days=1))
    assert field in error.value.errors


def test_the_reply_skips_malformed_work_items_and_types_the_rest():
    reply = HeartbeatReply.from_dict({"ack_seq": 3, "heartbeat_interval_s": 5, "ack_final": [A1], "assignments": [
        {"id": A1, "action": "start", "spec": {"command": "python train.py", "device_indices": [1]}},
        {"id": A1, "action": "explode"}, "garbage", {"id": A1, "action": "stop"}]})
    assert reply.assignments[0] == WorkItem(id=A1, action="start",
                                            spec=AssignmentSpec(command=("python", "train.py"), device_indices=(1,)))
    assert [item.action for item in reply.assignments] == ["start", "stop"]
    assert len(reply.malformed) == 2
    assert HeartbeatReply.from_dict(reply.to_dict()).assignments == reply.assignments


def test_a_spec_keeps_unknown_keys_and_its_dict_form_is_stable():
    spec = {"command": ["run"], "ports": [8080], "compute_milli": 250, "memory_mib": 4096, "device_indices": [0]}
    normalized = AssignmentSpec.from_dict(spec).to_dict()
    assert normalized["ports"] == [8080]
    assert AssignmentSpec.from_dict(normalized).to_dict() == normalized
    with pytest.raises(ProtocolError) as error:
        AssignmentSpec.from_dict({"command": [1, 2], "device_indices": [300]})
    assert set(error.value.errors) == {"command", "device_indices"}


def test_both_runtimes_take_the_share_and_the_variables_from_the_spec():
    spec = AssignmentSpec.from_dict({"command": ["run"], "image": "img", "device_indices": [0], "compute_milli": 250,
                                     "memory_mib": 4096, "env": {"EPOCHS": 3}})
    assert spec.is_fractional and spec.hami_percent == 25
    process_env = {**spec.env, **spec.identity_env(A1), **spec.device_env(vendor="nvidia")}
    assert process_env["CUDA_DEVICE_SM_LIMIT"] == "25" and process_env["CUDA_DEVICE_MEMORY_LIMIT"] == "4096m"
    pod = build_pod_manifest(A1, spec, namespace="ns", node_id=NODE, node_name="n")
    pod_env = {item["name"]: item["value"] for item in pod["spec"]["containers"][0]["env"]}
    assert pod_env == {**spec.env, **spec.identity_env(A1)}  # the device plugin sets visibility and limits
    assert pod_resources(spec, vendor="nvidia", model=None) == {
        "nvidia.com/gpu": "1", "nvidia.com/gpumem": "4096", "nvidia.com/gpucores": "25"}


@pytest.mark.parametrize("keys", [["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI x"], ["ssh-ed25519 AAAA\nssh-rsa AAAA"],
                                  ["ssh-dss AAAAB3NzaC1kc3MAAACBAP"], "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", [7],
                                  ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMNTkeouB66zyz8U"] * 51])
def test_a_spec_refuses_ssh_keys_that_are_not_one_plain_key_each(keys):
    with pytest.raises(ProtocolError) as error:
        AssignmentSpec.from_dict({"command": ["run"], "ssh_authorized_keys": keys})
    assert set(error.value.errors) == {"ssh_authorized_keys"}
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMNTkeouB66zyz8U"
    assert AssignmentSpec.from_dict({"ssh_authorized_keys": [key]}).to_dict()["ssh_authorized_keys"] == [key]
