"""Plain data types of the placement engine: cluster description, requests, decisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

MILLI = 1000  # one whole device in milli-GPU
SLICING_MODES = ("fractional", "mig", "vnpu", "whole")


@dataclass(frozen=True)
class Profile:
    """A fixed slice shape (MIG / vNPU profile) offered by a device model."""

    name: str
    compute_milli: int
    memory_mib: int


@dataclass
class DeviceSpec:
    model: str
    memory_mib: int
    vendor: str = "nvidia"
    memory_free_mib: int | None = None
    fp16_tflops: float = 0.0
    milli_free: int = MILLI
    slicing: str = "fractional"
    profiles: tuple[Profile, ...] = ()

    def __post_init__(self) -> None:
        if self.slicing not in SLICING_MODES:
            raise ValueError(f"unknown slicing mode {self.slicing!r}")
        if self.memory_free_mib is None:
            self.memory_free_mib = self.memory_mib
        if not 0 <= self.milli_free <= MILLI:
            raise ValueError("milli_free must be within 0..1000")


@dataclass
class NodeSpec:
    id: str
    cpu_milli: int
    memory_mib: int
    region: str = "default"
    cpu_free_milli: int | None = None
    memory_free_mib: int | None = None
    labels: dict[str, str] = field(default_factory=dict)
    price_factor: float = 1.0
    devices: list[DeviceSpec] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.cpu_free_milli is None:
            self.cpu_free_milli = self.cpu_milli
        if self.memory_free_mib is None:
            self.memory_free_mib = self.memory_mib
        self.devices = [d if isinstance(d, DeviceSpec) else _device_from_dict(d) for d in self.devices]


def _device_from_dict(d: dict[str, Any]) -> DeviceSpec:
    d = dict(d)
    d["profiles"] = tuple(p if isinstance(p, Profile) else Profile(**p) for p in d.get("profiles", ()))
    return DeviceSpec(**d)


def node_from_dict(d: dict[str, Any]) -> NodeSpec:
    return d if isinstance(d, NodeSpec) else NodeSpec(**d)


@dataclass(frozen=True)
class Request:
    """What a workload asks for.

    Exactly one GPU shape: ``gpu_count`` whole devices (1-8, one node), or one fractional slice
    (``gpu_milli`` < 1000, optional ``gpu_memory_mib``), or a named ``profile`` (MIG / vNPU), or none
    (CPU only). ``gpu_count=1, gpu_milli<1000`` is accepted as a fractional slice (trace format).
    """

    cpu_milli: int = 0
    memory_mib: int = 0
    gpu_count: int = 0
    gpu_milli: int = 0
    gpu_memory_mib: int = 0
    profile: str | None = None
    models: tuple[str, ...] | None = None
    vendors: tuple[str, ...] | None = None
    min_gpu_memory_mib: int = 0
    min_fp16_tflops: float = 0.0
    preferred_region: str | None = None
    allowed_regions: tuple[str, ...] | None = None
    priority: int = 0
    preemptible: bool = False
    gang_size: int = 1
    labels: tuple[tuple[str, str], ...] = ()
    id: str | None = None

    @property
    def kind(self) -> str:
        if self.profile:
            return "profile"
        if 0 < self.gpu_milli < MILLI and self.gpu_count <= 1:
            return "fractional"
        if self.gpu_count >= 1:
            return "whole"
        return "cpu"

    def validate(self) -> None:
        k = self.kind
        if self.cpu_milli < 0 or self.memory_mib < 0 or self.gpu_memory_mib < 0:
            raise ValueError("negative request")
        if k == "whole" and not 1 <= self.gpu_count <= 8:
            raise ValueError("gpu_count must be 1..8")
        if k == "whole" and self.gpu_milli not in (0, MILLI):
            raise ValueError("whole-device requests take the full device (gpu_milli 0 or 1000)")
        if k == "profile" and (self.gpu_count > 1 or self.gpu_milli > 0):
            raise ValueError("a profile request names its slice; do not also give gpu_milli/gpu_count")
        if self.gang_size < 1:
            raise ValueError("gang_size must be >= 1")

    @property
    def total_gpu_milli(self) -> int:
        k = self.kind
        if k == "whole":
            return self.gpu_count * MILLI
        if k == "fractional":
            return self.gpu_milli
        return 0


@dataclass
class Decision:
    node_id: str
    node_index: int
    device_indices: tuple[int, ...]
    slice_milli: tuple[int, ...]
    slice_memory_mib: tuple[int, ...]
    request: Request
    score: dict[str, Any] = field(default_factory=dict)
    preempt: tuple[str, ...] = ()  # allocation ids that must be evicted first
    allocation_id: str | None = None


@dataclass
class GangDecision:
    members: list[Decision]
    request: Request
    score: dict[str, Any] = field(default_factory=dict)


@dataclass
class Unschedulable:
    request: Request
    reasons: list[str]

    def __bool__(self) -> bool:  # an Unschedulable is falsy, a Decision truthy
        return False

    def __str__(self) -> str:
        return "; ".join(self.reasons)


@dataclass
class Allocation:
    id: str
    node_index: int
    device_indices: tuple[int, ...]
    slice_milli: tuple[int, ...]
    slice_memory_mib: tuple[int, ...]
    cpu_milli: int
    memory_mib: int
    priority: int
    preemptible: bool
    tag: int  # clustering affinity tag (0 none, 1 share, 1+k for k whole GPUs)
