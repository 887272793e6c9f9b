"""Huawei Ascend NPUs through the text table of ``npu-smi info``.

``npu-smi info`` prints two table rows per chip::

    | NPU   Name                | Health        | Power(W)    Temp(C)           Hugepages-Usage(page)|
    | Chip                      | Bus-Id        | AICore(%)   Memory-Usage(MB)  HBM-Usage(MB)        |
    | 0     910B3               | OK            | 94.7        54                0    / 0             |
    | 0                         | 0000:C1:00.0  | 0           0    / 0          3396 / 65536         |

Inference cards (310P) have a ``Chip Device`` column pair and no HBM column; a Duo card shows one row
pair per chip under the same NPU id. Values the tool cannot read print as ``NA``. A process table
follows the device table. The parser reads columns by position inside ``|`` cells and by the header
(so an ``HBM-Usage`` column is only read when the header says it is there).

The command runner is injectable so tests feed recorded output.
"""

from __future__ import annotations

import contextlib
import logging
import re
import subprocess
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass, field

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

Runner = Callable[[list[str]], str]

_BUS_ID = re.compile(r"^[0-9A-Fa-f]{4,8}:[0-9A-Fa-f]{2}:[0-9A-Fa-f]{2}\.[0-7]$")
_PAIR = re.compile(r"(\d+)\s*/\s*(\d+)")
_NAME_ROW = re.compile(r"^(\d+)\s+(\S+)$")
# A fixed namespace so an NPU gets the same identifier on every run of every agent version.
_NPU_NAMESPACE = uuidlib.UUID("6f1d2c3a-5b7e-4e0f-9a41-7c2b8d9e0a13")
_HEALTH = {"ok": HEALTH_OK, "warning": HEALTH_DEGRADED, "alarm": HEALTH_DEGRADED, "critical": HEALTH_FAILED}


@dataclass
class NpuChip:
    """One chip (one schedulable device) as printed by ``npu-smi info``."""

    npu_id: int
    chip_id: int
    device_id: int | None
    name: str
    health: str
    power_w: float | None
    temperature_c: float | None
    bus_id: str
    aicore_pct: float | None
    memory_used_mb: int | None
    memory_total_mb: int | None
    hbm_used_mb: int | None = None
    hbm_total_mb: int | None = None

    @property
    def used_mib(self) -> int:
        if self.hbm_total_mb:
            return self.hbm_used_mb or 0
        return self.memory_used_mb or 0

    @property
    def total_mib(self) -> int:
        return self.hbm_total_mb or self.memory_total_mb or 0


@dataclass
class NpuProcess:
    npu_id: int
    chip_id: int
    pid: int
    name: str
    memory_mb: int


@dataclass
class NpuSmiInfo:
    version: str | None = None
    chips: list[NpuChip] = field(default_factory=list)
    processes: list[NpuProcess] = field(default_factory=list)
    has_device_column: bool = False


def _number(token: str | None) -> float | None:
    if token is None:
        return None
    try:
        return float(token)
    except ValueError:
        return None  # "NA", "-"


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def parse_npu_smi_info(text: str) -> NpuSmiInfo:
    """Parse the output of ``npu-smi info``; rows it does not understand are skipped."""
    info = NpuSmiInfo()
    has_hbm = False
    in_processes = False
    pending: tuple[int, str, str, float | None, float | None] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line.startswith("|"):
            continue
        cells = _cells(line)
        first = cells[0]
        if first.startswith("npu-smi"):
            match = re.search(r"Version:\s*(\S+)", line)
            info.version = match.group(1) if match else first.split()[-1]
            continue
        if "Process id" in line:
            in_processes = True
            continue
        if first.startswith("NPU") and "Name" in first:
            continue
        if first.startswith("Chip"):
            info.has_device_column = "Device" in first
            has_hbm = len(cells) > 2 and "HBM-Usage" in cells[2]
            continue
        if in_processes:
            if len(cells) >= 4:
                ids = first.split()
                with contextlib.suppress(IndexError, ValueError):
                    info.processes.append(NpuProcess(npu_id=int(ids[0]), chip_id=int(ids[1]), pid=int(cells[1]),
                                                     name=cells[2], memory_mb=int(cells[3])))
            continue
        if len(cells) < 3:
            continue
        if _BUS_ID.match(cells[1]):
            if pending is None:
                continue  # a chip row without its name row: not a layout we know
            npu_id, name, health, power, temperature = pending
            pending = None
            ids = first.split()
            pairs = [(int(used), int(total)) for used, total in _PAIR.findall(cells[2])]
            aicore_token = cells[2].split()[0] if cells[2].split() else None
            memory = pairs[0] if pairs else (None, None)
            hbm = pairs[1] if has_hbm and len(pairs) > 1 else (None, None)
            try:
                chip_id = int(ids[0])
                device_id = int(ids[1]) if info.has_device_column and len(ids) > 1 else None
            except (IndexError, ValueError):
                continue
            info.chips.append(NpuChip(
                npu_id=npu_id, chip_id=chip_id, device_id=device_id, name=name, health=health,
                power_w=power, temperature_c=temperature, bus_id=cells[1].upper(),
                aicore_pct=_number(aicore_token), memory_used_mb=memory[0], memory_total_mb=memory[1],
                hbm_used_mb=hbm[0], hbm_total_mb=hbm[1],
            ))
            continue
        match = _NAME_ROW.match(first)
        if match:
            tokens = cells[2].split()
            power = _number(tokens[0]) if tokens else None
            temperature = _number(tokens[1]) if len(tokens) > 1 else None
            pending = (int(match.group(1)), match.group(2), cells[1], power, temperature)
    return info


def model_name(name: str) -> str:
    """``910B3`` → ``Ascend910B3`` (the name the catalog and CANN's SOC_VERSION use)."""
    return name if name.lower().startswith("ascend") else f"Ascend{name}"


def default_runner(argv: list[str]) -> str:
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except FileNotFoundError as exc:
        raise DeviceBackendError(
            f"{argv[0]} not found on PATH: install the Ascend driver (npu-smi ships with it) "
            "or run with --devices simulated") from exc
    except subprocess.TimeoutExpired as exc:
        raise DeviceBackendError(f"{' '.join(argv)} did not answer within 30 s") from exc
    if completed.returncode != 0:
        raise DeviceBackendError(f"{' '.join(argv)} exited {completed.returncode}: {completed.stderr.strip()[:500]}")
    return completed.stdout


class AscendBackend(DeviceBackend):
    name = "ascend"

    def __init__(self, *, hostname: str, runner: Runner | None = None, command: str = "npu-smi") -> None:
        self._hostname = hostname
        self._runner = runner or default_runner
        self._argv = [command, "info"]
        info = self._read()
        if not info.chips:
            raise DeviceBackendError("npu-smi info printed no NPU rows this agent understands")
        self._devices: list[DeviceInfo] = []
        self._keys: list[tuple[str, int]] = []
        for position, chip in enumerate(info.chips):
            # ASCEND_RT_VISIBLE_DEVICES takes logical ids: the Device column where the tool prints it,
            # otherwise the order of the chips (one chip per NPU on training cards).
            index = chip.device_id if chip.device_id is not None else position
            self._devices.append(DeviceInfo(
                uuid=self._uuid(chip), index=index, model=model_name(chip.name), vendor="huawei",
                memory_total_mib=chip.total_mib,
            ))
            self._keys.append((chip.bus_id, chip.chip_id))

    def _uuid(self, chip: NpuChip) -> str:
        # npu-smi's table has no UUID; the host name with the PCI address and chip id is stable and unique.
        return "NPU-" + str(uuidlib.uuid5(_NPU_NAMESPACE, f"{self._hostname}/{chip.bus_id}/{chip.chip_id}"))

    def _read(self) -> NpuSmiInfo:
        return parse_npu_smi_info(self._runner(list(self._argv)))

    def inventory(self) -> list[DeviceInfo]:
        return list(self._devices)

    def sample(self) -> list[DeviceSample]:
        info = self._read()
        by_key = {(chip.bus_id, chip.chip_id): chip for chip in info.chips}
        samples = []
        for device, key in zip(self._devices, self._keys, strict=True):
            chip = by_key.get(key)
            if chip is None:
                logger.warning("NPU %s (%s chip %d) is missing from npu-smi info", device.index, *key)
                samples.append(DeviceSample(uuid=device.uuid, index=device.index, utilization_pct=0.0,
                                            memory_used_mib=0, memory_total_mib=device.memory_total_mib,
                                            health=HEALTH_FAILED))
                continue
            health = _HEALTH.get(chip.health.lower())
            if health is None:
                logger.warning("NPU %d reports health %r; treating it as degraded", device.index, chip.health)
                health = HEALTH_DEGRADED
            samples.append(DeviceSample(
                uuid=device.uuid, index=device.index,
                utilization_pct=min(100.0, max(0.0, chip.aicore_pct or 0.0)),
                memory_used_mib=chip.used_mib, memory_total_mib=chip.total_mib or device.memory_total_mib,
                temperature_c=chip.temperature_c, power_w=chip.power_w, energy_mj=None,
                health=health,
            ))
        return samples
