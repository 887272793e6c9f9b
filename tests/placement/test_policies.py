"""Each policy's scoring on tiny hand-made clusters."""

import numpy as np
import pytest

from workers.placement import Request, WorkloadClass, decide

from .helpers import cluster, gpu_node


def test_bestfit_prefers_the_tightest_node():
    st = cluster(gpu_node("big", 2, cpu=64000), gpu_node("small", 2, cpu=16000))
    d = decide(st, Request(cpu_milli=8000, gpu_count=1), "bestfit")
    assert d.node_id == "small"
    assert d.score["policy"] == "bestfit"


def test_bestfit_puts_a_slice_on_the_tightest_device():
    st = cluster(gpu_node("n", 3, free=[1000, 600, 500]))
    d = decide(st, Request(cpu_milli=1000, gpu_milli=450), "bestfit")
    assert d.device_indices == (2,) and d.slice_milli == (450,)


def test_packing_prefers_shared_gpus_then_used_nodes():
    st = cluster(gpu_node("idle", 2), gpu_node("shared", 2, free=[1000, 700]))
    assert decide(st, Request(cpu_milli=1000, gpu_milli=300), "packing").node_id == "shared"
    st2 = cluster(gpu_node("idle", 2), gpu_node("used", 2, free=[1000, 0]))
    assert decide(st2, Request(cpu_milli=1000, gpu_count=1), "packing").node_id == "used"


def test_clustering_groups_same_shape_pods():
    st = cluster(gpu_node("a", 4), gpu_node("b", 4))
    first = decide(st, Request(cpu_milli=1000, gpu_milli=300), "clustering")
    st.apply(first)
    other = "b" if first.node_id == "a" else "a"
    # a whole-GPU pod avoids the node that already hosts sharing pods (idle node scores 25+, mixed 0+)
    assert decide(st, Request(cpu_milli=1000, gpu_count=1), "clustering").node_id == other
    # another sharing pod joins its kind
    assert decide(st, Request(cpu_milli=1000, gpu_milli=300), "clustering").node_id == first.node_id


def test_dotprod_scores_follow_the_reference_definition():
    st = cluster(gpu_node("lots_free", 8, cpu=96000), gpu_node("little_free", 1, cpu=8000))
    d = decide(st, Request(cpu_milli=4000, gpu_count=1), "dotprod")
    # score = 100 * (1 - dot(free/max, req/max) / 2): the smaller dot product wins
    assert d.node_id == "little_free"


def test_random_is_seeded_and_only_uses_feasible_nodes():
    st = cluster(gpu_node("a", 1), gpu_node("b", 1), gpu_node("full", 1, free=[0]))
    picks = {decide(st, Request(cpu_milli=1000, gpu_count=1), "random", rng=np.random.default_rng(s)).node_id
             for s in range(20)}
    assert picks == {"a", "b"}
    one = decide(st, Request(gpu_count=1), "random", rng=np.random.default_rng(3)).node_id
    assert one == decide(st, Request(gpu_count=1), "random", rng=np.random.default_rng(3)).node_id


def test_fgd_fills_the_gpu_that_is_already_a_fragment():
    # target workload: 600-milli slices. The 500-free GPU is already a fragment for them; a 470 slice there
    # shrinks fragmentation by 470, while on a fresh GPU it would turn 530 usable milli into fragment.
    st = cluster(gpu_node("n", 2, free=[1000, 500]), gpu_node("m", 2))
    st.set_target_workload([WorkloadClass(1000, 600, 1, None, 1.0)])
    d = decide(st, Request(cpu_milli=1000, gpu_milli=470), "fgd")
    assert (d.node_id, d.device_indices) == ("n", (1,))
    assert "frag_delta" in d.score


def test_fgd_scores_an_unchanged_node_as_zero_change_despite_float_noise():
    # A CPU-only pod changes no GPU: FGD's fragmentation delta is exactly 0 and its score is
    # floor(100 x sigmoid(0)) = 50 on every node. The cached F of a node is computed by another numpy path
    # than the "after" value; simulate the ~1e-12 that path difference leaves on one node. Without rounding,
    # delta = -1e-12 -> sigmoid just under 0.5 -> score 49, and the pod would avoid that node.
    st = cluster(gpu_node("a", 2), gpu_node("b", 2))
    st.set_target_workload([WorkloadClass(1000, 600, 1, None, 1.0)])
    st.frag.F[0] -= 1e-12
    d = decide(st, Request(cpu_milli=1000), "fgd")
    assert d.score["score"] == 50.0
    assert d.node_id == "a"  # equal scores: the first node, as in the reference


def test_fgd_requires_a_target_workload():
    st = cluster(gpu_node("n", 1))
    with pytest.raises(ValueError, match="target workload"):
        decide(st, Request(gpu_count=1), "fgd")


def test_tidal_counts_gpus_stranded_by_cpu():
    # Both nodes can take the pod; on "tight" it would eat the CPU the other GPU needs (1-GPU pods
    # need 8 cores), stranding that GPU. tidal avoids it, plain FGD does not see the difference.
    st = cluster(gpu_node("tight", 2, cpu=16000), gpu_node("roomy", 2, cpu=64000))
    cls = [WorkloadClass(8000, 1000, 1, None, 1.0, memory_mib=1024)]
    st.set_target_workload(cls, memory_aware=True, capacity_aware=True)
    d = decide(st, Request(cpu_milli=9000, memory_mib=1024), "tidal")
    assert d.node_id == "roomy"
    assert d.score["policy"] == "tidal" and "fgd_score" in d.score


def test_unknown_policy_is_rejected():
    st = cluster(gpu_node("n", 1))
    with pytest.raises(ValueError, match="unknown policy"):
        decide(st, Request(gpu_count=1), "nope")


def test_tidal_blends_the_plain_fgd_measure_into_its_resource_aware_one():
    from workers.placement.policies import TIDAL

    nodes = [gpu_node("a", 2, cpu=16000, mem=65536, free=[1000, 400]), gpu_node("b", 4, cpu=64000),
             gpu_node("c", 2, cpu=4000, mem=8192)]
    cls = [WorkloadClass(8000, 1000, 1, None, 0.5, memory_mib=32768), WorkloadClass(2000, 300, 1, None, 0.3, 4096),
           WorkloadClass(4000, 0, 0, None, 0.2, 16384)]
    plain = cluster(*nodes).set_target_workload(cls)
    resource_aware = cluster(*nodes).set_target_workload(cls, memory_aware=True, capacity_aware=True)
    st = cluster(*nodes)
    alt = st.set_target_workload(cls, memory_aware=True, capacity_aware=True)
    decide(st, Request(cpu_milli=1000, gpu_milli=300), "tidal")  # installs the blend and the class weights
    assert alt.blend == TIDAL["blend"] > 0
    plain.set_weights(alt.weights)
    resource_aware.set_weights(alt.weights)
    np.testing.assert_allclose(alt.F, resource_aware.F + TIDAL["blend"] * plain.F)


def test_scarcity_weighs_classes_that_few_nodes_can_host():
    # one G3-like node (128 cores) among three 96-core 8-GPU nodes: 120-core 8-GPU pods fit only there
    st = cluster(gpu_node("g3", 8, cpu=128000, mem=786432), *[gpu_node(f"g2-{i}", 8, cpu=96000, mem=393216)
                                                               for i in range(3)])
    fm = st.set_target_workload([WorkloadClass(8000, 1000, 1, None, 0.9, 16384),
                                 WorkloadClass(120000, 1000, 8, None, 0.1, 655360)], memory_aware=True,
                                capacity_aware=True)
    # 32 GPUs free; 1-GPU pods could take all 32 (CPU: 12 per node is more than 8 GPUs), 120-core pods 8
    np.testing.assert_allclose(fm.scarcity(), [1.0, 4.0])
    decide(st, Request(cpu_milli=8000, memory_mib=16384, gpu_count=1), "tidal")
    np.testing.assert_allclose(fm.weights, [1.0, 4.0])  # tidal weighs the scarce class by it (capped at 4)
    np.testing.assert_allclose(fm.prob, [0.9, 0.4])


def test_tidal_puts_a_slice_on_the_tightest_of_equally_scored_devices():
    st = cluster(gpu_node("n", 3, free=[1000, 600, 500]))
    st.set_target_workload([WorkloadClass(1000, 1000, 1, None, 1.0, memory_mib=1024)], memory_aware=True,
                           capacity_aware=True)
    d = decide(st, Request(cpu_milli=1000, gpu_milli=450), "tidal")
    assert d.device_indices == (2,)
