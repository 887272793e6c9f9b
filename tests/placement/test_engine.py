"""Engine behaviour: state updates, regions, profiles, reasons, gang, preemption."""

import numpy as np

from workers.placement import ClusterState, GangDecision, Request, Unschedulable, WorkloadClass, apply_gang, decide

from .helpers import A100_PROFILES, cluster, gpu_node


def test_apply_and_release_restore_state_and_fragmentation_cache():
    st = cluster(gpu_node("a", 4), gpu_node("b", 2, free=[1000, 300]))
    st.set_target_workload([WorkloadClass(4000, 500, 1, None, 0.5), WorkloadClass(8000, 1000, 1, None, 0.5)])
    before = (st.cpu_free.copy(), st.dev_milli_free.copy(), st.frag.F.copy())
    d = decide(st, Request(cpu_milli=4000, memory_mib=1024, gpu_milli=500), "fgd")
    aid = st.apply(d)
    f_inc = st.frag.F.copy()
    st.frag.recompute()
    assert np.allclose(f_inc, st.frag.F)  # incremental == full recompute
    st.release(aid)
    assert np.array_equal(before[0], st.cpu_free) and np.array_equal(before[1], st.dev_milli_free)
    assert np.allclose(before[2], st.frag.F)


def test_whole_device_requests_need_untouched_devices():
    st = cluster(gpu_node("a", 2, free=[1000, 999]))
    assert not decide(st, Request(gpu_count=2), "bestfit")
    d = decide(st, Request(gpu_count=1), "bestfit")
    assert d.device_indices == (0,) and d.slice_memory_mib == (16384,)


def test_region_overflow_ranked_by_latency_then_price():
    st = cluster(gpu_node("sh", 1, region="cn-shanghai", free=[0]),
                 gpu_node("far", 1, region="cn-beijing"),
                 gpu_node("near-pricey", 1, region="cn-hangzhou", price=1.5),
                 gpu_node("near-cheap", 1, region="cn-suzhou", price=0.8))
    lat = {("cn-shanghai", "cn-suzhou"): 5, ("cn-shanghai", "cn-hangzhou"): 5, ("cn-shanghai", "cn-beijing"): 30}
    req = Request(gpu_count=1, preferred_region="cn-shanghai")
    d = decide(st, req, "bestfit", latency=lat)
    assert d.node_id == "near-cheap" and d.score["overflow"] is True and d.score["region"] == "cn-suzhou"
    only = Request(gpu_count=1, preferred_region="cn-shanghai", allowed_regions=("cn-shanghai", "cn-beijing"))
    assert decide(st, only, "bestfit", latency=lat).node_id == "far"


def test_unschedulable_reasons_name_the_shape_and_other_regions():
    st = cluster(gpu_node("sh", 2, region="cn-shanghai", free=[300, 200]),
                 gpu_node("sz1", 1, region="cn-suzhou"), gpu_node("sz2", 1, region="cn-suzhou"),
                 gpu_node("sz3", 1, region="cn-suzhou"))
    req = Request(cpu_milli=1000, gpu_milli=470, models=("T4",), allowed_regions=("cn-shanghai",))
    u = decide(st, req, "bestfit")
    assert isinstance(u, Unschedulable) and not u
    text = str(u)
    assert "470 milli" in text and "T4" in text and "cn-shanghai" in text
    assert "3 would fit in cn-suzhou" in text


def test_unschedulable_for_unknown_model_and_cpu():
    st = cluster(gpu_node("a", 1, cpu=4000))
    assert "no device in any region matches" in str(decide(st, Request(gpu_count=1, models=("H100",)), "bestfit"))
    assert "lack 8000 milli CPU" in str(decide(st, Request(cpu_milli=8000, gpu_count=1), "bestfit"))


def test_constraints_models_vendors_memory_tflops():
    st = cluster(gpu_node("t4", 1, model="T4", dev_mem=15109, tflops=65),
                 gpu_node("a10", 1, model="A10", dev_mem=22731, tflops=125),
                 gpu_node("npu", 1, model="910B", vendor="huawei", dev_mem=65536, tflops=320))
    assert decide(st, Request(gpu_count=1, min_gpu_memory_mib=20000, vendors=("nvidia",)), "bestfit").node_id == "a10"
    assert decide(st, Request(gpu_count=1, min_fp16_tflops=300), "bestfit").node_id == "npu"
    assert decide(st, Request(gpu_count=1, models=("T4",)), "bestfit").node_id == "t4"


def test_profiles_only_on_devices_that_slice_by_profile():
    st = cluster(gpu_node("mig", 1, model="A100", slicing="mig", dev_mem=81920, profiles=A100_PROFILES),
                 gpu_node("frac", 1, model="A100", dev_mem=81920))
    d = decide(st, Request(profile="3g.40gb"), "bestfit")
    assert d.node_id == "mig" and d.slice_milli == (428,) and d.slice_memory_mib == (40192,)
    st.apply(d)
    assert decide(st, Request(profile="1g.10gb"), "bestfit").node_id == "mig"
    st.apply(decide(st, Request(profile="3g.40gb"), "bestfit"))
    assert not decide(st, Request(profile="3g.40gb"), "bestfit")  # 144 milli and 1536 MiB left
    assert not decide(st, Request(profile="1g.10gb"), "bestfit")  # compute fits, memory does not
    # fractional slices never land on profile-sliced devices
    assert decide(st, Request(gpu_milli=100), "bestfit").node_id == "frac"


def test_gang_is_all_or_nothing():
    st = cluster(gpu_node("a", 2), gpu_node("b", 2))
    snap = st.dev_milli_free.copy()
    g = decide(st, Request(gpu_count=2, gang_size=2), "bestfit")
    assert isinstance(g, GangDecision) and len(g.members) == 2
    assert {m.node_id for m in g.members} == {"a", "b"}
    assert np.array_equal(snap, st.dev_milli_free)  # deciding did not change the state
    u = decide(st, Request(gpu_count=2, gang_size=3), "bestfit")
    assert not u and "only 2 member(s)" in str(u)
    assert np.array_equal(snap, st.dev_milli_free)
    apply_gang(st, g)
    assert st.dev_milli_free.sum() == 0


def test_preemption_picks_fewest_lower_priority_victims():
    st = cluster(gpu_node("a", 2), gpu_node("b", 2))
    st.add_existing("a", Request(gpu_count=1, priority=1, preemptible=True), [0], "low-a0")
    st.add_existing("a", Request(gpu_count=1, priority=1, preemptible=True), [1], "low-a1")
    st.add_existing("b", Request(gpu_count=1, priority=5, preemptible=True), [0], "high-b0")
    st.add_existing("b", Request(gpu_count=1, priority=0, preemptible=True), [1], "low-b1")
    d = decide(st, Request(gpu_count=1, priority=3), "bestfit")
    assert d.preempt == ("low-b1",)  # one victim is enough; never the priority-5 one
    d2 = decide(st, Request(gpu_count=2, priority=3), "bestfit")
    assert set(d2.preempt) == {"low-a0", "low-a1"}
    st.apply(d2)
    assert "low-a0" not in st.allocations and d2.allocation_id in st.allocations
    # equal priority is never evicted
    assert not decide(st, Request(gpu_count=2, priority=3), "bestfit")


def test_state_from_plain_dicts():
    st = ClusterState.from_nodes([{"id": "n1", "cpu_milli": 8000, "memory_mib": 32768, "region": "r",
                                   "devices": [{"model": "T4", "memory_mib": 15109, "milli_free": 530}]}])
    d = decide(st, Request(gpu_milli=500, cpu_milli=100))
    assert d.node_id == "n1" and d.device_indices == (0,)
