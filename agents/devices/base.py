"""The device backend interface and the two records it produces: DeviceInfo (enrollment) and the
protocol's DeviceSample (heartbeats)."""

from __future__ import annotations

import abc
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from ..protocol import AssignmentSpec, DeviceSample

__all__ = ["HEALTH_DEGRADED", "HEALTH_FAILED", "HEALTH_OK", "DeviceBackend", "DeviceBackendError", "DeviceInfo",
           "DeviceSample"]

HEALTH_OK = "ok"
HEALTH_DEGRADED = "degraded"
HEALTH_FAILED = "failed"


class DeviceBackendError(RuntimeError):
    """The backend cannot talk to the devices at all (no driver, no tool): the agent cannot start."""


@dataclass(frozen=True)
class DeviceInfo:
    """One accelerator as reported at enrollment."""

    uuid: str
    index: int
    model: str
    vendor: str
    memory_total_mib: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class DeviceBackend(abc.ABC):
    """Where device inventory and telemetry come from."""

    name: str = "abstract"

    @abc.abstractmethod
    def inventory(self) -> list[DeviceInfo]:
        """The devices of this host, in index order."""

    @abc.abstractmethod
    def sample(self) -> list[DeviceSample]:
        """One reading of every device."""

    def update_workloads(self, running: Iterable[AssignmentSpec]) -> None:  # noqa: B027 - optional hook
        """Told, before each sample, the specs of the assignments now running. Real hardware measures its
        load itself, so only the simulated backend uses this."""

    def assignment_usage(self, spec: AssignmentSpec) -> dict[str, float] | None:
        """The running assignment's own utilization (% of a whole card) and memory (MiB), read after
        ``sample``; None when the backend cannot attribute device use to one assignment."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release driver handles."""
