"""The target workload a policy measures fragmentation against, from a list of requests.

FGD (and ``tidal``, which builds on it) score a placement by how much it fragments the cluster for the
workload expected next. The trace simulator passes the trace's request mix; the live loop passes the
platform's recent requests.
"""

from __future__ import annotations

from collections.abc import Sequence

from .model import Request
from .state import ClusterState, workload_classes


def install_target_workload(state: ClusterState, requests: Sequence[Request], policy: str) -> None:
    """Set the state's target workload for ``policy``; policies that need none are left alone."""
    if not requests:
        return  # fgd refuses to run without one; tidal falls back to a generic mix
    if policy == "fgd":
        state.set_target_workload(workload_classes(requests))
    elif policy == "tidal":
        from .policies import TIDAL

        classes = workload_classes(requests, coverage=TIDAL["coverage"], memory="mean", gpu_weight=TIDAL["gpu_weight"])
        state.set_target_workload(classes, memory_aware=TIDAL["memory_aware"], capacity_aware=TIDAL["capacity_aware"])
