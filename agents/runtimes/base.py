"""The runtime interface (how assignments are run) and what every runtime shares."""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ..timeutil import isoformat

STARTING = "starting"
RUNNING = "running"
SUCCEEDED = "succeeded"
FAILED = "failed"
STOPPED = "stopped"
FINAL_STATES = frozenset({SUCCEEDED, FAILED, STOPPED})
LOG_TAIL_BYTES = 4096


@dataclass
class AssignmentStatus:
    """The state of one assignment as the protocol reports it."""

    id: str
    state: str
    exit_code: int | None = None
    log_tail: str = ""
    started_at: datetime | None = None
    finished_at: datetime | None = None
    connection: dict[str, str] = field(default_factory=dict)
    # The assignment's own use of its device(s) while running (slice utilization in % of a whole card,
    # memory in MiB), when the device backend can attribute it; None otherwise.
    usage: dict[str, float] | None = None

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "state": self.state, "exit_code": self.exit_code, "log_tail": self.log_tail,
            "started_at": isoformat(self.started_at), "finished_at": isoformat(self.finished_at),
            "connection": dict(self.connection),
            **({"usage": dict(self.usage)} if self.usage is not None else {}),
        }


class Runtime(abc.ABC):
    """Runs assignments. Every method is called from the agent's loop thread only."""

    name: str = "abstract"

    @abc.abstractmethod
    def start(self, assignment_id: str, spec: Mapping[str, Any]) -> None:
        """Launch the assignment; a launch that fails is reported as a ``failed`` status, not raised."""

    @abc.abstractmethod
    def stop(self, assignment_id: str) -> None:
        """Ask the assignment to stop; it reaches ``stopped`` on a later ``poll``."""

    @abc.abstractmethod
    def poll(self) -> list[AssignmentStatus]:
        """The current status of every assignment the runtime still knows about."""

    @abc.abstractmethod
    def knows(self, assignment_id: str) -> bool:
        """Whether the assignment was started here (and not forgotten yet)."""

    @abc.abstractmethod
    def forget(self, assignment_id: str) -> None:
        """The server has recorded the final state: stop reporting it and drop what is kept for it."""

    def running_specs(self) -> list[Mapping[str, Any]]:
        """Specs of the assignments that hold devices now (drives the simulated devices' load)."""
        return []

    def spec_of(self, assignment_id: str) -> Mapping[str, Any] | None:
        """The spec an assignment was started with (to attribute device usage to it), if known."""
        return None

    def attach(self, *, node_id: str) -> None:  # noqa: B027 - optional hook
        """Told this node's id once it is known (after enrollment), before ``recover``."""

    def recover(self) -> None:  # noqa: B027 - optional hook
        """At agent start: pick up what a previous agent process left behind."""

    def shutdown(self) -> None:  # noqa: B027 - optional hook
        """At agent stop (see each runtime for what happens to running workloads)."""


def hami_percent(compute_milli: int) -> int:
    """HAMi takes an integer percentage of the device's cores; never round a slice down to nothing."""
    return max(1, min(100, round(compute_milli / 10)))


def is_fractional(spec: Mapping[str, Any]) -> bool:
    """A share of one device (HAMi limits apply), as opposed to whole devices or a fixed MIG/vNPU profile."""
    compute = spec.get("compute_milli")
    return (not spec.get("profile") and compute is not None and int(compute) < 1000
            and len(spec.get("device_indices") or []) <= 1)


def workload_env(assignment_id: str, spec: Mapping[str, Any], *, vendor: str) -> dict[str, str]:
    """The variables the protocol puts in a workload's environment, without the spec's own ``env``."""
    indices = ",".join(str(index) for index in spec.get("device_indices") or [])
    env = {"TIDEGRID_ASSIGNMENT_ID": assignment_id}
    if vendor == "huawei":
        env["ASCEND_RT_VISIBLE_DEVICES"] = indices
    else:
        env["CUDA_VISIBLE_DEVICES"] = indices
    if spec.get("compute_milli") is not None:
        env["TIDEGRID_COMPUTE_MILLI"] = str(int(spec["compute_milli"]))
    if spec.get("memory_mib") is not None:
        env["TIDEGRID_MEMORY_MIB"] = str(int(spec["memory_mib"]))
    if spec.get("profile"):
        env["TIDEGRID_PROFILE"] = str(spec["profile"])
    if is_fractional(spec):
        if spec.get("memory_mib") is not None:
            env["CUDA_DEVICE_MEMORY_LIMIT"] = f"{int(spec['memory_mib'])}m"
        env["CUDA_DEVICE_SM_LIMIT"] = str(hami_percent(int(spec["compute_milli"])))
    return env


def spec_env(spec: Mapping[str, Any]) -> dict[str, str]:
    return {str(key): str(value) for key, value in (spec.get("env") or {}).items()}
