"""The placement engine's entry point: :func:`decide` (plus gang placement, preemption, reasons)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

import numpy as np

from .model import MILLI, Decision, GangDecision, Request, Unschedulable
from .policies import DEFAULT_POLICY, choose
from .reasons import (
    ALL_BUSY,
    AMONG,
    ANY_REGION,
    CPU_ONLY,
    ELSEWHERE,
    FROM_VENDORS,
    GANG,
    HOST_SHORT,
    MIN_MEMORY,
    MIN_TFLOPS,
    NO_LABELS,
    NO_MATCH,
    NO_ROOM,
    NO_VICTIMS,
    PROFILE,
    PROFILE_FREE,
    SLICE,
    SLICE_FREE,
    SLICE_MEM,
    SLICE_MEM_FREE,
    WHOLE,
    WHOLE_FREE,
    Why,
)
from .state import ClusterState

MAX_EXACT_VICTIMS = 12  # exhaustive smallest-victim-set search up to this many candidates per node


def _latency(table, a: str, b: str) -> float:
    if table is None or a == b:
        return 0.0 if a == b else math.inf
    if (a, b) in table:
        return float(table[(a, b)])
    if (b, a) in table:
        return float(table[(b, a)])
    inner = table.get(a)
    if isinstance(inner, Mapping) and b in inner:
        return float(inner[b])
    inner = table.get(b)
    if isinstance(inner, Mapping) and a in inner:
        return float(inner[a])
    return math.inf


def region_groups(state: ClusterState, req: Request, latency=None) -> list[tuple[str | None, list[str] | None]]:
    """Ordered groups of regions to try: the preferred region, then allowed ones by latency, then price."""
    if req.preferred_region is None and req.allowed_regions is None:
        return [(None, None)]
    allowed = list(req.allowed_regions) if req.allowed_regions is not None else list(state.regions)
    pref = req.preferred_region
    groups: list[tuple[str | None, list[str] | None]] = []
    if pref is not None:
        groups.append((pref, [pref]))
    others = [r for r in allowed if r != pref]
    if pref is None:
        return [(None, others)]

    def price(r: str) -> float:
        code = state.region_code.get(r)
        if code is None:
            return math.inf
        sel = state.node_region == code
        return float(state.price[sel].mean()) if sel.any() else math.inf

    for r in sorted(others, key=lambda r: (_latency(latency, pref, r), price(r), r)):
        groups.append((r, [r]))
    return groups


def decide(state: ClusterState, req: Request, policy: str = DEFAULT_POLICY, *, latency=None,
           rng: np.random.Generator | None = None, preemption: bool = True):
    """Where should ``req`` go? Returns a :class:`Decision`, a :class:`GangDecision` or :class:`Unschedulable`.

    Pure: the state is not changed (call ``state.apply(decision)`` to commit).
    """
    req.validate()
    if req.gang_size > 1:
        return decide_gang(state, req, policy, latency=latency, rng=rng)
    node_ok = state.fits(req)
    if req.labels:
        node_ok &= state.label_mask(req.labels)
    groups = region_groups(state, req, latency)
    for gi, (region, regions) in enumerate(groups):
        mask = node_ok if regions is None else node_ok & state.region_mask(regions)
        nodes = np.flatnonzero(mask)
        if len(nodes) == 0:
            continue
        c = choose(state, req, nodes, policy, rng)
        return _decision(state, req, c.node, c.devices, policy, c.score, c.extra, region=region,
                         overflow=gi > 0 and groups[0][0] is not None)
    if preemption:
        for gi, (region, regions) in enumerate(groups):
            d = _preempt(state, req, regions, policy, region, gi > 0)
            if d is not None:
                return d
    return Unschedulable(req, explain(state, req, [g[1] for g in groups]))


def _decision(state, req, node, devices, policy, score, extra, region=None, overflow=False, preempt=()):
    devices = tuple(int(x) for x in devices)
    k = req.kind
    if k == "fractional":
        milli = tuple(req.gpu_milli for _ in devices)
        mem = tuple(req.gpu_memory_mib for _ in devices)
    elif k == "profile":
        milli = tuple(int(state.profile_milli[req.profile][node, j]) for j in devices)
        mem = tuple(int(state.profile_mem[req.profile][node, j]) for j in devices)
    elif k == "whole":
        milli = tuple(MILLI for _ in devices)
        mem = tuple(int(state.dev_mem_total[node, j]) for j in devices)
    else:
        milli, mem = (), ()
    breakdown = {"policy": policy, "score": score, "region": state.regions[state.node_region[node]],
                 "overflow": bool(overflow), "price_factor": float(state.price[node])}
    breakdown.update(extra)
    if preempt:
        breakdown["preempted"] = list(preempt)
    return Decision(state.node_ids[node], int(node), devices, milli, mem, req, breakdown, tuple(preempt))


# --- gang -----------------------------------------------------------------------------------------------
def decide_gang(state: ClusterState, req: Request, policy: str = DEFAULT_POLICY, *, latency=None, rng=None):
    """Place ``req.gang_size`` identical members (one node each may repeat), all or none."""
    member = Request(**{**req.__dict__, "gang_size": 1})
    placed: list[Decision] = []
    try:
        for j in range(req.gang_size):
            d = decide(state, member, policy, latency=latency, rng=rng, preemption=False)
            if not d:
                head = Why(GANG, size=req.gang_size, placed=j)
                return Unschedulable(req, [head, *d.reasons])
            state.apply(d)
            placed.append(d)
    finally:
        for d in reversed(placed):
            state.release(d.allocation_id)
    for d in placed:
        d.allocation_id = None
    return GangDecision(placed, req, {"policy": policy, "nodes": [d.node_id for d in placed]})


def apply_gang(state: ClusterState, gang: GangDecision) -> list[str]:
    """Commit every member of a gang, or none of them (rolls back on failure)."""
    done: list[str] = []
    try:
        for d in gang.members:
            done.append(state.apply(d))
    except Exception:
        for aid in reversed(done):
            state.release(aid)
        raise
    return done


# --- preemption -------------------------------------------------------------------------------------------
def _row_fit(state: ClusterState, req: Request, i: int, cpu: int, mem: int, milli: np.ndarray, dmem: np.ndarray):
    """Devices on node ``i`` for ``req`` given hypothetical free capacity, or None."""
    if cpu < req.cpu_milli or mem < req.memory_mib:
        return None
    static = state.static_device_mask(req)[i]
    k = req.kind
    if k == "cpu":
        return np.zeros(0, dtype=np.int64)
    if k == "whole":
        fit = static & (milli == MILLI) & (dmem == state.dev_mem_total[i])
        idx = np.flatnonzero(fit)
        return idx[: req.gpu_count] if len(idx) >= req.gpu_count else None
    if k == "fractional":
        pm, pmem = req.gpu_milli, req.gpu_memory_mib
    else:
        pm_all, pmem_all = state.slice_shape(req)
        pm, pmem = pm_all[i], pmem_all[i]
    fit = static & (milli >= pm) & (dmem >= pmem)
    if not fit.any():
        return None
    return np.array([int(np.argmin(np.where(fit, milli, 1 << 40)))])


def _preempt(state, req, regions, policy, region, overflow):
    nodes_ok = state.region_mask(regions) if regions is not None else np.ones(len(state.node_ids), bool)
    if req.labels:
        nodes_ok &= state.label_mask(req.labels)
    best = None
    for i in np.flatnonzero(nodes_ok):
        victims = [state.allocations[a] for a in state.node_allocs[i]]
        victims = [v for v in victims if v.preemptible and v.priority < req.priority]
        if not victims:
            continue
        victims.sort(key=lambda v: (v.priority, v.id))
        base = (int(state.cpu_free[i]), int(state.mem_free[i]), state.dev_milli_free[i].copy(),
                state.dev_mem_free[i].copy())

        def fits(subset, i=i, base=base):
            cpu, mem, milli, dmem = base[0], base[1], base[2].copy(), base[3].copy()
            for v in subset:
                cpu += v.cpu_milli
                mem += v.memory_mib
                for d, m, mm in zip(v.device_indices, v.slice_milli, v.slice_memory_mib, strict=True):
                    milli[d] += m
                    dmem[d] += mm
            return _row_fit(state, req, i, cpu, mem, milli, dmem)

        if fits(victims) is None:
            continue
        found = None
        if len(victims) <= MAX_EXACT_VICTIMS:
            for size in range(1, len(victims) + 1):
                if best is not None and size > len(best[1]):
                    break
                cands = []
                for subset in itertools.combinations(victims, size):
                    devs = fits(subset)
                    if devs is not None:
                        cands.append((sum(v.priority for v in subset), [v.id for v in subset], subset, devs))
                if cands:
                    cands.sort(key=lambda c: (c[0], c[1]))
                    found = cands[0][2], cands[0][3]
                    break
        else:  # greedy: lowest priority first, then drop the ones not needed
            chosen = []
            for v in victims:
                chosen.append(v)
                if fits(chosen) is not None:
                    break
            for v in list(chosen):
                trial = [x for x in chosen if x is not v]
                if fits(trial) is not None:
                    chosen = trial
            found = chosen, fits(chosen)
        if found is None:
            continue
        subset, devs = found
        key = (len(subset), sum(v.priority for v in subset), int(state.tie_rank[i]))
        if best is None or key < best[0]:
            best = (key, [v.id for v in subset], int(i), devs)
    if best is None:
        return None
    _, ids, i, devs = best
    return _decision(state, req, i, devs, policy, 0.0, {"preemption": True}, region=region, overflow=overflow,
                     preempt=ids)


# --- reasons ----------------------------------------------------------------------------------------------
def describe(req: Request, *, free: bool = True) -> Why:
    """What the request needs, e.g. "a device with 470 milli free among nvidia-t4"."""
    k = req.kind
    if k == "whole":
        what = Why(WHOLE_FREE if free else WHOLE, n=req.gpu_count)
    elif k == "fractional" and req.gpu_memory_mib:
        what = Why(SLICE_MEM_FREE if free else SLICE_MEM, milli=req.gpu_milli, mem=req.gpu_memory_mib)
    elif k == "fractional":
        what = Why(SLICE_FREE if free else SLICE, milli=req.gpu_milli)
    elif k == "profile":
        what = Why(PROFILE_FREE if free else PROFILE, profile=req.profile)
    else:
        what = Why(CPU_ONLY)
    if req.models:
        what = Why(AMONG, what=what, models="/".join(req.models))
    if req.vendors:
        what = Why(FROM_VENDORS, what=what, vendors="/".join(req.vendors))
    if req.min_gpu_memory_mib:
        what = Why(MIN_MEMORY, what=what, mem=req.min_gpu_memory_mib)
    if req.min_fp16_tflops:
        what = Why(MIN_TFLOPS, what=what, tflops=f"{req.min_fp16_tflops:g}")
    return what


def explain(state: ClusterState, req: Request, region_lists) -> list[Why]:
    """Human-readable reasons why ``req`` does not fit anywhere it may go."""
    allowed: list[str] | None = None
    if region_lists and region_lists[0] is not None:
        allowed = sorted({r for g in region_lists if g for r in g})
    where = ", ".join(allowed) if allowed else Why(ANY_REGION)
    node_ok, dev_ok = state.feasible(req)
    static = state.static_device_mask(req)
    in_scope = state.region_mask(allowed) & state.label_mask(req.labels)
    reasons: list[Why] = []
    what = describe(req)
    cpu_ok = state.cpu_free >= req.cpu_milli
    mem_ok = state.mem_free >= req.memory_mib
    if req.kind != "cpu":
        n_static = int(static[in_scope].sum())
        if n_static == 0:
            reasons.append(Why(NO_MATCH, where=where, what=describe(req, free=False)))
        else:
            if req.kind == "whole":
                dev_nodes = (dev_ok.sum(axis=1) >= req.gpu_count) & in_scope
            else:
                dev_nodes = dev_ok.any(axis=1) & in_scope
            if not dev_nodes.any():
                reasons.append(Why(ALL_BUSY, where=where, what=what, n=n_static))
            else:
                reasons.append(Why(HOST_SHORT, n=int(dev_nodes.sum()), where=where, what=what,
                                   no_cpu=int((dev_nodes & ~cpu_ok).sum()), cpu=req.cpu_milli,
                                   no_mem=int((dev_nodes & ~mem_ok).sum()), mem=req.memory_mib))
    else:
        reasons.append(Why(NO_ROOM, where=where, cpu=req.cpu_milli, mem=req.memory_mib,
                           cpu_ok=int((cpu_ok & in_scope).sum()), mem_ok=int((mem_ok & in_scope).sum())))
    if req.labels and not state.label_mask(req.labels).any():
        reasons.append(Why(NO_LABELS, labels=", ".join(f"{k}={v}" for k, v in req.labels)))
    if allowed is not None:
        for r in state.regions:
            if r in allowed:
                continue
            n = int((node_ok & state.region_mask([r])).sum())
            if n:
                reasons.append(Why(ELSEWHERE, n=n, region=r))
    if req.priority:
        reasons.append(Why(NO_VICTIMS, priority=req.priority))
    return reasons
