"""Scoring policies. Each scores the feasible nodes at once (numpy) and picks devices on the winner.

``fgd``, ``bestfit``, ``packing``, ``dotprod``, ``clustering`` and ``random`` follow the definitions of
the FGD paper's simulator (integer scores, ties broken by the node's tie rank). ``tidal`` is TideGrid's
default; see :func:`score_tidal`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .model import MILLI, Request
from .state import ClusterState, WorkloadClass, shape_key

MAX_SPEC_CPU = 128000.0
MAX_SPEC_GPU = 8000.0
BIG = np.int64(1 << 40)


@dataclass
class Choice:
    node: int
    devices: np.ndarray
    score: float
    extra: dict = field(default_factory=dict)


def pick_best(scores: np.ndarray, nodes: np.ndarray, state: ClusterState) -> int:
    """Position (into ``nodes``) of the best score; ties go to the lowest tie rank."""
    best = scores.max()
    ties = np.flatnonzero(scores == best)
    if len(ties) == 1:
        return int(ties[0])
    return int(ties[np.argmin(state.tie_rank[nodes[ties]])])


def whole_devices(fit_rows: np.ndarray, k: int) -> np.ndarray:
    """First ``k`` fitting devices (by index) of each row."""
    return fit_rows & (np.cumsum(fit_rows, axis=1) <= k)


def _slice_milli(state: ClusterState, req: Request, nodes: np.ndarray) -> np.ndarray:
    m, _ = state.slice_shape(req)
    if isinstance(m, np.ndarray):
        return m[nodes]
    return np.full((len(nodes), state.dev_valid.shape[1]), m, dtype=np.int64)


def tightest_device(state: ClusterState, node: int, fit_row: np.ndarray) -> int:
    free = np.where(fit_row, state.dev_milli_free[node], BIG)
    return int(np.argmin(free))


def random_device(fit_row: np.ndarray, rng: np.random.Generator) -> int:
    idx = np.flatnonzero(fit_row)
    return int(idx[rng.integers(len(idx))])


def _devices_for(state, req, node, fit_row, share_rule="tightest", rng=None) -> np.ndarray:
    k = req.kind
    if k == "whole":
        return np.flatnonzero(whole_devices(fit_row[None, :], req.gpu_count)[0])
    if k in ("fractional", "profile"):
        if share_rule == "random":
            return np.array([random_device(fit_row, rng)])
        return np.array([tightest_device(state, node, fit_row)])
    return np.zeros(0, dtype=np.int64)


# --- reference policies -------------------------------------------------------------------------------
def score_bestfit(state, req, nodes, fit, ctx, gpu_free=None):
    if gpu_free is None:
        gpu_free = state.dev_milli_free[nodes].sum(axis=1)
    gpu_left = gpu_free - req_gpu_milli(state, req, nodes, fit)
    cpu_left = state.cpu_free[nodes] - req.cpu_milli
    s = cpu_left / MAX_SPEC_CPU * 0.5 + gpu_left / MAX_SPEC_GPU * 0.5
    return np.trunc((1.0 - s) * 100.0), None


def req_gpu_milli(state, req, nodes, fit):
    k = req.kind
    if k == "profile":
        pm = _slice_milli(state, req, nodes)
        return np.where(fit, pm, BIG).min(axis=1)
    return np.full(len(nodes), req.total_gpu_milli, dtype=np.int64)


def score_dotprod(state, req, nodes, fit, ctx):
    gpu_free = state.dev_milli_free[nodes].sum(axis=1)
    dot = (state.cpu_free[nodes] / MAX_SPEC_CPU) * (req.cpu_milli / MAX_SPEC_CPU) + (gpu_free / MAX_SPEC_GPU) * (
        req_gpu_milli(state, req, nodes, fit) / MAX_SPEC_GPU)
    return np.trunc(100.0 * (1.0 - dot / 2.0)), None


def score_packing(state, req, nodes, fit, ctx):
    if req.kind == "cpu":
        return np.zeros(len(nodes)), None
    free = state.dev_milli_free[nodes]
    valid = state.dev_valid[nodes]
    full = (free == MILLI) & valid
    n_full = full.sum(axis=1)
    n_dev = state.dev_count[nodes]
    idle = n_full == n_dev
    case3 = np.maximum(100 // 3 - n_full, n_full)
    if req.kind == "whole":
        # whole GPUs come from fully free devices: case 2
        other = np.maximum(100 // 2 - req.gpu_count, 100 // 3)
    else:
        dev = np.where(fit, free, BIG).argmin(axis=1)  # tightest fitting device
        f = free[np.arange(len(nodes)), dev]
        case1 = np.maximum(100 - (f * 100 // MILLI) // 10, 100 // 2)
        other = np.where(f == MILLI, np.maximum(100 // 2 - 1, 100 // 3), case1)
    return np.where(idle, case3, other).astype(np.float64), None


def score_clustering(state, req, nodes, fit, ctx):
    if req.kind == "cpu":
        return np.zeros(len(nodes)), None
    tag = 0 if req.kind in ("fractional", "profile") else req.gpu_count
    tags = state.tags[nodes]
    left = state.dev_milli_free[nodes].sum(axis=1)
    base = (25 * (8000 - left)) // 8000
    n_aff = (tags > 0).sum(axis=1)
    has = tags[:, tag] > 0
    off = np.where(has, np.where(n_aff == 1, 75, 50), np.where(n_aff == 0, 25, 0))
    return (base + off).astype(np.float64), None


def score_random(state, req, nodes, fit, ctx):
    rng = ctx["rng"]
    s = np.zeros(len(nodes))
    s[rng.integers(len(nodes))] = 100.0
    return s, None


# Fragmentation is a sum of milli-GPU amounts weighted by class shares. The cached F of a node and the F
# "after" a candidate are computed by different numpy paths (a batch matrix product vs. a subset), so a change
# that is exactly 0 in the paper's arithmetic can come out as about -1e-12; FGD's score then floors from 50 to
# 49 and the pod goes elsewhere than in the reference. Deltas are rounded to 1e-6 milli-GPU first: far below
# any real difference (the smallest is one milli times a share), far above the float noise.
DELTA_DECIMALS = 6


def _sigmoid_score(delta):
    return np.floor(1.0 / (1.0 + np.exp(-np.round(delta, DELTA_DECIMALS) / 1000.0)) * 100.0)


def fgd_candidates(state, req, nodes, fit, fm, cpu, mem, quantize=True, tight=False, scale=1.0):
    """FGD deltas. Returns (per-node best score, per-node device choice or None, per-node delta).

    ``scale`` multiplies the delta before FGD's sigmoid scoring. ``tight``: among a node's devices with
    equal score, take the one with the least free milli (else the first, as FGD does).
    """
    k = req.kind
    if k in ("fractional", "profile"):
        pm = _slice_milli(state, req, nodes)
        cn, cd = np.nonzero(fit)
        f = state.dev_milli_free[nodes[cn], cd]
        # identical (node, free) candidates score the same: keep the first device of each
        key = cn * (MILLI + 1) + f
        _, first = np.unique(key, return_index=True)
        cn, cd, f = cn[first], cd[first], f[first]
        milli = pm[cn, cd]
        after = fm.after_slice(nodes[cn], cd, milli, cpu, mem)
        delta = fm.F[nodes[cn]] - after
        sc = _sigmoid_score(delta * scale) if quantize else np.round(delta, DELTA_DECIMALS)
        # best per node; first (or tightest) device among equal scores
        order = np.lexsort((cd, f, -sc, cn)) if tight else np.lexsort((cd, -sc, cn))
        cn_o = cn[order]
        firsts = np.r_[0, np.flatnonzero(np.diff(cn_o)) + 1]
        sel = order[firsts]
        node_score = np.empty(len(nodes))
        node_dev = np.empty(len(nodes), dtype=np.int64)
        node_delta = np.empty(len(nodes))
        node_score[cn[sel]] = sc[sel]
        node_dev[cn[sel]] = cd[sel]
        node_delta[cn[sel]] = delta[sel]
        return node_score, node_dev, node_delta
    chosen = whole_devices(fit, req.gpu_count) if k == "whole" else np.zeros_like(fit)
    delta = fm.F[nodes] - fm.after_devices(nodes, chosen, cpu, mem)
    return (_sigmoid_score(delta * scale) if quantize else np.round(delta, DELTA_DECIMALS)), None, delta


def score_fgd(state, req, nodes, fit, ctx):
    fm = state.frag
    if fm is None:
        raise ValueError("fgd needs a target workload: call state.set_target_workload(...) first")
    sc, dev, delta = fgd_candidates(state, req, nodes, fit, fm, req.cpu_milli, req.memory_mib)
    return sc, {"device": dev, "frag_delta": delta}


def tidal_model(state: ClusterState):
    """The resource-aware model ``tidal`` scores against (a generic mix if the caller installed none).

    The first time a model is used (per installed target workload) it gets ``tidal``'s settings: the
    plain FGD measure blended in, and each class weighted by its scarcity on the cluster as it is then
    (``FragModel.scarcity``, capped at ``TIDAL["scarcity_cap"]``). Fixed from then on, so the
    per-signature score cache stays valid; the live loop installs a fresh model every pass.
    """
    fm = state.frag_alt or state.frag
    if fm is None:  # no recent mix given: use a generic one (the live loop should pass the real mix)
        fm = state.set_target_workload(GENERIC_MIX, memory_aware=True, capacity_aware=True)
    wanted = (TIDAL["blend"], TIDAL["scarcity_cap"])
    if fm.tidal_settings != wanted and (fm.memory_aware or fm.capacity_aware):
        fm.blend = TIDAL["blend"]
        cap = TIDAL["scarcity_cap"]
        fm.set_weights(np.clip(fm.scarcity(), 1.0, cap) if cap > 1 else np.ones(len(fm.classes)))
        fm.tidal_settings = wanted
        state.invalidate_scores()
    return fm


def score_tidal(state, req, nodes, fit, ctx):
    """TideGrid default: FGD's fragmentation gradient plus a resource-aware correction.

    1. The measure is ``blend`` x FGD's plain fragmentation (CPU, GPU count and type decide whether a
       class can run) plus a resource-aware one: a class also cannot run where the node lacks its typical
       memory, and the GPU milli it could use is capped by how many of its pods the node's CPU and memory
       can still hold (GPUs stranded by CPU/memory count as fragment). Both share the cached per-node,
       per-class aggregates, so the blend costs one extra matrix product, not a second model.
    2. The gradient is scored on FGD's integer sigmoid scale (with ``blend`` = 8 the plain term is 8/9 of
       the weight and the scale is about 9x finer than FGD's); ties go to the tie rank (FGD's implicit
       first-fit packing) unless ``tiebreak`` is ``"bestfit"``.
    3. A slice goes to the tightest-fitting device among a node's equally scored devices.
    4. The target classes cover 98 % of the requests, and each class's share is weighted by its scarcity
       (see :func:`tidal_model` and ``FragModel.scarcity``), so nodes that are among the few able to host
       a rare, constrained class (120-core 8-GPU pods: only G3 nodes) are protected.

    Only the target workload (the request mix) and the current cluster are used: no knowledge of future
    arrivals.
    """
    fm = tidal_model(state)
    sc, dev, delta = fgd_candidates(state, req, nodes, fit, fm, req.cpu_milli, req.memory_mib,
                                    quantize=TIDAL["quantize"], tight=TIDAL["device_tb"] == "tightest",
                                    scale=TIDAL["scale"])
    if TIDAL["tiebreak"] == "bestfit":
        bf, _ = score_bestfit(state, req, nodes, fit, ctx, gpu_free=fm.total[nodes])
    else:
        bf = np.zeros(len(nodes))
    combined = sc * 1000.0 + bf
    return combined, {"device": dev, "frag_delta": delta, "fgd_score": sc, "bestfit": bf}


GENERIC_MIX = [
    WorkloadClass(4000, 0, 0, None, 0.15, 8192),
    WorkloadClass(4000, 250, 1, None, 0.1, 16384),
    WorkloadClass(6000, 500, 1, None, 0.1, 24576),
    WorkloadClass(8000, 1000, 1, None, 0.35, 32768),
    WorkloadClass(16000, 1000, 2, None, 0.1, 65536),
    WorkloadClass(32000, 1000, 4, None, 0.1, 131072),
    WorkloadClass(64000, 1000, 8, None, 0.1, 262144),
]

# tidal's settings (target.install_target_workload reads coverage / gpu_weight / memory_aware /
# capacity_aware). Chosen on the openb traces, seeds 42-44; see docs/benchmarks.md for the variants measured.
TIDAL = {"tiebreak": "none", "memory_aware": True, "capacity_aware": True, "quantize": True,
         "gpu_weight": 0.0, "blend": 8.0, "device_tb": "tightest", "scale": 1.0,
         "coverage": 0.98, "scarcity_cap": 4.0}

POLICIES = {
    "fgd": score_fgd,
    "bestfit": score_bestfit,
    "packing": score_packing,
    "dotprod": score_dotprod,
    "clustering": score_clustering,
    "random": score_random,
    "tidal": score_tidal,
}
DEFAULT_POLICY = "tidal"


# Policies whose node score is a function of the node's signature (static hardware + free capacity) and
# the request alone: their scores are cached per signature (see ClusterState.cached_per_signature).
# ``clustering`` (reads the node's pod tags) and ``random`` are computed afresh.
CACHEABLE = {"fgd", "tidal", "bestfit", "packing", "dotprod"}
PREPARE = {"tidal": tidal_model}


def choose(state: ClusterState, req: Request, nodes: np.ndarray, policy: str,
           rng: np.random.Generator | None = None) -> Choice:
    """Score the candidate ``nodes`` (indices of nodes where ``req`` fits) with ``policy``; pick node and devices."""
    try:
        fn = POLICIES[policy]
    except KeyError:
        raise ValueError(f"unknown policy {policy!r}; known: {', '.join(sorted(POLICIES))}") from None
    ctx = {"rng": rng if rng is not None else np.random.default_rng()}
    if policy in PREPARE:
        PREPARE[policy](state)
    if policy in CACHEABLE:
        def compute(rows):
            return fn(state, req, rows, state.device_fit(req, rows=rows), ctx)[0]

        scores = state.cached_per_signature(state._score_cache, (policy, shape_key(req)), np.nan, np.float64,
                                            compute, nodes)
        pos = pick_best(scores, nodes, state)
        node = int(nodes[pos])
        # the winner is scored once more on its own for its device choice and the score breakdown
        one = np.array([node])
        fit_row = state.device_fit(req, rows=one)
        score1, extra = fn(state, req, one, fit_row, ctx)
        return _choice(state, req, node, fit_row[0], float(score1[0]), extra, 0, policy, ctx)
    fit = state.device_fit(req, rows=nodes)
    scores, extra = fn(state, req, nodes, fit, ctx)
    pos = pick_best(scores, nodes, state)
    return _choice(state, req, int(nodes[pos]), fit[pos], float(scores[pos]), extra, pos, policy, ctx)


def _choice(state, req, node, fit_row, score, extra, pos, policy, ctx) -> Choice:
    out_extra = {}
    if extra is not None:
        for key, val in extra.items():
            if key != "device" and val is not None:
                out_extra[key] = float(val[pos])
    if extra is not None and extra.get("device") is not None and req.kind in ("fractional", "profile"):
        devices = np.array([int(extra["device"][pos])])
    else:
        rule = "random" if policy == "random" else "tightest"
        devices = _devices_for(state, req, node, fit_row, rule, ctx["rng"])
    return Choice(node, devices, score, out_extra)
