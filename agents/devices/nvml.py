"""NVIDIA devices through NVML (the ``pynvml`` module of the ``nvidia-ml-py`` package).

Every NVML call of the agent is in this module, made through ``self._nvml``: production passes nothing
and gets the real ``pynvml``; tests pass a recorded fake module with the same names.

A field the device does not support (``NVMLError_NotSupported``: power on some boards, ECC on GeForce,
energy before Volta) is reported as ``None`` (or 0 for the error counters); any other NVML error on a
device marks that device ``failed`` in the sample instead of failing the whole report.
"""

from __future__ import annotations

import contextlib
import logging
from types import ModuleType
from typing import Any

from .base import (
    HEALTH_DEGRADED,
    HEALTH_FAILED,
    HEALTH_OK,
    DeviceBackend,
    DeviceBackendError,
    DeviceInfo,
    DeviceSample,
)

logger = logging.getLogger(__name__)

MIB = 1024 * 1024


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class NvmlBackend(DeviceBackend):
    name = "nvml"

    def __init__(self, nvml: ModuleType | Any | None = None) -> None:
        if nvml is None:
            try:
                import pynvml as nvml  # only hosts with NVIDIA GPUs need it
            except ImportError as exc:
                raise DeviceBackendError(
                    "the nvml backend needs the nvidia-ml-py package (pip install nvidia-ml-py)") from exc
        self._nvml = nvml
        try:
            nvml.nvmlInit()
        except nvml.NVMLError_LibraryNotFound as exc:
            raise DeviceBackendError(
                "NVML library not found (libnvidia-ml.so.1): install the NVIDIA driver on this host, "
                "or run with --devices simulated") from exc
        except nvml.NVMLError as exc:
            raise DeviceBackendError(f"NVML could not be initialized: {exc}") from exc
        self._handles: list[Any] = []
        self._uuids: list[str] = []
        for index in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            self._handles.append(handle)
            self._uuids.append(_text(nvml.nvmlDeviceGetUUID(handle)))
        self._xid_counts = [0] * len(self._handles)
        self._xid_seen_at_last_sample = [0] * len(self._handles)
        self._event_set = self._xid_event_set()

    # --- XID errors -------------------------------------------------------------------------------

    def _xid_event_set(self) -> Any | None:
        """Register for critical XID events where the devices support it; None where nothing does."""
        nvml = self._nvml
        try:
            event_set = nvml.nvmlEventSetCreate()
        except nvml.NVMLError as exc:
            logger.info("XID events unavailable (%s); reporting xid_errors=0", exc)
            return None
        registered = 0
        for index, handle in enumerate(self._handles):
            try:
                nvml.nvmlDeviceRegisterEvents(handle, nvml.nvmlEventTypeXidCriticalError, event_set)
                registered += 1
            except nvml.NVMLError as exc:
                logger.info("XID events not supported on GPU %d (%s)", index, exc)
        if not registered:
            with contextlib.suppress(nvml.NVMLError):
                nvml.nvmlEventSetFree(event_set)
            return None
        return event_set

    def _drain_xid_events(self) -> None:
        nvml = self._nvml
        if self._event_set is None:
            return
        for _ in range(10_000):  # bounded: a storm of events must not stall the heartbeat
            try:
                event = nvml.nvmlEventSetWait(self._event_set, 0)
            except nvml.NVMLError_Timeout:
                return
            except nvml.NVMLError as exc:
                logger.warning("reading XID events failed: %s", exc)
                return
            try:
                uuid = _text(nvml.nvmlDeviceGetUUID(event.device))
                index = self._uuids.index(uuid)
            except (nvml.NVMLError, ValueError):
                continue
            self._xid_counts[index] += 1
            logger.warning("GPU %d (%s) raised XID %s", index, uuid, getattr(event, "eventData", "?"))

    # --- interface --------------------------------------------------------------------------------

    def inventory(self) -> list[DeviceInfo]:
        nvml = self._nvml
        devices = []
        for index, handle in enumerate(self._handles):
            memory = nvml.nvmlDeviceGetMemoryInfo(handle)
            devices.append(DeviceInfo(
                uuid=self._uuids[index], index=index, model=_text(nvml.nvmlDeviceGetName(handle)),
                vendor="nvidia", memory_total_mib=int(memory.total // MIB),
            ))
        return devices

    def sample(self) -> list[DeviceSample]:
        self._drain_xid_events()
        return [self._sample_one(index, handle) for index, handle in enumerate(self._handles)]

    def _optional(self, call, *args) -> tuple[Any, bool]:
        """(value, ok): NotSupported is (None, True), any other NVML error is (None, False)."""
        nvml = self._nvml
        try:
            return call(*args), True
        except nvml.NVMLError_NotSupported:
            return None, True
        except nvml.NVMLError as exc:
            logger.warning("%s failed: %s", getattr(call, "__name__", "NVML call"), exc)
            return None, False

    def _sample_one(self, index: int, handle: Any) -> DeviceSample:
        nvml = self._nvml
        healthy = True
        memory, ok = self._optional(nvml.nvmlDeviceGetMemoryInfo, handle)
        healthy &= ok
        utilization, ok = self._optional(nvml.nvmlDeviceGetUtilizationRates, handle)
        healthy &= ok
        temperature, ok = self._optional(nvml.nvmlDeviceGetTemperature, handle, nvml.NVML_TEMPERATURE_GPU)
        healthy &= ok
        power_mw, ok = self._optional(nvml.nvmlDeviceGetPowerUsage, handle)
        healthy &= ok
        energy_mj, ok = self._optional(nvml.nvmlDeviceGetTotalEnergyConsumption, handle)
        healthy &= ok
        ecc, ok = self._optional(nvml.nvmlDeviceGetTotalEccErrors, handle,
                                 nvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED, nvml.NVML_VOLATILE_ECC)
        healthy &= ok

        xid = self._xid_counts[index]
        new_xid = xid > self._xid_seen_at_last_sample[index]
        self._xid_seen_at_last_sample[index] = xid
        if not healthy:
            health = HEALTH_FAILED  # e.g. NVMLError_GpuIsLost: the device fell off the bus
        elif new_xid or (ecc or 0) > 0:
            health = HEALTH_DEGRADED
        else:
            health = HEALTH_OK
        return DeviceSample(
            uuid=self._uuids[index], index=index,
            utilization_pct=float(utilization.gpu) if utilization is not None else 0.0,
            memory_used_mib=int(memory.used // MIB) if memory is not None else 0,
            memory_total_mib=int(memory.total // MIB) if memory is not None else 0,
            temperature_c=float(temperature) if temperature is not None else None,
            power_w=round(power_mw / 1000.0, 3) if power_mw is not None else None,
            energy_mj=int(energy_mj) if energy_mj is not None else None,
            ecc_errors=int(ecc or 0), xid_errors=xid, health=health,
        )

    def close(self) -> None:
        nvml = self._nvml
        if self._event_set is not None:
            with contextlib.suppress(nvml.NVMLError):
                nvml.nvmlEventSetFree(self._event_set)
            self._event_set = None
        with contextlib.suppress(nvml.NVMLError):
            nvml.nvmlShutdown()
