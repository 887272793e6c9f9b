"""A recorded stand-in for the ``pynvml`` module (nvidia-ml-py), for hosts without a GPU.

Realistic values of the kind NVML returns (and ``nvidia-smi -q`` shows) for an H100 SXM of a training
node under load, an idle A100-SXM4-80GB and a GeForce RTX 4090 workstation card, which supports
neither ECC nor XID event registration. Memory is in bytes, power in milliwatts and energy in
millijoules, as NVML returns them. The error classes and constants are the real module's, so the
backend's ``except`` clauses are exercised exactly as on a real host.
"""

from __future__ import annotations

from types import SimpleNamespace

import pynvml

MIB = 1024 * 1024

H100 = {
    "name": "NVIDIA H100 80GB HBM3", "uuid": "GPU-9b3d2f6a-41c7-8e05-5d2a-7f1e0c3b9a64",
    "total": 85520809984, "used": 74565 * MIB, "gpu": 97, "mem_util": 61, "temp": 63,
    "power_mw": 612345, "energy_mj": 8512345678, "ecc": 0,
}
A100 = {
    "name": "NVIDIA A100-SXM4-80GB", "uuid": "GPU-1e7c5a90-3b2d-6f48-a1c9-2d8e4b7f0a35",
    "total": 85899345920, "used": 503 * MIB, "gpu": 0, "mem_util": 0, "temp": 31,
    "power_mw": 62123, "energy_mj": 1023456789, "ecc": 0,
}
RTX4090 = {
    "name": b"NVIDIA GeForce RTX 4090", "uuid": b"GPU-6c0f8e21-7d4a-b395-0e6c-8a2f1d5b7c90",
    "total": 25757220864, "used": 1795 * MIB, "gpu": 12, "mem_util": 4, "temp": 44,
    "power_mw": 38560, "energy_mj": 95123456,
    "not_supported": {"ecc", "events"},
}


class Handle:
    def __init__(self, index: int) -> None:
        self.index = index


class FakeNvml:
    """Only the names the backend uses; everything else raises AttributeError like a missing symbol."""

    NVMLError = pynvml.NVMLError
    NVMLError_NotSupported = pynvml.NVMLError_NotSupported
    NVMLError_LibraryNotFound = pynvml.NVMLError_LibraryNotFound
    NVMLError_Timeout = pynvml.NVMLError_Timeout
    NVMLError_GpuIsLost = pynvml.NVMLError_GpuIsLost
    NVML_TEMPERATURE_GPU = pynvml.NVML_TEMPERATURE_GPU
    NVML_MEMORY_ERROR_TYPE_UNCORRECTED = pynvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED
    NVML_VOLATILE_ECC = pynvml.NVML_VOLATILE_ECC
    nvmlEventTypeXidCriticalError = pynvml.nvmlEventTypeXidCriticalError

    def __init__(self, devices: list[dict], *, library_missing: bool = False) -> None:
        self.devices = [dict(device) for device in devices]
        self.library_missing = library_missing
        self.pending_events: list[SimpleNamespace] = []
        self.registered: list[int] = []
        self.calls: list[str] = []
        self.shut_down = False

    def _device(self, handle: Handle) -> dict:
        device = self.devices[handle.index]
        if device.get("lost"):
            raise pynvml.NVMLError_GpuIsLost()
        return device

    def _field(self, handle: Handle, key: str, value_key: str | None = None):
        device = self._device(handle)
        if key in device.get("not_supported", set()):
            raise pynvml.NVMLError_NotSupported()
        return device[value_key or key]

    def nvmlInit(self) -> None:
        self.calls.append("nvmlInit")
        if self.library_missing:
            raise pynvml.NVMLError_LibraryNotFound()

    def nvmlShutdown(self) -> None:
        self.shut_down = True

    def nvmlDeviceGetCount(self) -> int:
        return len(self.devices)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> Handle:
        return Handle(index)

    def nvmlDeviceGetUUID(self, handle: Handle):
        return self.devices[handle.index]["uuid"]

    def nvmlDeviceGetName(self, handle: Handle):
        return self.devices[handle.index]["name"]

    def nvmlDeviceGetMemoryInfo(self, handle: Handle):
        device = self._device(handle)
        return SimpleNamespace(total=device["total"], used=device["used"], free=device["total"] - device["used"])

    def nvmlDeviceGetUtilizationRates(self, handle: Handle):
        device = self._device(handle)
        return SimpleNamespace(gpu=device["gpu"], memory=device["mem_util"])

    def nvmlDeviceGetTemperature(self, handle: Handle, sensor: int) -> int:
        assert sensor == pynvml.NVML_TEMPERATURE_GPU
        return self._field(handle, "temp")

    def nvmlDeviceGetPowerUsage(self, handle: Handle) -> int:
        return self._field(handle, "power", "power_mw")

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: Handle) -> int:
        return self._field(handle, "energy", "energy_mj")

    def nvmlDeviceGetTotalEccErrors(self, handle: Handle, error_type: int, counter_type: int) -> int:
        assert (error_type, counter_type) == (pynvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED, pynvml.NVML_VOLATILE_ECC)
        return self._field(handle, "ecc")

    def nvmlEventSetCreate(self):
        return "event-set"

    def nvmlDeviceRegisterEvents(self, handle: Handle, event_types: int, event_set) -> None:
        if "events" in self.devices[handle.index].get("not_supported", set()):
            raise pynvml.NVMLError_NotSupported()
        assert event_types == pynvml.nvmlEventTypeXidCriticalError
        self.registered.append(handle.index)

    def nvmlEventSetWait(self, event_set, timeout_ms: int):
        assert timeout_ms == 0  # the heartbeat must never block on events
        if not self.pending_events:
            raise pynvml.NVMLError_Timeout()
        return self.pending_events.pop(0)

    def nvmlEventSetFree(self, event_set) -> None:
        pass

    def raise_xid(self, index: int, xid: int) -> None:
        self.pending_events.append(SimpleNamespace(device=Handle(index), eventType=pynvml.nvmlEventTypeXidCriticalError,
                                                   eventData=xid, gpuInstanceId=0xFFFFFFFF,
                                                   computeInstanceId=0xFFFFFFFF))
