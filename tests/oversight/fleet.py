"""A generated 30-day history of a fleet for the oversight tests, and the KPIs computed from its raw
rows in plain Python — independently of the platform's SQL rollup and of oversight_verify.kpi."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from apps.booking.models import Workload
from apps.catalog.models import AcceleratorModel, Cluster, Device, Node, Region
from apps.oversight.models import DeviceStateSpan
from apps.oversight.rollups import day_rollup
from apps.scheduling.models import Allocation
from apps.telemetry.models import DeviceSample
from apps.tenancy.models import Organization, Role
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory

SH = ZoneInfo("Asia/Shanghai")
MONTH_START = date(2026, 11, 1)
DAYS = 30
SAMPLE_EVERY_S = 600
SAMPLE_MAX_GAP_S = 900  # the tests run with TIDEGRID_OVERSIGHT_SAMPLE_MAX_GAP_S = this


def at(day: int, hour: float = 0) -> datetime:
    """Local time on day ``day`` (1 = Nov 1) of the month, ``hour`` hours after midnight."""
    return datetime(2026, 11, 1, tzinfo=SH) + timedelta(days=day - 1, hours=hour)


MONTH_END_AT = at(DAYS + 1)


@dataclass
class Fleet:
    government: Organization
    auditor: object
    admin: object
    other_government: Organization
    other_auditor: object
    providers: list
    customers: dict
    regions: dict
    clusters: dict
    nodes: dict
    devices: dict = field(default_factory=dict)  # name → Device


def _device(provider, node, index, model) -> Device:
    return Device.objects.create(organization=provider, node=node, uuid=f"GPU-{uuid.uuid4()}", index=index,
                                 model=model, reported_name=model.name, memory_total_mib=model.memory_mib,
                                 free_memory_mib=model.memory_mib)


def build_fleet(*, with_history: bool = True) -> Fleet:
    from apps.catalog.reference import reference_data_sync

    reference_data_sync()  # transactional tests start from an emptied database
    rng = random.Random(13)
    regions = {code: Region.objects.get(code=code) for code in ("cn-shanghai", "cn-suzhou", "cn-beijing")}
    government = OrganizationFactory(kind="government", name="Shanghai–Suzhou Compute Office")
    government.jurisdiction.set([regions["cn-shanghai"], regions["cn-suzhou"]])
    auditor = MembershipFactory(organization=government, role=Role.AUDITOR).user
    admin = MembershipFactory(organization=government, role=Role.ADMIN).user
    other_government = OrganizationFactory(kind="government", name="Beijing Compute Office")
    other_government.jurisdiction.set([regions["cn-beijing"]])
    other_auditor = MembershipFactory(organization=other_government, role=Role.AUDITOR).user
    east = OrganizationFactory(kind="provider", name="East Compute")
    ascend = OrganizationFactory(kind="provider", name="Ascend Cloud")
    customers = {
        "local": OrganizationFactory(kind="customer", name="Pudong AI", registered_region=regions["cn-shanghai"],
                                     industry="ai", size_class="sme"),
        "other": OrganizationFactory(kind="customer", name="Beijing Motors", registered_region=regions["cn-beijing"],
                                     industry="automotive", size_class="large"),
        "unknown": OrganizationFactory(kind="customer", name="No Profile Ltd"),
    }
    h100 = AcceleratorModel.objects.get(code="nvidia-h100-80gb")
    ascend910 = AcceleratorModel.objects.get(code="huawei-ascend-910b3")
    clusters = {
        "sh": Cluster.objects.create(organization=east, name="sh-a", region=regions["cn-shanghai"]),
        "sz": Cluster.objects.create(organization=ascend, name="sz-npu", region=regions["cn-suzhou"]),
        "bj": Cluster.objects.create(organization=east, name="bj-a", region=regions["cn-beijing"]),
    }
    layout = {"sh-1": ("sh", h100), "sh-2": ("sh", h100), "sz-1": ("sz", ascend910), "sz-2": ("sz", ascend910),
              "bj-1": ("bj", h100)}
    nodes, devices = {}, {}
    for name, (cluster_key, model) in layout.items():
        cluster = clusters[cluster_key]
        node = Node.objects.create(organization=cluster.organization, cluster=cluster, hostname=name)
        nodes[name] = node
        for index in range(2):
            devices[f"{name}/{index}"] = _device(cluster.organization, node, index, model)
    fleet = Fleet(government, auditor, admin, other_government, other_auditor, [east, ascend], customers, regions,
                  clusters, nodes, devices)
    if with_history:
        _history(fleet, rng)
    return fleet


def _history(fleet: Fleet, rng: random.Random) -> None:
    S = DeviceStateSpan.State
    spans = []

    def span(device, state, start, end):
        spans.append(DeviceStateSpan(device=fleet.devices[device], state=state, started_at=start, ended_at=end))

    # sh-1: in service all month except a maintenance window on days 5–6 (10:00 on day 5 to 14:00 day 6).
    for i in (0, 1):
        span(f"sh-1/{i}", S.IN_SERVICE, at(1), at(5, 10))
        span(f"sh-1/{i}", S.MAINTENANCE, at(5, 10), at(6, 14))
        span(f"sh-1/{i}", S.IN_SERVICE, at(6, 14), MONTH_END_AT)
    # sh-2: an outage on day 12 from 03:00 to 09:30 (no samples then), quarantine of GPU 1 on days 20–22.
    for i in (0, 1):
        span(f"sh-2/{i}", S.IN_SERVICE, at(1), at(12, 3))
        span(f"sh-2/{i}", S.UNREACHABLE, at(12, 3), at(12, 9.5))
    span("sh-2/0", S.IN_SERVICE, at(12, 9.5), MONTH_END_AT)
    span("sh-2/1", S.IN_SERVICE, at(12, 9.5), at(20, 6))
    span("sh-2/1", S.QUARANTINE, at(20, 6), at(22, 18))
    span("sh-2/1", S.IN_SERVICE, at(22, 18), MONTH_END_AT)
    # sz-1: in service all month; sz-2 enrolled on day 10 at noon, and one unobserved hour on day 15.
    for i in (0, 1):
        span(f"sz-1/{i}", S.IN_SERVICE, at(1), MONTH_END_AT)
        span(f"sz-2/{i}", S.IN_SERVICE, at(10, 12), at(15, 4))
        span(f"sz-2/{i}", S.IN_SERVICE, at(15, 5), MONTH_END_AT)
    # bj-1: outside the jurisdiction, in service all month.
    for i in (0, 1):
        span(f"bj-1/{i}", S.IN_SERVICE, at(1), MONTH_END_AT)
    DeviceStateSpan.objects.bulk_create(spans)

    allocations = []  # (device, customer, compute_milli, start, end or None)
    allocations.append(("sh-1/0", "local", 1000, at(1, 8), at(20, 8)))  # whole card across the maintenance
    allocations.append(("sh-1/1", "other", 500, at(3), at(9, 12)))  # fractional
    allocations.append(("sh-1/1", "local", 250, at(4, 6), at(25)))  # fractional, idle: util 0 below
    allocations.append(("sh-2/0", "other", 1000, at(11), at(13)))  # across the outage
    allocations.append(("sh-2/1", "unknown", 1000, at(18), at(21)))  # across the quarantine
    allocations.append(("sz-1/0", "local", 1000, at(2, 3.25), None))  # still running at month end
    allocations.append(("sz-1/1", "other", 330, at(7, 1), at(17, 23)))
    allocations.append(("sz-2/0", "local", 1000, at(9), at(12)))  # before enrolment is not in service
    allocations.append(("sz-2/1", "other", 1000, at(14, 22), at(16, 2)))  # across the unobserved hour
    allocations.append(("bj-1/0", "local", 1000, at(1), at(30)))  # outside the jurisdiction
    allocations.append(("sh-1/0", "other", 1000, at(26), at(40)))  # beyond the month
    user = UserFactory()
    for index, (device_key, customer_key, milli, start, end) in enumerate(allocations):
        device = fleet.devices[device_key]
        customer = fleet.customers[customer_key]
        workload = Workload.objects.create(organization=customer, created_by=user, name=f"wl-{index}",
                                           preferred_region=device.node.cluster.region,
                                           **({"gpu_count": 1} if milli == 1000 else {"gpu_milli": milli}))
        allocation = Allocation.objects.create(workload=workload, organization=customer, node=device.node,
                                               device=device, compute_milli=milli, memory_mib=1024,
                                               released_at=end)
        Allocation.objects.filter(pk=allocation.pk).update(created_at=start)
    idle = {"sh-1/1"}
    samples = []
    for key, device in fleet.devices.items():
        moment = at(1) - timedelta(seconds=300)
        seq = 0
        while moment < MONTH_END_AT + timedelta(hours=1):
            moment += timedelta(seconds=SAMPLE_EVERY_S + rng.randint(-120, 120))
            if key.startswith("sh-2") and at(12, 3) <= moment < at(12, 9.5):
                continue  # the outage: nothing reported
            if key.startswith("sz-2") and moment < at(10, 12):
                continue  # not enrolled yet
            if rng.random() < 0.01:
                moment += timedelta(seconds=1200)  # a lost report now and then: a gap over the max
            seq += 1
            utilization = 0.0 if key in idle else round(rng.uniform(5, 98), 1)
            samples.append(DeviceSample(device=device, node=device.node, seq=seq, collected_at=moment,
                                        received_at=moment, utilization_pct=utilization, memory_used_mib=1000,
                                        power_w=round(rng.uniform(60, 700), 1), temperature_c=55.0))
    DeviceSample.objects.bulk_create(samples, batch_size=5000)


def rollup_month() -> None:
    for offset in range(-1, DAYS + 1):  # the days around the month too: they must not leak into it
        day_rollup(day=MONTH_START + timedelta(days=offset))


# --- the independent computation -------------------------------------------------------------------

def _overlap(a0, a1, b0, b1) -> float:
    return max(0.0, (min(a1, b1) - max(a0, b0)).total_seconds())


def expected_month(fleet: Fleet, *, start: datetime | None = None, end: datetime | None = None) -> dict:
    """Per device key: the totals over [start, end) (the month by default), from the raw rows."""
    start = start or at(1)
    end = end or MONTH_END_AT
    far = datetime(2100, 1, 1, tzinfo=SH)
    result = {}
    for key, device in fleet.devices.items():
        spans = list(DeviceStateSpan.objects.filter(device=device).values_list("state", "started_at", "ended_at"))
        state_s = defaultdict(float)
        for state, s0, s1 in spans:
            state_s[state] += _overlap(s0, s1, start, end)
        in_service = [(s0, s1) for state, s0, s1 in spans if state == "in_service"]
        share_by_customer = defaultdict(float)
        for customer_id, milli, a0, a1 in Allocation.objects.filter(device=device).values_list(
                "organization_id", "compute_milli", "created_at", "released_at"):
            for s0, s1 in in_service:
                lo, hi = max(a0, s0, start), min(a1 or far, s1, end)
                if hi > lo:
                    share_by_customer[customer_id] += milli / 1000 * (hi - lo).total_seconds()
        rows = list(DeviceSample.objects.filter(device=device).order_by("collected_at").values_list(
            "collected_at", "utilization_pct", "power_w"))
        utilized = energy = 0.0
        for i, (t0, util, power) in enumerate(rows):
            step = timedelta(seconds=SAMPLE_MAX_GAP_S)
            if i + 1 < len(rows):
                step = min(step, rows[i + 1][0] - t0)
            t1 = t0 + step
            energy += (power or 0) * _overlap(t0, t1, start, end)
            for s0, s1 in in_service:
                lo, hi = max(t0, s0, start), min(t1, s1, end)
                if hi > lo:
                    utilized += util / 100 * (hi - lo).total_seconds()
        model = device.model
        result[key] = {
            "device": device, "region": device.node.cluster.region.code, "provider": device.organization_id,
            "cluster": device.node.cluster_id, "node": device.node_id,
            "vendor_class": "imported" if model.vendor == "nvidia" else "domestic", "model": model.code,
            "tflops": float(model.fp16_tflops), "state_s": dict(state_s), "registered_s": sum(state_s.values()),
            "share_by_customer": dict(share_by_customer), "utilized_s": utilized, "energy_j": energy,
        }
    return result


def expected_kpis(devices: list[dict], *, local_region_codes: set, customers: dict) -> dict:
    """KPIs from per-device totals, the formulas written out again here."""
    region_of = {c.id: (c.registered_region.code if c.registered_region else None) for c in customers.values()}
    registered = sum(d["registered_s"] for d in devices)
    in_service = sum(d["state_s"].get("in_service", 0) for d in devices)
    allocated = sum(sum(d["share_by_customer"].values()) for d in devices)
    onboarded = sum(d["tflops"] * d["registered_s"] for d in devices) / 1000 / 86400
    delivered = sum(d["tflops"] * sum(d["share_by_customer"].values()) for d in devices) / 1000 / 86400
    local = sum(d["tflops"] * share for d in devices for cid, share in d["share_by_customer"].items()
                if region_of[cid] in local_region_codes) / 1000 / 86400
    energy_kwh = sum(d["energy_j"] for d in devices) / 3.6e6

    def ratio(a, b):
        return a / b if b else None

    return {
        "in_service_rate": ratio(in_service, registered),
        "maintenance_rate": ratio(sum(d["state_s"].get("maintenance", 0) for d in devices), registered),
        "quarantine_rate": ratio(sum(d["state_s"].get("quarantine", 0) for d in devices), registered),
        "unreachable_rate": ratio(sum(d["state_s"].get("unreachable", 0) for d in devices), registered),
        "allocation_rate": ratio(allocated, in_service),
        "utilization": ratio(sum(d["utilized_s"] for d in devices), in_service),
        "onboarded_pflops_days": onboarded,
        "delivered_pflops_days": delivered,
        "delivered_local_pflops_days": local,
        "delivered_other_pflops_days": delivered - local,
        "consumption_rate": ratio(delivered, onboarded),
        "consumption_rate_local": ratio(local, onboarded),
        "consumption_rate_other": ratio(delivered - local, onboarded),
        "energy_kwh": energy_kwh,
        "pflops_days_per_mwh": ratio(delivered, energy_kwh / 1000),
    }


def assert_kpis_equal(actual: dict, expected: dict, *, rel: float = 1e-9) -> None:
    import pytest

    for name, value in expected.items():
        if value is None:
            assert actual[name] is None, name
        else:
            assert actual[name] == pytest.approx(value, rel=rel, abs=1e-9), name
