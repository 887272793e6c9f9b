"""Attacks on the agent API (issue 10), replayed over real HTTP against the live test server: a provider's
agent must not set the customer's bill, take another provider's devices, brick its node, break the
server with out-of-range numbers or flood it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from apps.billing.models import UsageRecord
from apps.booking.models import Workload
from apps.catalog.models import Node, Region
from apps.scheduling.models import Assignment
from tests.agents.live import http
from tests.conftest import make_tenant

pytestmark = pytest.mark.django_db(transaction=True)


def inventory(hostname: str, uuids: list[str]) -> dict:
    return {"hostname": hostname, "agent_version": "1.0.0", "runtime": "process", "device_backend": "simulated",
            "cpu_milli": 64000, "memory_mib": 262144,
            "devices": [{"uuid": uuid, "index": i, "model": "Tesla T4", "vendor": "nvidia", "memory_total_mib": 15360}
                        for i, uuid in enumerate(uuids)]}


@dataclass
class NodeAgent:
    url: str
    node_id: str
    credential: str
    seq: int = 0
    uuids: list[str] = field(default_factory=list)

    def heartbeat(self, *, assignments=(), devices=None, seq=None, **overrides) -> tuple[int, dict]:
        self.seq = seq if seq is not None else self.seq + 1
        body = {"node_id": self.node_id, "seq": self.seq, "collected_at": datetime.now(UTC).isoformat(),
                "devices": devices if devices is not None else [
                    {"uuid": uuid, "index": i, "utilization_pct": 10.0, "memory_used_mib": 100}
                    for i, uuid in enumerate(self.uuids)],
                "assignments": list(assignments), **overrides}
        return http("POST", f"{self.url}/api/agent/v1/heartbeat", body=body,
                    headers={"Authorization": f"Node {self.credential}"})


@pytest.fixture
def stack(live_server):
    from apps.billing.seed import price_book_seed
    from apps.catalog.reference import reference_data_sync
    from apps.catalog.services import cluster_create
    from apps.telemetry.services import bootstrap_token_create

    reference_data_sync()  # transactional tests start from an emptied database
    price_book_seed()
    provider = make_tenant(kind="provider", name="Mallory Compute")
    cluster = cluster_create(actor=provider.actor("admin"), organization=provider.organization, name="sh-x",
                             region=Region.objects.get(code="cn-shanghai"), kind="bare_metal")

    def enroll(hostname: str, uuids: list[str], *, on=cluster, actor=provider) -> tuple[int, dict]:
        _token, plaintext = bootstrap_token_create(actor=actor.actor("admin"), cluster=on)
        return http("POST", f"{live_server.url}/api/agent/v1/enroll",
                    body={"bootstrap_token": plaintext, **inventory(hostname, uuids)})

    def node(hostname: str = "evil-1", uuids=None) -> NodeAgent:
        uuids = uuids or [f"GPU-{hostname}-{i}" for i in range(2)]
        status, body = enroll(hostname, uuids)
        assert status == 201, body
        return NodeAgent(url=live_server.url, node_id=body["node_id"], credential=body["credential"], uuids=uuids)

    return {"url": live_server.url, "provider": provider, "cluster": cluster, "enroll": enroll, "node": node}


def test_a_forged_start_months_earlier_and_finish_a_month_later_bills_only_what_the_server_saw(stack):
    from apps.scheduling.services import place_pending

    # given a customer's T4 job placed on the attacker's node and handed to its agent
    agent = stack["node"]()
    customer = make_tenant(kind="customer", name="Victim AI")
    workload = Workload.objects.create(
        organization=customer.organization, created_by=customer.member, name="three-minute-job", cpu_milli=1000,
        memory_mib=4096, gpu_milli=500, gpu_memory_mib=4096, spec={"command": ["python", "train.py"]},
        preferred_region=Region.objects.get(code="cn-shanghai"))
    place_pending(region_code="cn-shanghai")
    assignment = Assignment.objects.get(allocations__workload=workload)
    status, reply = agent.heartbeat()
    assert status == 200 and reply["assignments"][0]["id"] == str(assignment.id)
    # when the agent claims it started months ago and finished thirty days from now
    now = datetime.now(UTC)
    forged = {"id": str(assignment.id), "exit_code": 0, "started_at": (now - timedelta(days=120)).isoformat()}
    assert agent.heartbeat(assignments=[{**forged, "state": "running"}])[0] == 200
    assert agent.heartbeat(assignments=[{**forged, "state": "succeeded",
                                         "finished_at": (now + timedelta(days=30)).isoformat()}])[0] == 200
    # then only the seconds between hand-over and the final report's receipt are billed
    assignment.refresh_from_db()
    observed = (assignment.last_reported_at - assignment.delivered_at).total_seconds()
    billed = sum(r.peak_seconds + r.off_peak_seconds for r in UsageRecord.objects.filter(assignment=assignment))
    assert billed <= observed < 60
    assert sum(r.cost_fen for r in UsageRecord.objects.filter(assignment=assignment)) < 100  # under ¥1
    # and staff see the node flagged
    node = Node.objects.get(id=agent.node_id)
    assert node.agent_time_flags >= 1 and node.agent_time_flagged_at is not None


def test_claiming_another_providers_gpu_uuid_is_a_409_staff_see_and_resolve(stack):
    from apps.audit.models import AuditEvent
    from apps.catalog.services import cluster_create
    from apps.telemetry.models import DeviceUuidConflict
    from apps.telemetry.services import device_uuid_conflict_resolve
    from apps.tenancy.access import Actor
    from tests.factories import UserFactory

    # given the attacker enrolled first, claiming the UUID of a card that another provider has
    first = stack["node"]("squatter", uuids=["GPU-real-owner-0"])
    owner = make_tenant(kind="provider", name="Honest Compute")
    owner_cluster = cluster_create(actor=owner.actor("admin"), organization=owner.organization, name="sh-o",
                                   region=Region.objects.get(code="cn-shanghai"), kind="bare_metal")
    # when the real owner enrolls its node: a clear 409, nothing half-written, the conflict recorded
    for attempt in (1, 2):
        status, body = stack["enroll"]("owner-1", ["GPU-real-owner-0"], on=owner_cluster, actor=owner)
        assert status == 409, body
        assert body["error"]["code"] == "device_uuid_conflict"
        assert "GPU-real-owner-0" in body["error"]["message"]
        assert not Node.objects.filter(hostname="owner-1").exists()
        conflict = DeviceUuidConflict.objects.get()
        assert conflict.attempts == attempt
    assert str(conflict.holder_node_id) == first.node_id
    # then staff, having checked who has the card, release the UUID, and the owner's next try enrolls
    staff = UserFactory(is_staff=True)
    device_uuid_conflict_resolve(actor=Actor(user=staff), conflict=conflict, release=True)
    status, body = stack["enroll"]("owner-1", ["GPU-real-owner-0"], on=owner_cluster, actor=owner)
    assert status == 201, body
    assert Node.objects.get(id=body["node_id"]).devices.get().uuid == "GPU-real-owner-0"
    assert AuditEvent.objects.filter(action="device.uuid_conflict_released", actor_id=staff.pk).exists()
    assert AuditEvent.objects.filter(action="device.uuid_conflict").count() == 1


def test_a_report_with_seq_2_pow_62_is_refused_and_the_node_keeps_working(stack):
    agent = stack["node"]()
    assert agent.heartbeat()[0] == 200
    status, body = agent.heartbeat(seq=2**62)
    assert status == 400 and "seq" in body["error"]["fields"]
    assert Node.objects.get(id=agent.node_id).last_seq == 1
    status, body = agent.heartbeat(seq=2)
    assert status == 200 and body["duplicate"] is False
    # and a node whose sequence went astray anyway is reset by re-enrolling with a new token
    status, enrolled = stack["enroll"]("evil-1", agent.uuids)
    assert status == 201 and enrolled["last_seq"] == 0
    agent.credential = enrolled["credential"]
    status, body = agent.heartbeat(seq=1)
    assert status == 200 and body["duplicate"] is False


@pytest.mark.parametrize(("change", "field"), [
    ({"devices": [{"uuid": "GPU-evil-1-0", "utilization_pct": 1, "memory_used_mib": 2**40}]},
     "devices.0.memory_used_mib"),
    ({"devices": [{"uuid": "GPU-evil-1-0", "utilization_pct": 1, "memory_used_mib": 1, "energy_mj": 2**70}]},
     "devices.0.energy_mj"),
    ({"devices": [{"uuid": "GPU-evil-1-0", "utilization_pct": 1, "memory_used_mib": 1, "ecc_errors": 2**63}]},
     "devices.0.ecc_errors"),
    ({"collected_at": "0001-01-01T00:00:00+00:00"}, "collected_at"),
    ({"collected_at": "9999-12-31T23:59:59+00:00"}, "collected_at"),
    ({"collected_at": "2026-12-01T00:00:00"}, "collected_at"),  # no time zone
])
def test_out_of_range_numbers_and_times_are_a_400_and_nothing_is_written(stack, change, field):
    from apps.telemetry.models import DeviceSample

    agent = stack["node"]()
    assert agent.heartbeat()[0] == 200
    before = DeviceSample.objects.count()
    status, body = agent.heartbeat(**change)
    assert status == 400, body
    assert field in body["error"]["fields"], body
    assert DeviceSample.objects.count() == before
    assert Node.objects.get(id=agent.node_id).last_seq == 1


def test_an_assignment_exit_code_beyond_its_column_is_a_400(stack):
    agent = stack["node"]()
    item = {"id": "6f1c1b1e-0000-4000-8000-000000000000", "state": "failed", "exit_code": 2**40}
    status, body = agent.heartbeat(assignments=[item])
    assert status == 400 and "assignments.0.exit_code" in body["error"]["fields"]


def test_the_agent_api_limits_each_node_atomically(stack, settings):
    import threading

    settings.TIDEGRID_AGENT_RATE_PER_MIN = 10
    agent = stack["node"]()
    statuses: list[int] = []
    barrier = threading.Barrier(20)

    def send(seq: int) -> None:
        barrier.wait()
        statuses.append(NodeAgent(url=agent.url, node_id=agent.node_id, credential=agent.credential,
                              uuids=agent.uuids).heartbeat(seq=seq)[0])

    threads = [threading.Thread(target=send, args=(seq,)) for seq in range(1, 21)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 20 parallel reports in one window: exactly the limit gets through, the rest are told to come back
    assert sorted(statuses) == [200] * 10 + [429] * 10


def test_guessing_node_credentials_or_bootstrap_tokens_is_throttled_per_address(stack, settings):
    settings.TIDEGRID_AGENT_AUTH_FAILURES_PER_IP = 5
    agent = stack["node"]()  # a valid enrollment gives its attempt back
    guesser = NodeAgent(url=agent.url, node_id=agent.node_id, credential="tgn_guess_x")
    assert [guesser.heartbeat()[0] for _ in range(6)] == [401] * 5 + [429]
    # the address is refused before any credential is checked, even a right one
    status, _body = agent.heartbeat()
    assert status == 429
    statuses = [http("POST", f"{agent.url}/api/agent/v1/enroll",
                     body={"bootstrap_token": f"tgb_guess_{i}", **inventory("x", ["GPU-x"])})[0] for i in range(6)]
    assert statuses == [401] * 5 + [429]
