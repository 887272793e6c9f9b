"""Tiny hand-made clusters for the placement tests."""

from workers.placement import ClusterState, DeviceSpec, NodeSpec, Profile


def gpu_node(nid, n_gpu=2, model="T4", cpu=32000, mem=131072, region="r1", price=1.0, free=None, vendor="nvidia",
             slicing="fractional", dev_mem=16384, tflops=65.0, profiles=()):
    free = free or [1000] * n_gpu
    devs = [DeviceSpec(model=model, memory_mib=dev_mem, vendor=vendor, fp16_tflops=tflops, milli_free=f,
                       memory_free_mib=dev_mem if f == 1000 else dev_mem // 2, slicing=slicing, profiles=profiles)
            for f in free]
    return NodeSpec(id=nid, cpu_milli=cpu, memory_mib=mem, region=region, price_factor=price, devices=devs)


A100_PROFILES = (Profile("1g.10gb", 142, 9728), Profile("3g.40gb", 428, 40192), Profile("7g.80gb", 1000, 81920))


def cluster(*nodes):
    return ClusterState.from_nodes(list(nodes))
