"""Simulated accelerators of any model, whose load follows the workloads the agent runs on them.

Used by the demo, tests and load tests (``python -m agents simulate``). Utilization of a device is the
sum of the running assignments' ``compute_milli`` on it, divided by ten, plus a little noise; memory
used is the sum of their ``memory_mib``; temperature and power follow utilization; the energy counter
integrates power over (injectable) time. With a seed, every reading is reproducible.
"""

from __future__ import annotations

import random
import time
import uuid as uuidlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..protocol import AssignmentSpec
from .base import HEALTH_OK, DeviceBackend, DeviceInfo, DeviceSample

_SIM_NAMESPACE = uuidlib.UUID("0b4f6f2e-3f59-4c8e-8d3b-5a0c9a7e21d4")


@dataclass(frozen=True)
class ModelSpec:
    name: str
    memory_mib: int
    vendor: str
    idle_w: float
    max_w: float


# Names as the drivers report them (nvidia-smi / npu-smi), memory as they report it.
KNOWN_MODELS: dict[str, ModelSpec] = {spec.name.lower(): spec for spec in [
    ModelSpec("NVIDIA H200", 143771, "nvidia", 75.0, 700.0),
    ModelSpec("NVIDIA H100 80GB HBM3", 81559, "nvidia", 70.0, 700.0),
    ModelSpec("NVIDIA H800", 81559, "nvidia", 70.0, 700.0),
    ModelSpec("NVIDIA H20", 97871, "nvidia", 60.0, 400.0),
    ModelSpec("NVIDIA A100-SXM4-80GB", 81920, "nvidia", 60.0, 400.0),
    ModelSpec("NVIDIA A100-SXM4-40GB", 40960, "nvidia", 55.0, 400.0),
    ModelSpec("NVIDIA A800-SXM4-80GB", 81920, "nvidia", 60.0, 400.0),
    ModelSpec("NVIDIA L40S", 46068, "nvidia", 35.0, 350.0),
    ModelSpec("NVIDIA L20", 46068, "nvidia", 35.0, 275.0),
    ModelSpec("NVIDIA A10", 23028, "nvidia", 20.0, 150.0),
    ModelSpec("NVIDIA GeForce RTX 4090", 24564, "nvidia", 25.0, 450.0),
    ModelSpec("Tesla T4", 15360, "nvidia", 10.0, 70.0),
    ModelSpec("Tesla V100-SXM2-32GB", 32768, "nvidia", 40.0, 300.0),
    ModelSpec("Ascend910B3", 65536, "huawei", 90.0, 350.0),
    ModelSpec("Ascend910B4", 32768, "huawei", 85.0, 350.0),
    ModelSpec("Ascend910B2", 65536, "huawei", 95.0, 400.0),
    ModelSpec("Ascend310P3", 44280, "huawei", 15.0, 72.0),
]}


def model_spec(name: str, memory_mib: int | None = None) -> ModelSpec:
    known = KNOWN_MODELS.get(name.lower())
    if known is not None:
        return known if memory_mib is None else ModelSpec(known.name, memory_mib, known.vendor, known.idle_w,
                                                           known.max_w)
    if memory_mib is None:
        raise ValueError(f"unknown model {name!r}: give its memory as MODEL:COUNT:MEMORY_MIB")
    vendor = "huawei" if name.lower().startswith(("ascend", "huawei")) else "nvidia"
    return ModelSpec(name, memory_mib, vendor, 30.0, 300.0)


def parse_model_count(text: str) -> tuple[ModelSpec, int]:
    """``MODEL:COUNT`` or ``MODEL:COUNT:MEMORY_MIB`` (a model name may itself contain colons)."""
    parts = text.split(":")
    try:
        if len(parts) >= 3 and parts[-1].isdigit() and parts[-2].isdigit():
            return model_spec(":".join(parts[:-2]), int(parts[-1])), int(parts[-2])
        if len(parts) >= 2 and parts[-1].isdigit():
            return model_spec(":".join(parts[:-1])), int(parts[-1])
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    raise ValueError(f"expected MODEL:COUNT or MODEL:COUNT:MEMORY_MIB, got {text!r}")


class SimulatedBackend(DeviceBackend):
    name = "simulated"

    def __init__(self, models: Iterable[tuple[ModelSpec, int]], *, hostname: str, seed: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._rng = random.Random(seed)  # noqa: S311 - simulated noise, not secrets
        self._clock = clock
        self._devices: list[DeviceInfo] = []
        self._specs: list[ModelSpec] = []
        for spec, count in models:
            for _ in range(count):
                index = len(self._devices)
                prefix = "NPU-" if spec.vendor == "huawei" else "GPU-"
                uuid = prefix + str(uuidlib.uuid5(_SIM_NAMESPACE, f"{hostname}/{index}"))
                self._devices.append(DeviceInfo(uuid=uuid, index=index, model=spec.name, vendor=spec.vendor,
                                                memory_total_mib=spec.memory_mib))
                self._specs.append(spec)
        self._load_milli = [0] * len(self._devices)
        self._memory_mib = [0] * len(self._devices)
        self._energy_mj = [0.0] * len(self._devices)
        self._last_power = [spec.idle_w for spec in self._specs]
        self._last_at: float | None = None
        self._health = [HEALTH_OK] * len(self._devices)
        self.ecc_errors = [0] * len(self._devices)
        self.xid_errors = [0] * len(self._devices)

    def inventory(self) -> list[DeviceInfo]:
        return list(self._devices)

    def assignment_usage(self, spec: AssignmentSpec | Mapping[str, Any]) -> dict[str, float] | None:
        """A simulated workload keeps its share of the card(s) busy (90–100 %) and holds most of its memory."""
        spec = AssignmentSpec.coerce(spec)
        indices = [i for i in spec.device_indices if 0 <= i < len(self._devices)]
        if not indices:
            return None
        share_pct = min(1000, spec.compute_milli or 1000) / 10.0
        memory = spec.memory_mib or self._devices[indices[0]].memory_total_mib
        return {"utilization_pct": round(share_pct * self._rng.uniform(0.9, 1.0), 1),
                "memory_used_mib": int(memory * 0.8) * len(indices)}

    def update_workloads(self, running: Iterable[AssignmentSpec | Mapping[str, Any]]) -> None:
        load = [0] * len(self._devices)
        memory = [0] * len(self._devices)
        for spec in map(AssignmentSpec.coerce, running):
            for index in spec.device_indices:
                if 0 <= index < len(self._devices):
                    load[index] += spec.compute_milli or 1000
                    memory[index] += spec.memory_mib or 0
        self._load_milli = [min(1000, value) for value in load]
        self._memory_mib = [min(total.memory_total_mib, used) for total, used in zip(self._devices, memory,
                                                                                       strict=True)]

    def set_health(self, index: int, health: str) -> None:
        """Fault injection for demos and tests."""
        self._health[index] = health

    def sample(self) -> list[DeviceSample]:
        now = self._clock()
        elapsed = 0.0 if self._last_at is None else max(0.0, now - self._last_at)
        self._last_at = now
        samples = []
        for index, device in enumerate(self._devices):
            spec = self._specs[index]
            target = self._load_milli[index] / 10.0
            noise = self._rng.uniform(-2.0, 2.0) if target > 0 else self._rng.uniform(0.0, 0.5)
            utilization = round(min(100.0, max(0.0, target + noise)), 1)
            power = round(spec.idle_w + (spec.max_w - spec.idle_w) * utilization / 100.0
                          + self._rng.uniform(-1.0, 1.0), 1)
            power = max(0.0, power)
            # The counter integrates the power drawn since the previous reading (trapezoid).
            self._energy_mj[index] += (self._last_power[index] + power) / 2.0 * elapsed * 1000.0
            self._last_power[index] = power
            temperature = round(30.0 + 0.5 * utilization + self._rng.uniform(-0.5, 0.5), 1)
            samples.append(DeviceSample(
                uuid=device.uuid, index=index, utilization_pct=utilization,
                memory_used_mib=self._memory_mib[index], memory_total_mib=device.memory_total_mib,
                temperature_c=temperature, power_w=power, energy_mj=int(self._energy_mj[index]),
                ecc_errors=self.ecc_errors[index], xid_errors=self.xid_errors[index], health=self._health[index],
            ))
        return samples
