"""TideGrid placement engine: pure Python + numpy, no Django, no I/O.

    from workers.placement import ClusterState, Request, decide
    state = ClusterState.from_nodes(nodes)          # plain data in
    d = decide(state, Request(cpu_milli=4000, memory_mib=8192, gpu_milli=470))
    if d: state.apply(d)                            # else: d.reasons

See docs/placement.md.
"""

from .engine import apply_gang, decide, decide_gang, explain, region_groups
from .model import (
    MILLI,
    Allocation,
    Decision,
    DeviceSpec,
    GangDecision,
    NodeSpec,
    Profile,
    Request,
    Unschedulable,
)
from .policies import DEFAULT_POLICY, POLICIES
from .state import ClusterState, FragModel, WorkloadClass, workload_classes
from .target import install_target_workload

__all__ = [
    "DEFAULT_POLICY",
    "MILLI",
    "POLICIES",
    "Allocation",
    "ClusterState",
    "Decision",
    "DeviceSpec",
    "FragModel",
    "GangDecision",
    "NodeSpec",
    "Profile",
    "Request",
    "Unschedulable",
    "WorkloadClass",
    "apply_gang",
    "decide",
    "decide_gang",
    "explain",
    "install_target_workload",
    "region_groups",
    "workload_classes",
]
