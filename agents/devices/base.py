"""The device backend interface and the two records it produces (field names follow the protocol)."""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

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


@dataclass(frozen=True)
class DeviceSample:
    """One telemetry reading of one accelerator. Counters (energy, ECC, XID) are cumulative."""

    uuid: str
    index: int
    utilization_pct: float
    memory_used_mib: int
    memory_total_mib: int
    temperature_c: float | None = None
    power_w: float | None = None
    energy_mj: int | None = None
    ecc_errors: int = 0
    xid_errors: int = 0
    health: str = HEALTH_OK

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

    def update_workloads(self, running: Iterable[Mapping[str, Any]]) -> None:  # noqa: B027 - optional hook
        """Told, before each sample, the specs of the assignments now running. Real hardware measures its
        load itself, so only the simulated backend uses this."""

    def assignment_usage(self, spec: Mapping[str, Any]) -> dict[str, float] | None:
        """The running assignment's own utilization (% of a whole card) and memory (MiB), read after
        ``sample``; None when the backend cannot attribute device use to one assignment."""
        return None

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release driver handles."""
