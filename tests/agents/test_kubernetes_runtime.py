"""The kubernetes runtime: HAMi pod manifests (validated offline), pod status mapping, pod lifecycle.

No API server runs here: manifests are checked with kubernetes-validate (strict, k8s 1.33) and with the
official client's own models (which reject integer quantities); statuses come from recorded pods.
"""

from __future__ import annotations

import copy

import kubernetes_validate
import pytest

from agents.devices.base import DeviceInfo
from agents.protocol import AssignmentSpec
from agents.runtimes.k8s_client import pod_model
from agents.runtimes.kubernetes import (
    CREATE_ATTEMPTS,
    LABEL_ASSIGNMENT,
    LABEL_NODE,
    KubernetesRuntime,
    build_pod_manifest,
    pod_name,
    pod_state,
)

ASSIGNMENT = "c0ffee00-1234-4abc-8def-0123456789ab"
NODE = "8a3e9f10-5b6c-4d7e-8f90-a1b2c3d4e5f6"
H100 = [DeviceInfo(uuid=f"GPU-{i}a2b3c4d-0000-4000-8000-00000000000{i}", index=i, model="NVIDIA H100 80GB HBM3",
                   vendor="nvidia", memory_total_mib=81559) for i in range(8)]
NPUS = [DeviceInfo(uuid=f"NPU-{i}", index=i, model="Ascend910B3", vendor="huawei", memory_total_mib=65536)
        for i in range(8)]

FRACTIONAL = {"command": ["python", "train.py"], "env": {"EPOCHS": "3"}, "image": "pytorch/pytorch:2.5-cuda12.4",
              "workload_kind": "batch", "device_uuids": [H100[0].uuid], "device_indices": [0],
              "compute_milli": 250, "memory_mib": 10240, "profile": None}
WHOLE = {"command": ["torchrun", "--nproc-per-node", "4", "train.py"], "image": "nvcr.io/nvidia/pytorch:24.10-py3",
         "workload_kind": "batch", "device_uuids": [d.uuid for d in H100[:4]], "device_indices": [0, 1, 2, 3],
         "compute_milli": 1000, "memory_mib": 81559, "profile": None}
ASCEND_WHOLE = {"command": ["python", "infer.py"], "image": "ascendhub/mindie:2.0", "workload_kind": "instance",
                "device_uuids": ["NPU-2"], "device_indices": [2], "compute_milli": 1000, "memory_mib": 65536}
ASCEND_VNPU = dict(ASCEND_WHOLE, compute_milli=250, memory_mib=16384, profile="vir05_1c_16g")


def manifest(spec, devices=H100):
    device = devices[spec["device_indices"][0]]
    return build_pod_manifest(ASSIGNMENT, spec, namespace="tidegrid", node_id=NODE, node_name="gpu-node-07",
                              vendor=device.vendor, model=device.model)


@pytest.mark.parametrize("spec,devices", [(FRACTIONAL, H100), (WHOLE, H100), (ASCEND_WHOLE, NPUS),
                                          (ASCEND_VNPU, NPUS)])
def test_manifests_validate_against_the_kubernetes_schema_and_client_models(spec, devices):
    pod = manifest(spec, devices)
    kubernetes_validate.validate(pod, "1.33", strict=True)
    model = pod_model(pod)  # the official client's pydantic models accept it as is
    assert model.spec.restart_policy == "Never"
    limits = pod["spec"]["containers"][0]["resources"]["limits"]
    assert all(isinstance(value, str) for value in limits.values())


def test_a_fractional_slice_asks_hami_for_memory_and_cores():
    pod = manifest(FRACTIONAL)
    container = pod["spec"]["containers"][0]
    assert container["resources"]["limits"] == {"nvidia.com/gpu": "1", "nvidia.com/gpumem": "10240",
                                                "nvidia.com/gpucores": "25"}
    assert pod["metadata"]["annotations"] == {"nvidia.com/use-gpuuuid": H100[0].uuid}
    assert pod["metadata"]["labels"][LABEL_ASSIGNMENT] == ASSIGNMENT
    assert pod["metadata"]["labels"][LABEL_NODE] == NODE
    assert pod["metadata"]["name"] == pod_name(ASSIGNMENT) == f"tg-{ASSIGNMENT}"
    assert pod["spec"]["nodeSelector"] == {"kubernetes.io/hostname": "gpu-node-07"}
    assert pod["spec"]["automountServiceAccountToken"] is False
    assert container["command"] == ["python", "train.py"]
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env == {"EPOCHS": "3", "TIDEGRID_ASSIGNMENT_ID": ASSIGNMENT, "TIDEGRID_COMPUTE_MILLI": "250",
                   "TIDEGRID_MEMORY_MIB": "10240"}  # visibility and limits are HAMi's to set in a pod


def test_whole_gpus_are_a_count_only():
    limits = manifest(WHOLE)["spec"]["containers"][0]["resources"]["limits"]
    assert limits == {"nvidia.com/gpu": "4"}


def test_ascend_resources():
    assert manifest(ASCEND_WHOLE, NPUS)["spec"]["containers"][0]["resources"]["limits"] == {
        "huawei.com/Ascend910B": "1"}
    vnpu = manifest(ASCEND_VNPU, NPUS)
    assert vnpu["spec"]["containers"][0]["resources"]["limits"] == {
        "huawei.com/Ascend910B": "1", "huawei.com/Ascend910B-memory": "16384"}
    assert "annotations" not in vnpu["metadata"]
    p310 = [DeviceInfo(uuid="NPU-x", index=0, model="Ascend310P3", vendor="huawei", memory_total_mib=44280)]
    spec = dict(ASCEND_WHOLE, device_indices=[0])
    assert manifest(spec, p310)["spec"]["containers"][0]["resources"]["limits"] == {"huawei.com/Ascend310P": "1"}


def test_integer_quantities_would_be_refused_by_the_client():
    pod = manifest(FRACTIONAL)
    pod["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] = 1
    with pytest.raises(ValueError):  # pydantic's ValidationError is a ValueError
        pod_model(pod)


def test_a_spec_without_an_image_cannot_become_a_pod():
    with pytest.raises(ValueError, match="needs an image"):
        manifest(dict(FRACTIONAL, image=None))


# --- status mapping, from pods as `kubectl get pod -o json` prints them ---------------------------

CONTAINER = {"name": "workload", "image": "pytorch/pytorch:2.5-cuda12.4", "imageID": "", "ready": False,
             "restartCount": 0}


def pod(phase, *, state=None, reason=None, message=None, conditions=None):
    status = {"phase": phase, "qosClass": "BestEffort", "startTime": "2026-11-28T12:00:00Z"}
    if state is not None:
        status["containerStatuses"] = [dict(CONTAINER, state=state)]
    if reason:
        status["reason"] = reason
    if message:
        status["message"] = message
    if conditions:
        status["conditions"] = conditions
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod_name(ASSIGNMENT)}, "status": status}


UNSCHEDULABLE = pod("Pending", conditions=[{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                                            "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpumem.",
                                            "lastTransitionTime": "2026-11-28T12:00:01Z"}])
CREATING = pod("Pending", state={"waiting": {"reason": "ContainerCreating"}})
PULL_BACKOFF = pod("Pending", state={"waiting": {"reason": "ImagePullBackOff",
                                                 "message": 'Back-off pulling image "pytorch/pytorch:2.5-cuda12.4"'}})
BAD_IMAGE = pod("Pending", state={"waiting": {"reason": "InvalidImageName",
                                              "message": 'Failed to apply default image tag "Py Torch"'}})
RUNNING = pod("Running", state={"running": {"startedAt": "2026-11-28T12:00:07Z"}})
SUCCEEDED = pod("Succeeded", state={"terminated": {"exitCode": 0, "reason": "Completed",
                                                   "startedAt": "2026-11-28T12:00:07Z",
                                                   "finishedAt": "2026-11-28T12:42:13Z"}})
OOM = pod("Failed", state={"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": "2026-11-28T12:00:07Z",
                                          "finishedAt": "2026-11-28T12:05:00Z"}})
EVICTED = pod("Failed", reason="Evicted", message="The node was low on resource: ephemeral-storage.")


def test_pod_status_mapping():
    assert pod_state(UNSCHEDULABLE).state == "starting"
    assert "Insufficient nvidia.com/gpumem" in pod_state(UNSCHEDULABLE).message
    assert pod_state(CREATING).state == "starting"
    assert pod_state(PULL_BACKOFF).state == "starting"  # may cure itself (registry hiccup)
    bad = pod_state(BAD_IMAGE)
    assert bad.state == "failed" and "InvalidImageName" in bad.message
    running = pod_state(RUNNING)
    assert running.state == "running" and running.started_at.isoformat() == "2026-11-28T12:00:07+00:00"
    done = pod_state(SUCCEEDED)
    assert (done.state, done.exit_code) == ("succeeded", 0)
    assert done.finished_at.isoformat() == "2026-11-28T12:42:13+00:00"
    oom = pod_state(OOM)
    assert (oom.state, oom.exit_code) == ("failed", 137) and "OOMKilled" in oom.message
    evicted = pod_state(EVICTED)
    assert evicted.state == "failed" and evicted.exit_code is None
    assert "Evicted: The node was low on resource" in evicted.message
    assert pod_state(pod("Unknown")).state == "running"


# --- lifecycle with a recorded stand-in for the thin client module ----------------------------------


class FakePods:
    """The K8sClient surface, answering from a dict of pods (JSON form) the test edits."""

    def __init__(self) -> None:
        self.pods: dict[str, dict] = {}
        self.created: list[dict] = []
        self.deleted: list[str] = []
        self.fail_creates = 0

    def create_pod(self, manifest):
        if self.fail_creates:
            self.fail_creates -= 1
            raise OSError("connection refused")
        kubernetes_validate.validate(manifest, "1.33", strict=True)
        self.created.append(manifest)
        self.pods[manifest["metadata"]["name"]] = copy.deepcopy(dict(manifest, status={"phase": "Pending"}))

    def delete_pod(self, name, *, grace_period_s=30):
        self.deleted.append(name)
        return self.pods.pop(name, None) is not None

    def read_pod(self, name):
        return copy.deepcopy(self.pods.get(name))

    def list_pods(self, label_selector):
        key, value = label_selector.split("=")
        return [p for p in self.pods.values() if p["metadata"]["labels"].get(key) == value]

    def read_log_tail(self, name):
        return "epoch 3/3 loss=0.12\n"

    def set_status(self, name, status_pod):
        self.pods[name]["status"] = status_pod["status"]


def runtime(pods):
    rt = KubernetesRuntime(client=pods, namespace="tidegrid", node_name="gpu-node-07", devices=H100)
    rt.attach(node_id=NODE)
    return rt


def test_a_pod_runs_to_completion_and_is_deleted_once_acknowledged():
    pods = FakePods()
    rt = runtime(pods)
    rt.start(ASSIGNMENT, FRACTIONAL)
    rt.start(ASSIGNMENT, FRACTIONAL)  # the server repeats start until it sees the assignment
    assert len(pods.created) == 1
    assert rt.poll()[0].state == "starting"
    name = pod_name(ASSIGNMENT)
    pods.set_status(name, RUNNING)
    assert rt.poll()[0].state == "running"
    assert rt.running_specs() == [AssignmentSpec.from_dict(FRACTIONAL)]
    pods.set_status(name, SUCCEEDED)
    status = rt.poll()[0]
    assert (status.state, status.exit_code) == ("succeeded", 0)
    assert "epoch 3/3" in status.log_tail
    assert name in pods.pods  # kept for `kubectl logs` until the server has the final state
    rt.forget(ASSIGNMENT)
    assert name not in pods.pods and not rt.knows(ASSIGNMENT)


def test_stop_deletes_the_pod_and_reports_stopped():
    pods = FakePods()
    rt = runtime(pods)
    rt.start(ASSIGNMENT, FRACTIONAL)
    pods.set_status(pod_name(ASSIGNMENT), RUNNING)
    rt.poll()
    rt.stop(ASSIGNMENT)
    assert pods.deleted == [pod_name(ASSIGNMENT)]
    assert rt.poll()[0].state == "stopped"


def test_a_pod_deleted_behind_our_back_is_a_failure():
    pods = FakePods()
    rt = runtime(pods)
    rt.start(ASSIGNMENT, FRACTIONAL)
    pods.pods.clear()
    status = rt.poll()[0]
    assert status.state == "failed" and "disappeared" in status.log_tail


def test_create_is_retried_then_given_up():
    pods = FakePods()
    pods.fail_creates = 1
    rt = runtime(pods)
    rt.start(ASSIGNMENT, FRACTIONAL)
    assert rt.poll()[0].state == "starting" and len(pods.created) == 1  # second attempt worked
    other = "d00d0000-1234-4abc-8def-0123456789ab"
    pods.fail_creates = CREATE_ATTEMPTS
    rt.start(other, FRACTIONAL)
    for _ in range(CREATE_ATTEMPTS):
        statuses = {s.id: s for s in rt.poll()}
    assert statuses[other].state == "failed" and "could not create the pod" in statuses[other].log_tail


def test_pods_survive_an_agent_restart_and_are_adopted():
    pods = FakePods()
    first = runtime(pods)
    first.start(ASSIGNMENT, FRACTIONAL)
    pods.set_status(pod_name(ASSIGNMENT), RUNNING)
    first.shutdown()
    assert pod_name(ASSIGNMENT) in pods.pods  # left running
    second = runtime(pods)
    second.recover()
    assert second.knows(ASSIGNMENT)
    assert second.poll()[0].state == "running"


def test_a_spec_that_cannot_be_a_pod_fails_without_calling_the_api():
    pods = FakePods()
    rt = runtime(pods)
    rt.start(ASSIGNMENT, dict(FRACTIONAL, image=None))
    status = rt.poll()[0]
    assert status.state == "failed" and "needs an image" in status.log_tail
    assert not pods.created


def test_an_instances_public_keys_reach_the_pod_in_its_environment():
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMNTkeouB66zyz8Ui7WHQZ7J1qiHplt6Au+MHoNXxC9Y"
    pod = manifest(dict(ASCEND_WHOLE, ssh_authorized_keys=[key, key.replace("AAAA", "BBBB", 1)]), NPUS)
    kubernetes_validate.validate(pod, "1.33", strict=True)
    env = {item["name"]: item["value"] for item in pod["spec"]["containers"][0]["env"]}
    assert env["TIDEGRID_SSH_AUTHORIZED_KEYS"].split("\n")[0] == key
    plain = manifest(WHOLE)["spec"]["containers"][0]["env"]
    assert "TIDEGRID_SSH_AUTHORIZED_KEYS" not in {item["name"] for item in plain}
