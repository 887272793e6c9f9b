"""Cluster state as numpy arrays, with incremental updates and a per-node fragmentation cache."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .model import MILLI, Allocation, Decision, NodeSpec, Request, node_from_dict

SLICING_CODE = {"fractional": 0, "mig": 1, "vnpu": 2, "whole": 3}


@dataclass(frozen=True)
class WorkloadClass:
    """One class of the target workload used by fragmentation measures (FGD's "typical pods")."""

    cpu_milli: int
    gpu_milli: int  # per GPU; 0 for CPU-only
    gpu_count: int
    models: tuple[str, ...] | None
    share: float
    memory_mib: int = 0


def workload_classes(requests: Iterable[Request], coverage: float = 0.95, memory: str = "none",
                     gpu_weight: float = 0.0) -> list[WorkloadClass]:
    """The most popular (cpu, gpu_milli, gpu_count, models) classes covering ``coverage`` of the requests.

    As in the FGD paper's simulator: CPU-only requests count, memory is not part of the key, classes are
    added one at a time in decreasing popularity until the cumulative share reaches ``coverage``, and the
    shares are renormalised. ``memory="mean"`` attaches the mean memory request of each class (used by
    the memory-aware measure of the ``tidal`` policy). ``gpu_weight`` > 0 counts a whole-GPU request as
    ``1 + gpu_count * gpu_weight`` requests (the reference simulator's ``gpuResWeight``), so rare but large
    multi-GPU shapes get a say.
    """
    counts: dict[tuple, list[int]] = {}
    total = 0
    for r in requests:
        k = r.kind
        milli = MILLI if k == "whole" else (r.gpu_milli if k == "fractional" else 0)
        num = r.gpu_count if k == "whole" else (1 if k == "fractional" else 0)
        key = (r.cpu_milli or 100, milli, num, tuple(sorted(r.models)) if r.models else None)
        w = 1.0 + num * gpu_weight if (gpu_weight > 0 and milli == MILLI) else 1.0
        slot = counts.setdefault(key, [0.0, 0, 0])
        slot[0] += w
        slot[1] += r.memory_mib
        slot[2] += 1
        total += w
    if not total:
        return []
    # decreasing count; ties in decreasing (cpu, milli, num, models) as the reference sort does
    order = sorted(counts.items(), key=lambda kv: (kv[1][0], kv[0][0], kv[0][1], kv[0][2], kv[0][3] or ()),
                   reverse=True)
    chosen, cum = [], 0
    for key, (cnt, mem, n) in order:
        if cum >= coverage * total:
            break
        chosen.append((key, cnt, mem, n))
        cum += cnt
    out = []
    for (cpu, milli, num, models), cnt, mem, n in chosen:
        out.append(WorkloadClass(cpu, milli, num, models, cnt / cum, (mem // n) if memory == "mean" else 0))
    return out


class FragModel:
    """Per-node expected fragmentation F_n(M) against a target workload M (vectorized, cached per node).

    For class m on node n: if m is CPU-only, or cannot be hosted (CPU, GPU count, model and - when
    ``memory_aware`` - host memory), all free GPU milli of n count as fragment; otherwise the free milli
    of the devices that cannot host one of m's GPUs. F_n = sum_m share_m * F_n(m).

    ``blend`` (default 0; the ``tidal`` policy sets it on its resource-aware model) adds ``blend`` x the
    plain FGD measure of the same classes, computed from the same cached per-class aggregates.
    """

    def __init__(self, state: ClusterState, classes: Sequence[WorkloadClass], memory_aware: bool = False,
                 capacity_aware: bool = False):
        self.state = state
        self.classes = list(classes)
        self.memory_aware = memory_aware
        self.capacity_aware = capacity_aware
        self.blend = 0.0  # weight of the plain FGD measure added to a resource-aware one (``tidal``)
        m = len(self.classes)
        self.cpu = np.array([c.cpu_milli for c in classes], dtype=np.int64).reshape(m)
        self.mem = np.array([c.memory_mib for c in classes], dtype=np.int64).reshape(m)
        self.milli = np.array([c.gpu_milli for c in classes], dtype=np.int64).reshape(m)
        self.num = np.array([c.gpu_count for c in classes], dtype=np.int64).reshape(m)
        self.prob = np.array([c.share for c in classes], dtype=np.float64).reshape(m)
        self.is_cpu = self.milli == 0
        self.not_cpu = ~self.is_cpu
        self.prob_sum = float(self.prob.sum())
        self.base_prob = self.prob.copy()  # the class shares; ``prob`` = shares x ``weights``
        self.weights = np.ones(m)
        self.tidal_settings: tuple | None = None  # what ``tidal`` last configured this model with
        self.cpu_div = np.maximum(self.cpu, 1).astype(np.float64)
        self.mem_div = np.where(self.mem > 0, self.mem, 1e-9).astype(np.float64)
        self.per_pod = (self.milli * self.num).astype(np.float64)
        elig = np.zeros((*state.dev_valid.shape, m), dtype=bool)
        frac_ok = state.dev_valid & (state.dev_slicing == SLICING_CODE["fractional"])
        for j, c in enumerate(self.classes):
            base = frac_ok if 0 < c.gpu_milli < MILLI else state.dev_valid
            if c.models:
                codes = [state.model_codes[x] for x in c.models if x in state.model_codes]
                base = base & np.isin(state.dev_model, codes)
            elig[:, :, j] = base
        self.elig = elig
        # per-node eligibility when a node's devices are alike (the common case): fast whole-device path
        self.elig_node = elig.any(axis=1)
        same = (elig == self.elig_node[:, None, :]) | ~state.dev_valid[:, :, None]
        self.uniform = bool(same.all())
        self.recompute()

    def recompute(self, rows: np.ndarray | None = None) -> None:
        s = self.state
        if rows is None:
            free = s.dev_milli_free
            fit = self.elig & (free[:, :, None] >= self.milli[None, None, :])
            self.usable = np.einsum("nd,ndm->nm", free, fit).astype(np.float64)
            self.count = fit.sum(axis=1)
            self.total = free.sum(axis=1)
            self.F = self._frag(self.usable, self.count, self.total, s.cpu_free, s.mem_free)
        else:
            free = s.dev_milli_free[rows]
            fit = self.elig[rows] & (free[:, :, None] >= self.milli[None, None, :])
            self.usable[rows] = np.einsum("nd,ndm->nm", free, fit)
            self.count[rows] = fit.sum(axis=1)
            self.total[rows] = free.sum(axis=1)
            self.F[rows] = self._frag(self.usable[rows], self.count[rows], self.total[rows], s.cpu_free[rows],
                                      s.mem_free[rows])

    def scarcity(self) -> np.ndarray:
        """Per class: the cluster's free GPU milli / the GPU milli that pods of the class could still take.

        1 for a class that could use all free capacity; 20 for one that only 1/20 of it can host (on the
        openb cluster: 8-GPU pods asking for 120 cores, which only the 39 G3 nodes have). A node's room for
        a class is the number of its pods the node could still take (fitting devices / GPUs per pod, capped
        by CPU and, if known, memory). CPU-only classes get 1.
        """
        s = self.state
        gpu_cap = np.where(self.milli >= MILLI, self.count // np.maximum(self.num, 1), self.count).astype(np.float64)
        cap = np.minimum(gpu_cap, np.floor(s.cpu_free[:, None] / self.cpu_div))
        if (self.mem > 0).any():
            cap = np.minimum(cap, np.floor(s.mem_free[:, None] / self.mem_div))
        slots = cap.sum(axis=0) * self.per_pod
        # free milli on the devices each class may use (its model / slicing restrictions are its choice)
        free = np.einsum("nd,ndm->m", s.dev_milli_free, self.elig).astype(np.float64)
        return np.where(self.is_cpu, 1.0, free / np.maximum(slots, 1.0))

    def set_weights(self, weights: np.ndarray) -> None:
        """Weigh each class's share (F_n = sum_m share_m x weight_m x F_n(m)) and recompute every node."""
        self.weights = np.asarray(weights, dtype=np.float64)
        self.prob = self.base_prob * self.weights
        self.prob_sum = float(self.prob.sum())
        self.recompute()

    def _frag(self, usable, count, total, cpu, mem):
        q3 = (count >= self.num) & (cpu[:, None] >= self.cpu) & self.not_cpu
        if self.blend:
            # plus ``blend`` x the plain FGD measure (same usable milli, CPU / count / type check only)
            plain = total * self.prob_sum - (usable * q3) @ self.prob
        if self.memory_aware:
            q3 &= mem[:, None] >= self.mem
        if self.capacity_aware:
            # GPUs that a class cannot use because the node's CPU (or memory) runs out first are fragment
            cap = np.floor(cpu[:, None] / self.cpu_div)
            if self.memory_aware:
                cap = np.minimum(cap, np.floor(mem[:, None] / self.mem_div))
            usable = np.minimum(usable, cap * self.per_pod)
        # F = sum_m p_m * (total - usable_m if m fits else total), with sum_m p_m = 1
        F = total * self.prob_sum - (usable * q3) @ self.prob
        return F + self.blend * plain if self.blend else F

    def after_slice(self, nodes, devs, milli, cpu, mem):
        """F of each candidate node after taking ``milli`` from device ``devs`` (and cpu/mem)."""
        s = self.state
        f = s.dev_milli_free[nodes, devs]
        e = self.elig[nodes, devs]
        before = e & (f[:, None] >= self.milli)
        after = e & ((f - milli)[:, None] >= self.milli)
        usable = self.usable[nodes] - f[:, None] * before + (f - milli)[:, None] * after
        count = self.count[nodes] - before + after
        return self._frag(usable, count, self.total[nodes] - milli, s.cpu_free[nodes] - cpu, s.mem_free[nodes] - mem)

    def after_devices(self, nodes, chosen, cpu, mem):
        """F after taking the whole devices marked in ``chosen`` ([K, D] bool) of each candidate node."""
        s = self.state
        if not chosen.any():
            return self._frag(self.usable[nodes], self.count[nodes], self.total[nodes], s.cpu_free[nodes] - cpu,
                              s.mem_free[nodes] - mem)
        f = np.where(chosen, s.dev_milli_free[nodes], 0)
        if self.uniform and bool((f[chosen] == MILLI).all()):
            k = chosen.sum(axis=1)
            en = self.elig_node[nodes]
            gone = en * k[:, None]
            return self._frag(self.usable[nodes] - MILLI * gone, self.count[nodes] - gone,
                              self.total[nodes] - MILLI * k, s.cpu_free[nodes] - cpu, s.mem_free[nodes] - mem)
        e = self.elig[nodes]
        fit = e & (f[:, :, None] >= self.milli)
        usable = self.usable[nodes] - np.einsum("kd,kdm->km", f, fit)
        count = self.count[nodes] - (fit & chosen[:, :, None]).sum(axis=1)
        return self._frag(usable, count, self.total[nodes] - f.sum(axis=1), s.cpu_free[nodes] - cpu,
                          s.mem_free[nodes] - mem)


class ClusterState:
    """Free and total capacity of every node and device, as numpy arrays.

    Build it with :meth:`from_nodes` from plain data (``NodeSpec`` or dicts). ``apply`` and ``release``
    change only the touched node's rows and refresh only that node's cached fragmentation.
    """

    def __init__(self, nodes: Sequence[NodeSpec | dict]):
        nodes = [node_from_dict(n) for n in nodes]
        self.nodes = nodes
        n = len(nodes)
        d = max([len(x.devices) for x in nodes] + [1])
        self.node_ids = [x.id for x in nodes]
        if len(set(self.node_ids)) != n:
            raise ValueError("duplicate node ids")
        self.index = {nid: i for i, nid in enumerate(self.node_ids)}
        self.regions = sorted({x.region for x in nodes})
        self.region_code = {r: i for i, r in enumerate(self.regions)}
        self.node_region = np.array([self.region_code[x.region] for x in nodes], dtype=np.int64)
        self.price = np.array([x.price_factor for x in nodes], dtype=np.float64)
        self.cpu_total = np.array([x.cpu_milli for x in nodes], dtype=np.int64)
        self.cpu_free = np.array([x.cpu_free_milli for x in nodes], dtype=np.int64)
        self.mem_total = np.array([x.memory_mib for x in nodes], dtype=np.int64)
        self.mem_free = np.array([x.memory_free_mib for x in nodes], dtype=np.int64)
        self.tie_rank = np.arange(n, dtype=np.int64)
        models = sorted({dv.model for x in nodes for dv in x.devices})
        vendors = sorted({dv.vendor for x in nodes for dv in x.devices})
        self.model_codes = {m: i for i, m in enumerate(models)}
        self.vendor_codes = {v: i for i, v in enumerate(vendors)}
        self.models, self.vendors = models, vendors
        self.dev_valid = np.zeros((n, d), dtype=bool)
        self.dev_milli_free = np.zeros((n, d), dtype=np.int64)
        self.dev_mem_total = np.zeros((n, d), dtype=np.int64)
        self.dev_mem_free = np.zeros((n, d), dtype=np.int64)
        self.dev_model = np.full((n, d), -1, dtype=np.int64)
        self.dev_vendor = np.full((n, d), -1, dtype=np.int64)
        self.dev_tflops = np.zeros((n, d), dtype=np.float64)
        self.dev_slicing = np.full((n, d), -1, dtype=np.int64)
        self.profile_milli: dict[str, np.ndarray] = {}
        self.profile_mem: dict[str, np.ndarray] = {}
        for i, x in enumerate(nodes):
            for j, dv in enumerate(x.devices):
                self.dev_valid[i, j] = True
                self.dev_milli_free[i, j] = dv.milli_free
                self.dev_mem_total[i, j] = dv.memory_mib
                self.dev_mem_free[i, j] = dv.memory_free_mib
                self.dev_model[i, j] = self.model_codes[dv.model]
                self.dev_vendor[i, j] = self.vendor_codes[dv.vendor]
                self.dev_tflops[i, j] = dv.fp16_tflops
                self.dev_slicing[i, j] = SLICING_CODE[dv.slicing]
                for p in dv.profiles:
                    if p.name not in self.profile_milli:
                        self.profile_milli[p.name] = np.zeros((n, d), dtype=np.int64)
                        self.profile_mem[p.name] = np.zeros((n, d), dtype=np.int64)
                    self.profile_milli[p.name][i, j] = p.compute_milli
                    self.profile_mem[p.name][i, j] = p.memory_mib
        self.dev_count = self.dev_valid.sum(axis=1)
        # clustering affinity tags per node: 0 share, k for k whole GPUs (1..8)
        self.tags = np.zeros((n, 9), dtype=np.int64)
        self.allocations: dict[str, Allocation] = {}
        self.node_allocs: list[set[str]] = [set() for _ in range(n)]
        self._ids = itertools.count()
        self._static_cache: dict[tuple, np.ndarray] = {}
        self.frag: FragModel | None = None
        self.frag_alt: FragModel | None = None
        # Node signatures: nodes with the same static hardware and the same free capacity get the same id.
        # Every score of fgd / tidal / bestfit / ... (and whether a request fits) is a function of the
        # signature alone, so it is cached per (request shape, signature) and never goes stale: a change to
        # a node only moves that node to another signature. (The idea of Kubernetes' old equivalence cache.)
        static = np.concatenate([self.dev_valid, self.dev_model, self.dev_vendor, self.dev_mem_total,
                                 self.dev_tflops.view(np.int64), self.dev_slicing,
                                 *[self.profile_milli[p] for p in sorted(self.profile_milli)],
                                 *[self.profile_mem[p] for p in sorted(self.profile_mem)]], axis=1)
        if n:
            _, inverse = np.unique(static.astype(np.int64), axis=0, return_inverse=True)
            self.node_type = inverse.reshape(n).astype(np.int64)
        else:
            self.node_type = np.zeros(0, dtype=np.int64)
        self._sig_ids: dict[tuple, int] = {}
        self.sig = np.zeros(n, dtype=np.int64)
        self._feas_cache: dict[tuple, np.ndarray] = {}  # shape -> int8 per signature: -1 unknown, 0 / 1
        self._score_cache: dict[tuple, np.ndarray] = {}  # (policy, shape) -> float64 per signature, NaN unknown
        for i in range(n):
            self.sig[i] = self._signature(i)

    from_nodes = classmethod(lambda cls, nodes: cls(nodes))

    # -- signatures and the per-signature caches ---------------------------------------------------------
    def _signature(self, i: int) -> int:
        key = (int(self.node_type[i]), int(self.cpu_free[i]), int(self.mem_free[i]),
               self.dev_milli_free[i].tobytes(), self.dev_mem_free[i].tobytes())
        sid = self._sig_ids.get(key)
        if sid is None:
            sid = self._sig_ids[key] = len(self._sig_ids)
        return sid

    @property
    def n_signatures(self) -> int:
        return len(self._sig_ids)

    def refresh(self) -> None:
        """Call after writing the free-capacity arrays directly: re-derives signatures and fragmentation."""
        for i in range(len(self.node_ids)):
            self.sig[i] = self._signature(i)
        for fm in (self.frag, self.frag_alt):
            if fm is not None:
                fm.recompute()

    def invalidate_scores(self) -> None:
        """Forget cached scores (the target workload, hence every fragmentation score, changed)."""
        self._score_cache.clear()

    def _grown(self, arr: np.ndarray, fill) -> np.ndarray:
        n = self.n_signatures
        if len(arr) >= n:
            return arr
        out = np.full(max(n + n // 2, 64), fill, dtype=arr.dtype)
        out[: len(arr)] = arr
        return out

    def cached_per_signature(self, cache: dict, key, fill, dtype, compute, nodes: np.ndarray) -> np.ndarray:
        """Values of ``nodes`` from a per-signature cache; ``compute(rows)`` fills unknown signatures."""
        arr = cache.get(key)
        if arr is None:
            arr = np.full(max(self.n_signatures + self.n_signatures // 2, 64), fill, dtype=dtype)
        else:
            arr = self._grown(arr, fill)
        cache[key] = arr
        sigs = self.sig[nodes]
        vals = arr[sigs]
        unknown = (vals < 0) if dtype == np.int8 else np.isnan(vals)
        if unknown.any():
            usig, first = np.unique(sigs[unknown], return_index=True)
            rows = nodes[np.flatnonzero(unknown)[first]]
            arr[usig] = compute(rows)
            vals = arr[sigs]
        return vals

    # -- workload model ------------------------------------------------------------------------------
    def set_target_workload(self, classes: Sequence[WorkloadClass], memory_aware: bool = False,
                            capacity_aware: bool = False) -> FragModel:
        """Install the target workload: plain (FGD) or resource-aware (``tidal``, kept as ``frag_alt``)."""
        fm = FragModel(self, classes, memory_aware=memory_aware, capacity_aware=capacity_aware)
        self.invalidate_scores()
        if memory_aware or capacity_aware:
            self.frag_alt = fm
        else:
            self.frag = fm
        return fm

    # -- feasibility -----------------------------------------------------------------------------------
    def static_device_mask(self, req: Request) -> np.ndarray:
        """Devices whose kind/model/vendor/memory/TFLOPS/slicing can ever serve ``req`` (cached)."""
        k = req.kind
        key = (k, req.profile, req.models, req.vendors, req.min_gpu_memory_mib, req.min_fp16_tflops)
        m = self._static_cache.get(key)
        if m is not None:
            return m
        m = self.dev_valid.copy()
        if req.models is not None:
            m &= np.isin(self.dev_model, [self.model_codes[x] for x in req.models if x in self.model_codes])
        if req.vendors is not None:
            m &= np.isin(self.dev_vendor, [self.vendor_codes[x] for x in req.vendors if x in self.vendor_codes])
        if req.min_gpu_memory_mib:
            m &= self.dev_mem_total >= req.min_gpu_memory_mib
        if req.min_fp16_tflops:
            m &= self.dev_tflops >= req.min_fp16_tflops
        if k == "fractional":
            m &= self.dev_slicing == SLICING_CODE["fractional"]
        elif k == "profile":
            m &= np.isin(self.dev_slicing, [SLICING_CODE["mig"], SLICING_CODE["vnpu"]])
            pm = self.profile_milli.get(req.profile)
            m &= (pm > 0) if pm is not None else False
        self._static_cache[key] = m
        return m

    def slice_shape(self, req: Request) -> tuple[np.ndarray | int, np.ndarray | int]:
        """(milli, memory) taken per device, scalar or per-device array (profiles)."""
        k = req.kind
        if k == "fractional":
            return req.gpu_milli, req.gpu_memory_mib
        if k == "profile":
            if req.profile not in self.profile_milli:
                z = np.zeros_like(self.dev_milli_free)
                return z, z
            return self.profile_milli[req.profile], self.profile_mem[req.profile]
        return MILLI, self.dev_mem_total

    def device_fit(self, req: Request, static: np.ndarray | None = None, rows=slice(None)) -> np.ndarray:
        """Devices (of ``rows``, default all nodes) that can take ``req``'s slice right now."""
        static = (self.static_device_mask(req) if static is None else static)[rows]
        k = req.kind
        if k == "cpu":
            return static
        free, memf = self.dev_milli_free[rows], self.dev_mem_free[rows]
        if k == "whole":
            return static & (free == MILLI) & (memf == self.dev_mem_total[rows])
        if k == "fractional":
            return static & (free >= req.gpu_milli) & (memf >= req.gpu_memory_mib)
        pm, pmem = self.slice_shape(req)
        return static & (free >= pm[rows]) & (memf >= pmem[rows])

    def node_fit(self, req: Request, rows=slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """(node mask, device mask) of ``rows`` where ``req`` fits, ignoring regions and labels."""
        dev = self.device_fit(req, rows=rows)
        node = (self.cpu_free[rows] >= req.cpu_milli) & (self.mem_free[rows] >= req.memory_mib)
        k = req.kind
        if k == "whole":
            node &= dev.sum(axis=1) >= req.gpu_count
        elif k in ("fractional", "profile"):
            node &= dev.any(axis=1)
        return node, dev

    def fits(self, req: Request, nodes: np.ndarray | None = None) -> np.ndarray:
        """Node mask (over ``nodes``, default all) where ``req`` fits, from the per-signature cache."""
        nodes = np.arange(len(self.node_ids)) if nodes is None else nodes
        vals = self.cached_per_signature(self._feas_cache, shape_key(req), -1, np.int8,
                                         lambda rows: self.node_fit(req, rows)[0], nodes)
        return vals == 1

    def region_mask(self, regions: Iterable[str] | None) -> np.ndarray:
        if regions is None:
            return np.ones(len(self.node_ids), dtype=bool)
        codes = [self.region_code[r] for r in regions if r in self.region_code]
        return np.isin(self.node_region, codes)

    def label_mask(self, labels: tuple[tuple[str, str], ...]) -> np.ndarray:
        if not labels:
            return np.ones(len(self.node_ids), dtype=bool)
        return np.array([all(n.labels.get(k) == v for k, v in labels) for n in self.nodes], dtype=bool)

    def feasible(self, req: Request, regions: Iterable[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(node mask, device mask) of where ``req`` fits right now."""
        node, dev = self.node_fit(req)
        if regions is not None:
            node &= self.region_mask(regions)
        if req.labels:
            node &= self.label_mask(req.labels)
        return node, dev

    # -- mutation --------------------------------------------------------------------------------------
    def apply(self, decision: Decision, allocation_id: str | None = None) -> str:
        """Commit a decision (evicting ``decision.preempt`` first); returns the allocation id."""
        for victim in decision.preempt:
            self.release(victim)
        req = decision.request
        i = decision.node_index
        devs = np.asarray(decision.device_indices, dtype=np.int64)
        milli = np.asarray(decision.slice_milli, dtype=np.int64)
        mem = np.asarray(decision.slice_memory_mib, dtype=np.int64)
        if (self.cpu_free[i] < req.cpu_milli or self.mem_free[i] < req.memory_mib
                or np.any(self.dev_milli_free[i, devs] < milli) or np.any(self.dev_mem_free[i, devs] < mem)
                or not np.all(self.dev_valid[i, devs])):
            raise ValueError(f"decision no longer fits node {self.node_ids[i]}")
        self.cpu_free[i] -= req.cpu_milli
        self.mem_free[i] -= req.memory_mib
        self.dev_milli_free[i, devs] -= milli
        self.dev_mem_free[i, devs] -= mem
        tag = _tag(req)
        if tag >= 0:
            self.tags[i, tag] += 1
        aid = allocation_id or decision.allocation_id or f"a{next(self._ids)}"
        if aid in self.allocations:
            raise ValueError(f"allocation id {aid} already in use")
        self.allocations[aid] = Allocation(aid, i, tuple(int(x) for x in devs), tuple(int(x) for x in milli),
                                           tuple(int(x) for x in mem), req.cpu_milli, req.memory_mib,
                                           req.priority, req.preemptible, tag)
        self.node_allocs[i].add(aid)
        decision.allocation_id = aid
        self._touch(i)
        return aid

    def release(self, allocation_id: str) -> Allocation:
        a = self.allocations.pop(allocation_id)
        i = a.node_index
        devs = np.asarray(a.device_indices, dtype=np.int64)
        self.cpu_free[i] += a.cpu_milli
        self.mem_free[i] += a.memory_mib
        self.dev_milli_free[i, devs] += np.asarray(a.slice_milli, dtype=np.int64)
        self.dev_mem_free[i, devs] += np.asarray(a.slice_memory_mib, dtype=np.int64)
        if a.tag >= 0:
            self.tags[i, a.tag] -= 1
        self.node_allocs[i].discard(allocation_id)
        self._touch(i)
        return a

    def add_existing(self, node_id: str, request: Request, device_indices: Sequence[int], allocation_id: str,
                     slice_milli: Sequence[int] | None = None, slice_memory_mib: Sequence[int] | None = None) -> str:
        """Record an allocation that already exists (e.g. loaded from the database)."""
        i = self.index[node_id]
        k = request.kind
        devs = tuple(device_indices)
        if slice_milli is None:
            if k == "profile":
                slice_milli = tuple(int(self.profile_milli[request.profile][i, j]) for j in devs)
            else:
                slice_milli = tuple(request.gpu_milli if k == "fractional" else MILLI for _ in devs)
        if slice_memory_mib is None:
            if k == "profile":
                slice_memory_mib = tuple(int(self.profile_mem[request.profile][i, j]) for j in devs)
            elif k == "fractional":
                slice_memory_mib = tuple(request.gpu_memory_mib for _ in devs)
            else:
                slice_memory_mib = tuple(int(self.dev_mem_total[i, j]) for j in devs)
        dec = Decision(node_id, i, devs, tuple(slice_milli), tuple(slice_memory_mib), request)
        return self.apply(dec, allocation_id)

    def _touch(self, i: int) -> None:
        self.sig[i] = self._signature(i)
        rows = np.array([i])
        if self.frag is not None:
            self.frag.recompute(rows)
        if self.frag_alt is not None:
            self.frag_alt.recompute(rows)

    def copy(self) -> ClusterState:
        import copy as _copy

        return _copy.deepcopy(self)


def shape_key(req: Request) -> tuple:
    """What of a request decides where it fits and how it scores (not its region, labels or priority)."""
    return (req.kind, req.cpu_milli, req.memory_mib, req.gpu_count, req.gpu_milli, req.gpu_memory_mib, req.profile,
            req.models, req.vendors, req.min_gpu_memory_mib, req.min_fp16_tflops)


def _tag(req: Request) -> int:
    k = req.kind
    if k in ("fractional", "profile"):
        return 0
    if k == "whole":
        return req.gpu_count
    return -1
