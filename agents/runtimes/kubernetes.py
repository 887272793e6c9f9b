"""Run each assignment as a Pod on this host's Kubernetes node, with HAMi resource names.

The Pod asks for ``nvidia.com/gpu`` (count), and for a fractional slice ``nvidia.com/gpumem`` (MiB) and
``nvidia.com/gpucores`` (percent); Ascend NPUs are ``huawei.com/Ascend910B`` / ``huawei.com/Ascend310P``
(count) with ``huawei.com/Ascend910B-memory`` for a vNPU share. The device plugin decides what the
container sees, so the agent does not set ``CUDA_VISIBLE_DEVICES`` or HAMi's limit variables here (HAMi
injects them from the resources); the spec's device UUIDs go in HAMi's ``nvidia.com/use-gpuuuid``
annotation and a node selector pins the Pod to this host.

Pods carry the labels ``tidegrid.io/assignment-id`` and ``tidegrid.io/node-id``. They outlive the agent:
on a stop the agent leaves them running and, when it starts again, adopts them by label. A finished Pod
is kept (for ``kubectl logs``) until the server has recorded its final state, then deleted.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ..devices.base import DeviceInfo
from ..protocol import AssignmentSpec, ProtocolError
from ..timeutil import utcnow
from .base import (
    FAILED,
    RUNNING,
    STARTING,
    STOPPED,
    SUCCEEDED,
    AssignmentStatus,
    Runtime,
)

logger = logging.getLogger(__name__)

CONTAINER_NAME = "workload"
LABEL_ASSIGNMENT = "tidegrid.io/assignment-id"
LABEL_NODE = "tidegrid.io/node-id"
LABEL_KIND = "tidegrid.io/workload-kind"
MANAGED_BY = {"app.kubernetes.io/managed-by": "tidegrid-agent"}
CREATE_ATTEMPTS = 5
# Waiting reasons that will not cure themselves: the Pod can never start.
FATAL_WAITING = frozenset({"InvalidImageName", "ErrImageNeverPull", "CreateContainerConfigError"})


class PodClient(Protocol):
    def create_pod(self, manifest: dict[str, Any]) -> None: ...
    def delete_pod(self, name: str, *, grace_period_s: int = 30) -> bool: ...
    def read_pod(self, name: str) -> dict[str, Any] | None: ...
    def list_pods(self, label_selector: str) -> list[dict[str, Any]]: ...
    def read_log_tail(self, name: str) -> str: ...


def pod_name(assignment_id: str) -> str:
    name = re.sub(r"[^a-z0-9-]", "-", f"tg-{assignment_id}".lower())[:63].rstrip("-")
    return name


def _label_value(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", value)[:63].strip("-_.")


def ascend_resource(model: str) -> str:
    """``Ascend910B3`` → ``huawei.com/Ascend910B``; ``Ascend310P3`` → ``huawei.com/Ascend310P``."""
    match = re.match(r"(?i)(?:ascend)?(910B|910|310P|310)", model.replace(" ", ""))
    family = match.group(1).upper() if match else "910B"
    return f"huawei.com/Ascend{family}"


def pod_resources(spec: AssignmentSpec | Mapping[str, Any], *, vendor: str, model: str | None) -> dict[str, str]:
    """The device share the spec names, as HAMi / Ascend device-plugin resources (what the process runtime
    puts in the environment, the device plugin enforces here)."""
    spec = AssignmentSpec.coerce(spec)
    count = max(1, spec.device_count)
    if vendor == "huawei":
        resource = ascend_resource(model or "")
        limits = {resource: str(count)}
        if spec.is_shared and spec.memory_mib is not None:
            limits[f"{resource}-memory"] = str(spec.memory_mib)
        return limits
    limits = {"nvidia.com/gpu": str(count)}
    if spec.is_shared:
        if spec.memory_mib is not None:
            limits["nvidia.com/gpumem"] = str(spec.memory_mib)
        if spec.hami_percent is not None:
            limits["nvidia.com/gpucores"] = str(spec.hami_percent)
    return limits


def build_pod_manifest(assignment_id: str, spec: AssignmentSpec | Mapping[str, Any], *, namespace: str,
                       node_id: str, node_name: str, vendor: str = "nvidia", model: str | None = None,
                       default_image: str | None = None) -> dict[str, Any]:
    """The Pod for one assignment, as a dict in the API's JSON form."""
    spec = AssignmentSpec.coerce(spec)
    image = spec.image or default_image
    if not image:
        raise ValueError("the kubernetes runtime needs an image (spec.image)")
    env = {**spec.env, **spec.identity_env(assignment_id)}
    if spec.ssh_authorized_keys:
        # Public keys, not secrets: the image's entrypoint writes them to its user's authorized_keys.
        env["TIDEGRID_SSH_AUTHORIZED_KEYS"] = "\n".join(spec.ssh_authorized_keys)
    container: dict[str, Any] = {
        "name": CONTAINER_NAME,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "env": [{"name": key, "value": value} for key, value in sorted(env.items())],
        "resources": {"limits": pod_resources(spec, vendor=vendor, model=model)},
        "securityContext": {"allowPrivilegeEscalation": False},
    }
    if spec.command:
        container["command"] = list(spec.command)
    annotations = {}
    uuids = list(spec.device_uuids)
    if vendor == "nvidia" and uuids:
        annotations["nvidia.com/use-gpuuuid"] = ",".join(uuids)
    metadata: dict[str, Any] = {
        "name": pod_name(assignment_id),
        "namespace": namespace,
        "labels": {**MANAGED_BY, LABEL_ASSIGNMENT: _label_value(assignment_id), LABEL_NODE: _label_value(node_id),
                   LABEL_KIND: _label_value(spec.workload_kind)},
    }
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": {
            "restartPolicy": "Never",
            "nodeSelector": {"kubernetes.io/hostname": node_name},
            "automountServiceAccountToken": False,  # a tenant's workload gets no cluster credentials
            "enableServiceLinks": False,
            "terminationGracePeriodSeconds": 30,
            "containers": [container],
        },
    }


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


@dataclass
class PodState:
    state: str
    exit_code: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    message: str = ""


def pod_state(pod: Mapping[str, Any]) -> PodState:
    """Map a Pod (JSON form, as ``kubectl get pod -o json`` prints it) to the protocol's states."""
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    containers = status.get("containerStatuses") or []
    main = next((c for c in containers if c.get("name") == CONTAINER_NAME), containers[0] if containers else {})
    current = main.get("state") or {}
    terminated, running, waiting = current.get("terminated"), current.get("running"), current.get("waiting")
    started = _time((running or terminated or {}).get("startedAt") or status.get("startTime"))
    finished = _time((terminated or {}).get("finishedAt"))
    if phase == "Succeeded":
        return PodState(SUCCEEDED, (terminated or {}).get("exitCode", 0), started, finished)
    if phase == "Failed":
        reason = (terminated or {}).get("reason") or status.get("reason") or "Failed"
        message = (terminated or {}).get("message") or status.get("message") or ""
        return PodState(FAILED, (terminated or {}).get("exitCode"), started, finished,
                        f"pod failed: {reason}{': ' + message if message else ''}")
    if phase == "Running":
        return PodState(RUNNING, None, started)
    if phase == "Unknown":
        return PodState(RUNNING, None, started, message="pod status unknown (is the node reachable?)")
    # Pending: waiting for the scheduler, the image or the container.
    if waiting and waiting.get("reason") in FATAL_WAITING:
        return PodState(FAILED, None, started, utcnow(),
                        f"pod cannot start: {waiting['reason']}: {waiting.get('message', '')}".rstrip(": "))
    for condition in status.get("conditions") or []:
        if condition.get("type") == "PodScheduled" and condition.get("status") == "False":
            return PodState(STARTING, message=f"not scheduled yet: {condition.get('message', '')}".rstrip(": "))
    if waiting:
        return PodState(STARTING, message=f"{waiting.get('reason', 'waiting')}: {waiting.get('message', '')}"
                        .rstrip(": "))
    return PodState(STARTING)


@dataclass
class _PodRecord:
    id: str
    name: str
    spec: AssignmentSpec
    manifest: dict[str, Any] | None
    created: bool = False
    create_attempts: int = 0
    stop_requested: bool = False
    status: AssignmentStatus = field(default_factory=lambda: AssignmentStatus(id="", state=STARTING))


class KubernetesRuntime(Runtime):
    name = "kubernetes"

    def __init__(self, *, client: PodClient, namespace: str, node_name: str, node_id: str = "",
                 devices: list[DeviceInfo], default_image: str | None = None, grace_s: int = 30) -> None:
        self._client = client
        self._namespace = namespace
        self._node_id = node_id
        self._node_name = node_name
        self._devices = {device.index: device for device in devices}
        self._vendor = devices[0].vendor if devices else "nvidia"
        self._default_image = default_image
        self._grace_s = grace_s
        self._records: dict[str, _PodRecord] = {}

    def attach(self, *, node_id: str) -> None:
        self._node_id = node_id

    def knows(self, assignment_id: str) -> bool:
        return assignment_id in self._records

    def start(self, assignment_id: str, spec: AssignmentSpec | Mapping[str, Any]) -> None:
        if assignment_id in self._records:
            return
        try:
            spec, problem = AssignmentSpec.coerce(spec), ""
        except ProtocolError as error:
            spec, problem = AssignmentSpec(), f"the assignment's spec is not valid: {error}"
        record = _PodRecord(id=assignment_id, name=pod_name(assignment_id), spec=spec, manifest=None,
                            status=AssignmentStatus(id=assignment_id, state=STARTING, started_at=utcnow()))
        self._records[assignment_id] = record
        if problem:
            self._final(record, FAILED, message=problem)
            return
        device = self._devices.get(spec.device_indices[0]) if spec.device_indices else None
        try:
            record.manifest = build_pod_manifest(
                assignment_id, spec, namespace=self._namespace, node_id=self._node_id, node_name=self._node_name,
                vendor=device.vendor if device else self._vendor, model=device.model if device else None,
                default_image=self._default_image)
        except ValueError as error:
            self._final(record, FAILED, message=str(error))
            return
        self._create(record)

    def _create(self, record: _PodRecord) -> None:
        record.create_attempts += 1
        try:
            self._client.create_pod(record.manifest)
        except Exception as error:
            logger.warning("creating pod %s failed (attempt %d): %s", record.name, record.create_attempts, error)
            if record.create_attempts >= CREATE_ATTEMPTS:
                self._final(record, FAILED, message=f"could not create the pod: {error}")
            return
        record.created = True
        logger.info("assignment %s: pod %s/%s created", record.id, self._namespace, record.name)

    def _final(self, record: _PodRecord, state: str, *, exit_code: int | None = None,
               finished_at: datetime | None = None, message: str = "") -> None:
        status = record.status
        status.state, status.exit_code, status.finished_at = state, exit_code, finished_at or utcnow()
        log = self._client.read_log_tail(record.name) if record.created else ""
        status.log_tail = (log + (f"\n[tidegrid-agent] {message}\n" if message else ""))[-4096:]

    def stop(self, assignment_id: str) -> None:
        record = self._records.get(assignment_id)
        if record is None or record.status.is_final:
            return
        record.stop_requested = True
        if not record.created:
            self._final(record, STOPPED)
            return
        try:
            self._client.delete_pod(record.name, grace_period_s=self._grace_s)
        except Exception as error:
            logger.warning("deleting pod %s failed (will retry): %s", record.name, error)

    def poll(self) -> list[AssignmentStatus]:
        for record in self._records.values():
            if record.status.is_final:
                continue
            try:
                self._poll_one(record)
            except Exception as error:
                logger.warning("reading pod %s failed: %s", record.name, error)
        return [record.status for record in self._records.values()]

    def _poll_one(self, record: _PodRecord) -> None:
        if not record.created:
            self._create(record)
            return
        if record.stop_requested:
            self._client.delete_pod(record.name, grace_period_s=self._grace_s)  # idempotent retry
        pod = self._client.read_pod(record.name)
        if pod is None:
            if record.stop_requested:
                self._final(record, STOPPED)
            else:
                self._final(record, FAILED, message="the pod disappeared (deleted outside TideGrid?)")
            return
        observed = pod_state(pod)
        record.status.started_at = observed.started_at or record.status.started_at
        if observed.state in (SUCCEEDED, FAILED):
            state = STOPPED if record.stop_requested else observed.state
            self._final(record, state, exit_code=observed.exit_code, finished_at=observed.finished_at,
                        message=observed.message)
        else:
            record.status.state = observed.state
            record.status.log_tail = f"[tidegrid-agent] {observed.message}\n" if observed.message else ""

    def forget(self, assignment_id: str) -> None:
        record = self._records.pop(assignment_id, None)
        if record is not None and record.created:
            try:
                self._client.delete_pod(record.name, grace_period_s=self._grace_s)
            except Exception as error:
                logger.warning("cleaning up pod %s failed: %s", record.name, error)

    def spec_of(self, assignment_id: str) -> AssignmentSpec | None:
        record = self._records.get(assignment_id)
        return record.spec if record is not None else None

    def running_specs(self) -> list[AssignmentSpec]:
        return [record.spec for record in self._records.values() if not record.status.is_final]

    def recover(self) -> None:
        """Adopt the Pods a previous agent process created for this node."""
        try:
            pods = self._client.list_pods(f"{LABEL_NODE}={_label_value(self._node_id)}")
        except Exception as error:
            logger.warning("listing this node's pods failed: %s", error)
            return
        for pod in pods:
            labels = (pod.get("metadata") or {}).get("labels") or {}
            assignment_id = labels.get(LABEL_ASSIGNMENT)
            if not assignment_id or assignment_id in self._records:
                continue
            record = _PodRecord(id=assignment_id, name=pod["metadata"]["name"], spec=AssignmentSpec(), manifest=None,
                                created=True,
                                status=AssignmentStatus(id=assignment_id, state=STARTING))
            self._records[assignment_id] = record
            logger.info("adopted pod %s of assignment %s", record.name, assignment_id)

    def shutdown(self) -> None:
        """Pods are Kubernetes' to run: leave them; the next agent adopts them."""
        running = sum(1 for record in self._records.values() if not record.status.is_final)
        if running:
            logger.info("leaving %d pod(s) running; they are adopted when the agent starts again", running)
