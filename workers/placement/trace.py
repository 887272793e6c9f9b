"""Readers for the openb (Alibaba cluster-trace-gpu-v2023) node and pod lists. Only used by the tools."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .model import MILLI, DeviceSpec, NodeSpec, Request

# device memory of the trace's models (MiB); G1/G2/G3 were not disclosed, so a placeholder is used
MODEL_MEMORY_MIB = {"P100": 16280, "T4": 15109, "V100M16": 16160, "V100M32": 32510, "A10": 22731}
UNKNOWN_MODEL_MEMORY_MIB = 16384


def load_nodes(path: str | Path, region: str = "default") -> list[NodeSpec]:
    """Nodes from a ``sn,cpu_milli,memory_mib,gpu,model`` CSV (nodes without GPUs are kept as CPU nodes)."""
    out = []
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            n = int(row.get("gpu") or 0)
            model = (row.get("model") or "").strip()
            devs = [DeviceSpec(model=model, memory_mib=MODEL_MEMORY_MIB.get(model, UNKNOWN_MODEL_MEMORY_MIB))
                    for _ in range(n)]
            out.append(NodeSpec(id=row["sn"], cpu_milli=int(row["cpu_milli"]), memory_mib=int(row["memory_mib"]),
                                region=region, devices=devs))
    return out


@dataclass
class PodList:
    names: list[str]
    requests: list[Request]
    total_milli: np.ndarray  # num_gpu * gpu_milli per pod
    per_gpu_milli: np.ndarray  # gpu_milli per pod (the reference inflation loop tests this one)


def pod_request(cpu: int, mem: int, num_gpu: int, gpu_milli: int, spec: str) -> Request:
    models = tuple(x for x in spec.split("|") if x) or None
    if num_gpu == 0 or gpu_milli == 0:
        return Request(cpu_milli=cpu, memory_mib=mem)
    if num_gpu == 1 and gpu_milli < MILLI:
        return Request(cpu_milli=cpu, memory_mib=mem, gpu_milli=gpu_milli, models=models)
    return Request(cpu_milli=cpu, memory_mib=mem, gpu_count=num_gpu, models=models)


def load_pods(path: str | Path) -> PodList:
    """Pods from an 11-column or a 5-column (multigpu*) pod list, in name order."""
    rows = []
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            rows.append(row)
    rows.sort(key=lambda r: r["name"])
    cache: dict[tuple, Request] = {}
    names, reqs, tot, per = [], [], [], []
    for r in rows:
        key = (int(r["cpu_milli"]), int(r["memory_mib"]), int(r.get("num_gpu") or 0), int(r.get("gpu_milli") or 0),
               (r.get("gpu_spec") or "").strip())
        req = cache.get(key)
        if req is None:
            req = cache[key] = pod_request(*key)
        names.append(r["name"])
        reqs.append(req)
        tot.append(key[2] * key[3])
        per.append(key[3])
    return PodList(names, reqs, np.array(tot, dtype=np.int64), np.array(per, dtype=np.int64))
