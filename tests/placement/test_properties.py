"""Property tests: capacity is never exceeded, constraints always hold, gangs and preemption behave."""

import dataclasses
import itertools

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workers.placement import (
    MILLI,
    ClusterState,
    DeviceSpec,
    GangDecision,
    NodeSpec,
    Request,
    Unschedulable,
    WorkloadClass,
    apply_gang,
    decide,
)

from .helpers import A100_PROFILES

POLICY = st.sampled_from(["tidal", "fgd", "bestfit", "packing", "dotprod", "clustering", "random"])
MODELS = {"T4": ("nvidia", 15109, 65.0), "A10": ("nvidia", 22731, 125.0), "A100": ("nvidia", 81920, 312.0),
          "910B": ("huawei", 65536, 320.0)}
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def devices(draw):
    model = draw(st.sampled_from(sorted(MODELS)))
    vendor, mem, tf = MODELS[model]
    slicing = draw(st.sampled_from(["fractional", "whole", "mig"] if model == "A100" else
                                   ["fractional", "whole", "vnpu"] if model == "910B" else ["fractional", "whole"]))
    profiles = A100_PROFILES if slicing in ("mig", "vnpu") else ()
    free = draw(st.sampled_from([1000, 1000, 700, 300, 0]))
    return DeviceSpec(model=model, vendor=vendor, memory_mib=mem, fp16_tflops=tf, milli_free=free,
                      memory_free_mib=mem if free == 1000 else mem * free // 1000, slicing=slicing, profiles=profiles)


@st.composite
def clusters(draw):
    n = draw(st.integers(1, 4))
    nodes = []
    for i in range(n):
        cpu = draw(st.sampled_from([8000, 16000, 64000]))
        nodes.append(NodeSpec(id=f"n{i}", cpu_milli=cpu, memory_mib=65536, region=draw(st.sampled_from(["r1", "r2"])),
                              cpu_free_milli=draw(st.integers(0, cpu)),
                              devices=draw(st.lists(devices(), min_size=0, max_size=4))))
    state = ClusterState.from_nodes(nodes)
    state.set_target_workload([WorkloadClass(2000, 500, 1, None, 0.4), WorkloadClass(8000, 1000, 2, None, 0.3),
                               WorkloadClass(1000, 0, 0, None, 0.3)])
    state.set_target_workload([WorkloadClass(2000, 500, 1, None, 0.5, 4096),
                               WorkloadClass(8000, 1000, 1, None, 0.5, 8192)], memory_aware=True, capacity_aware=True)
    return state


@st.composite
def requests(draw, gang=False, priority=False):
    kind = draw(st.sampled_from(["cpu", "whole", "fractional", "profile"]))
    kw = {"cpu_milli": draw(st.sampled_from([0, 1000, 4000, 12000])),
          "memory_mib": draw(st.sampled_from([0, 1024, 32768]))}
    if kind == "whole":
        kw["gpu_count"] = draw(st.integers(1, 3))
    elif kind == "fractional":
        kw["gpu_milli"] = draw(st.sampled_from([100, 300, 470, 810]))
        kw["gpu_memory_mib"] = draw(st.sampled_from([0, 4096]))
    elif kind == "profile":
        kw["profile"] = draw(st.sampled_from(["1g.10gb", "3g.40gb"]))
    if draw(st.booleans()):
        kw["models"] = tuple(draw(st.lists(st.sampled_from(sorted(MODELS)), min_size=1, max_size=2, unique=True)))
    if draw(st.booleans()):
        kw["vendors"] = (draw(st.sampled_from(["nvidia", "huawei"])),)
    kw["min_gpu_memory_mib"] = draw(st.sampled_from([0, 0, 20000]))
    kw["min_fp16_tflops"] = draw(st.sampled_from([0.0, 0.0, 100.0]))
    if draw(st.booleans()):
        kw["allowed_regions"] = (draw(st.sampled_from(["r1", "r2"])),)
    if gang:
        kw["gang_size"] = draw(st.integers(2, 3))
    if priority:
        kw["priority"] = draw(st.integers(0, 3))
        kw["preemptible"] = draw(st.booleans())
    return Request(**kw)


def check_decision(state: ClusterState, d, req: Request):
    i = d.node_index
    assert state.cpu_free[i] >= req.cpu_milli and state.mem_free[i] >= req.memory_mib
    assert len(set(d.device_indices)) == len(d.device_indices)
    for j, m, mm in zip(d.device_indices, d.slice_milli, d.slice_memory_mib, strict=True):
        assert state.dev_valid[i, j]
        assert 0 < m <= state.dev_milli_free[i, j] and mm <= state.dev_mem_free[i, j]
        model = state.models[state.dev_model[i, j]]
        if req.models:
            assert model in req.models
        if req.vendors:
            assert state.vendors[state.dev_vendor[i, j]] in req.vendors
        assert state.dev_mem_total[i, j] >= req.min_gpu_memory_mib
        assert state.dev_tflops[i, j] >= req.min_fp16_tflops
        slicing = int(state.dev_slicing[i, j])
        if req.kind == "fractional":
            assert slicing == 0 and m == req.gpu_milli
        elif req.kind == "profile":
            assert slicing in (1, 2)
        elif req.kind == "whole":
            assert m == MILLI and state.dev_milli_free[i, j] == MILLI
    expected = {"whole": req.gpu_count, "fractional": 1, "profile": 1, "cpu": 0}[req.kind]
    assert len(d.device_indices) == expected
    if req.allowed_regions:
        assert state.regions[state.node_region[i]] in req.allowed_regions


def check_invariants(state: ClusterState):
    assert (state.cpu_free >= 0).all() and (state.mem_free >= 0).all()
    assert (state.dev_milli_free >= 0).all() and (state.dev_mem_free >= 0).all()
    assert (state.dev_milli_free <= MILLI).all()


@SETTINGS
@given(clusters(), st.lists(requests(), min_size=1, max_size=8), POLICY, st.integers(0, 9))
def test_decisions_respect_capacity_and_constraints(state, reqs, policy, seed):
    rng = np.random.default_rng(seed)
    for req in reqs:
        d = decide(state, req, policy, rng=rng, preemption=False)
        if isinstance(d, Unschedulable):
            assert d.reasons and all(isinstance(r, str) and r for r in d.reasons)
            continue
        check_decision(state, d, req)
        state.apply(d)
        check_invariants(state)


@SETTINGS
@given(clusters(), requests(gang=True), POLICY)
def test_gang_all_or_nothing(state, req, policy):
    snap = (state.cpu_free.copy(), state.mem_free.copy(), state.dev_milli_free.copy(), state.dev_mem_free.copy())
    g = decide(state, req, policy, rng=np.random.default_rng(0))
    after = (state.cpu_free, state.mem_free, state.dev_milli_free, state.dev_mem_free)
    assert all(np.array_equal(a, b) for a, b in zip(snap, after, strict=True))
    if isinstance(g, GangDecision):
        assert len(g.members) == req.gang_size
        ids = apply_gang(state, g)
        assert len(ids) == req.gang_size
        check_invariants(state)
    else:
        assert isinstance(g, Unschedulable) and g.reasons


def _fits_after(state, req, node, victims):
    probe = state.copy()
    for v in victims:
        probe.release(v)
    node_ok, _ = probe.feasible(req, req.allowed_regions)
    return bool(node_ok[node])


@SETTINGS
@given(clusters(), st.lists(requests(priority=True), min_size=1, max_size=6), requests(priority=True))
def test_preemption_evicts_only_lower_priority_and_a_smallest_set(state, existing, req):
    for e in existing:
        d = decide(state, e, "bestfit", preemption=False)
        if d:
            state.apply(d)
    d = decide(state, req, "bestfit", preemption=True)
    if not d or not d.preempt:
        if not d:  # nothing fits even with preemption: then no single node works with any victim set
            for i in range(len(state.node_ids)):
                cands = [a for a in state.node_allocs[i]
                         if state.allocations[a].preemptible and state.allocations[a].priority < req.priority]
                assert not _fits_after(state, req, i, cands)
        return
    victims = [state.allocations[a] for a in d.preempt]
    assert all(v.preemptible and v.priority < req.priority for v in victims)
    assert all(v.node_index == d.node_index for v in victims)
    # no smaller victim set works on any node
    for i in range(len(state.node_ids)):
        cands = [a for a in state.node_allocs[i]
                 if state.allocations[a].preemptible and state.allocations[a].priority < req.priority]
        for size in range(len(d.preempt)):
            for sub in itertools.combinations(cands, size):
                assert not _fits_after(state, req, i, sub)
    state.apply(d)
    check_invariants(state)


def _uncached(state: ClusterState) -> ClusterState:
    fresh = state.copy()
    fresh._feas_cache.clear()
    fresh.invalidate_scores()
    return fresh


@st.composite
def request_family(draw):
    """A request and variants that differ from it in one field each (so a cache keyed too coarsely shows)."""
    base = draw(requests())
    pool = [base]
    for field, values in (("cpu_milli", [0, 4000, 12000]), ("memory_mib", [0, 40000, 70000]),
                          ("min_gpu_memory_mib", [0, 20000]), ("models", [None, ("T4",), ("A100",)])):
        pool.append(dataclasses.replace(base, **{field: draw(st.sampled_from(values))}))
    if base.kind == "whole":
        pool.append(dataclasses.replace(base, gpu_count=draw(st.integers(1, 3))))
    if base.kind == "fractional":
        pool.append(dataclasses.replace(base, gpu_milli=draw(st.sampled_from([100, 300, 470, 810]))))
    return pool


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(clusters(), request_family(), st.lists(st.integers(0, 5), min_size=4, max_size=14),
       POLICY, st.integers(0, 9), st.booleans())
def test_per_signature_cache_never_changes_a_decision(state, pool, picks, policy, seed, release):
    # every decision taken with warm caches (scores and fits remembered per node signature, across
    # applies and releases; the same few request shapes come back) is the one a cold engine takes
    placed = []
    for k, req in enumerate(pool[i % len(pool)] for i in picks):
        d = decide(state, req, policy, rng=np.random.default_rng(seed + k), preemption=False)
        cold = decide(_uncached(state), req, policy, rng=np.random.default_rng(seed + k), preemption=False)
        assert bool(d) == bool(cold)
        if d:
            assert (d.node_id, d.device_indices, d.slice_milli) == (cold.node_id, cold.device_indices, cold.slice_milli)
            placed.append(state.apply(d))
        if release and placed and k % 3 == 2:
            state.release(placed.pop(0))  # back to an earlier signature: its cached entries are reused
