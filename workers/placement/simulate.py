"""Trace replay, as the FGD paper's experiments were run.

    python -m workers.placement.simulate --nodes NODES.csv --pods PODS.csv --policy tidal \
        --seeds 42-51 --inflate 1.3 [--json]

Per seed: the pod list (name order) is shuffled; copies drawn uniformly with replacement from the list
are appended until the next draw would push the GPU request past ``inflate`` x capacity (lists already
above it drop random pods); nodes get a random per-seed tie order; pods arrive one at a time, online,
and never leave. After every arrival we record arrived and allocated GPU milli. The allocation at X %
is the mean of the allocation % (2 decimals) over the arrivals whose arrived % rounds to X.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass

import numpy as np

from .engine import decide
from .policies import DEFAULT_POLICY, POLICIES
from .state import ClusterState
from .target import install_target_workload
from .trace import PodList, load_nodes, load_pods

ARRIVAL_POINTS = tuple(range(10, 131, 10))


@dataclass
class ReplayResult:
    seed: int
    policy: str
    alloc_at: dict[int, float]
    unallocated_at_100: float
    placed: int
    failed: int
    pods: int
    seconds: float
    decide_ns: np.ndarray | None = None


def workload_for_seed(pods: PodList, capacity_milli: int, inflate: float, rng: np.random.Generator) -> np.ndarray:
    n = len(pods.requests)
    order = list(rng.permutation(n))
    target = inflate * capacity_milli
    total = int(pods.total_milli.sum())
    if inflate <= 0 or total == target:
        return np.array(order, dtype=np.int64)
    if total > target:
        while total > target and order:
            k = int(rng.integers(len(order)))
            total -= int(pods.total_milli[order.pop(k)])
    else:
        while True:
            j = int(rng.integers(n))
            if total + int(pods.per_gpu_milli[j]) > target:
                break
            total += int(pods.total_milli[j])
            order.append(j)
    return np.array(order, dtype=np.int64)


def setup_state(nodes, pods: PodList, policy: str) -> ClusterState:
    state = ClusterState(nodes)
    install_target_workload(state, pods.requests, policy)
    return state


def replay_start(nodes, pods: PodList, policy: str, seed: int,
                 inflate: float) -> tuple[ClusterState, np.ndarray, np.random.Generator]:
    """An empty cluster with ``seed``'s node tie order, the seed's arrival order and the rng decisions use."""
    rng = np.random.default_rng(seed)
    state = setup_state(nodes, pods, policy)
    order = workload_for_seed(pods, int(state.dev_count.sum()) * 1000, inflate, rng)
    state.tie_rank = rng.permutation(len(state.node_ids)).astype(np.int64)
    return state, order, rng


def alloc_curve(arrived: np.ndarray, used: np.ndarray, n_gpus: int, points=ARRIVAL_POINTS) -> dict[int, float]:
    arr = np.round(arrived / n_gpus / 10.0)
    alloc = np.round(used / n_gpus / 10.0, 2)
    out = {}
    for x in points:
        sel = arr == x
        if not sel.any():
            sel = (arr >= x - 1) & (arr <= x + 1)
            if not sel.any():
                continue
        out[x] = round(float(alloc[sel].mean()), 2)
    return out


def replay(nodes, pods: PodList, policy: str = DEFAULT_POLICY, seed: int = 42, inflate: float = 1.3,
           time_decisions: bool = False, stop_at: float | None = None) -> ReplayResult:
    state, order, rng = replay_start(nodes, pods, policy, seed, inflate)
    n_gpus = int(state.dev_count.sum())
    arrived = np.zeros(len(order), dtype=np.int64)
    used = np.zeros(len(order), dtype=np.int64)
    times = np.zeros(len(order), dtype=np.int64) if time_decisions else None
    a = u = placed = 0
    reqs, tot = pods.requests, pods.total_milli
    t0 = time.perf_counter()
    clock = time.perf_counter_ns
    for k, j in enumerate(order):
        req = reqs[j]
        a += int(tot[j])
        if time_decisions:
            s = clock()
            d = decide(state, req, policy, rng=rng, preemption=False)
            times[k] = clock() - s
        else:
            d = decide(state, req, policy, rng=rng, preemption=False)
        if d:
            state.apply(d)
            u += int(tot[j])
            placed += 1
        arrived[k], used[k] = a, u
        if stop_at is not None and a >= stop_at * n_gpus * 1000:
            arrived, used = arrived[: k + 1], used[: k + 1]
            if times is not None:
                times = times[: k + 1]
            break
    secs = time.perf_counter() - t0
    curve = alloc_curve(arrived, used, n_gpus)
    un = round(100.0 - curve.get(100, float("nan")), 2)
    return ReplayResult(seed, policy, curve, un, placed, len(arrived) - placed, len(arrived), secs, times)


def tune_malloc() -> None:
    """Keep glibc from mmap/munmap-ing every large numpy temporary (halves replay time on Linux).

    Same effect as MALLOC_MMAP_THRESHOLD_=268435456 MALLOC_TRIM_THRESHOLD_=536870912 in the environment;
    the live placement worker should set those.
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 256 << 20)  # M_MMAP_THRESHOLD
        libc.mallopt(-1, 512 << 20)  # M_TRIM_THRESHOLD
        libc.mallopt(-2, 64 << 20)  # M_TOP_PAD
    except (OSError, AttributeError):
        pass


def parse_seeds(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            out.extend(range(int(a), int(b) + 1))
        elif part:
            out.append(int(part))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m workers.placement.simulate", description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", required=True)
    ap.add_argument("--pods", required=True)
    ap.add_argument("--policy", default=DEFAULT_POLICY, choices=sorted(POLICIES))
    ap.add_argument("--seeds", default="42-51")
    ap.add_argument("--inflate", type=float, default=1.3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    tune_malloc()
    nodes = load_nodes(args.nodes)
    pods = load_pods(args.pods)
    results = [replay(nodes, pods, args.policy, s, args.inflate) for s in parse_seeds(args.seeds)]
    mean_curve = {x: round(float(np.mean([r.alloc_at[x] for r in results if x in r.alloc_at])), 2)
                  for x in ARRIVAL_POINTS if any(x in r.alloc_at for r in results)}
    mean_un = round(float(np.mean([r.unallocated_at_100 for r in results])), 2)
    if args.json:
        print(json.dumps({
            "policy": args.policy, "pods": args.pods, "nodes": args.nodes, "inflate": args.inflate,
            "seeds": [r.seed for r in results],
            "unallocated_gpu_pct_at_100": mean_un,
            "alloc_pct_at": {str(k): v for k, v in mean_curve.items()},
            "per_seed": [{"seed": r.seed, "unallocated_gpu_pct_at_100": r.unallocated_at_100,
                          "alloc_pct_at": {str(k): v for k, v in r.alloc_at.items()}, "placed": r.placed,
                          "failed": r.failed, "seconds": round(r.seconds, 2)} for r in results],
        }))
        return 0
    head = "seed  " + " ".join(f"{x:>6}" for x in ARRIVAL_POINTS) + "  unalloc@100  secs"
    print(f"policy={args.policy} pods={args.pods} inflate={args.inflate}  (GPU allocation % at arrival %)")
    print(head)
    for r in results:
        print(f"{r.seed:<5} " + " ".join(f"{r.alloc_at.get(x, float('nan')):6.2f}" for x in ARRIVAL_POINTS)
              + f"  {r.unallocated_at_100:11.2f}  {r.seconds:4.1f}")
    print("mean  " + " ".join(f"{mean_curve.get(x, float('nan')):6.2f}" for x in ARRIVAL_POINTS) + f"  {mean_un:11.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
