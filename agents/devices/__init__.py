"""Device backends: where inventory and telemetry come from (nvml, ascend, simulated)."""

from __future__ import annotations

from collections.abc import Sequence

from .base import DeviceBackend, DeviceBackendError, DeviceInfo, DeviceSample
from .simulated import ModelSpec

__all__ = ["BACKENDS", "DeviceBackend", "DeviceBackendError", "DeviceInfo", "DeviceSample", "make_backend"]

BACKENDS = ("nvml", "ascend", "simulated")


def make_backend(name: str, *, hostname: str, simulated_models: Sequence[tuple[ModelSpec, int]] = (),
                 seed: int | None = None) -> DeviceBackend:
    if name == "nvml":
        from .nvml import NvmlBackend

        return NvmlBackend()
    if name == "ascend":
        from .ascend import AscendBackend

        return AscendBackend(hostname=hostname)
    if name == "simulated":
        from .simulated import SimulatedBackend

        if not simulated_models:
            raise DeviceBackendError("--devices simulated needs at least one --simulate-model MODEL:COUNT")
        return SimulatedBackend(simulated_models, hostname=hostname, seed=seed)
    raise DeviceBackendError(f"unknown device backend {name!r} (choose from {', '.join(BACKENDS)})")
