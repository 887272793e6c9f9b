"""Billing fixtures: a provider node with T4s in Shanghai, workloads placed on it, an agent that reports,
and a funded wallet."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from apps.booking.models import Workload
from apps.booking.rules import booking_band
from apps.catalog.models import Node, Region
from apps.ledger.models import Account
from apps.ledger.services import account_get_or_create, platform_account, transaction_post
from apps.scheduling.models import Assignment
from apps.scheduling.services import place_pending
from apps.telemetry.services import bootstrap_token_create, node_enroll

SH = ZoneInfo("Asia/Shanghai")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def fund(organization, amount_fen: int, key: str = "fund") -> None:
    wallet = account_get_or_create(organization=organization, kind=Account.Kind.CUSTOMER_CASH)
    transaction_post(idempotency_key=key, kind="top_up", memo="test top-up", organization=organization,
                     lines=[(platform_account(Account.Kind.STRIPE_CLEARING), -amount_fen), (wallet, amount_fen)])


def account_balance(organization, kind) -> int:
    account = Account.objects.filter(organization=organization, kind=kind).first()
    return account.balance_fen if account else 0


@dataclass
class Agent:
    node: Node
    client: APIClient
    seq: int = 0

    def report(self, assignment: Assignment, state: str, **extra) -> dict:
        """Report ``state``; a ``started_at`` given is taken as the second the server handed the work over
        (these tests are about pricing; the bounds on agent times are tested in test_observed_time)."""
        if isinstance(extra.get("started_at"), datetime):
            Assignment.objects.filter(pk=assignment.pk, delivered_at__isnull=True).update(
                delivered_at=extra["started_at"].replace(microsecond=0))
        self.seq += 1
        item = {"id": str(assignment.id), "state": state}
        item.update({key: value.isoformat() if isinstance(value, datetime) else value
                     for key, value in extra.items()})
        body = {"node_id": str(self.node.id), "seq": self.seq, "collected_at": datetime.now(SH).isoformat(),
                "devices": [], "assignments": [item]}
        response = self.client.post("/api/agent/v1/heartbeat", body, format="json")
        assert response.status_code == 200, response.content
        return response.json()


@pytest.fixture
def agent(provider, cluster) -> Agent:
    _token, plaintext = bootstrap_token_create(actor=provider.actor("admin"), cluster=cluster)
    node, credential = node_enroll(bootstrap_token=plaintext, hostname="bill-1", inventory={
        "runtime": "process", "device_backend": "simulated", "cpu_milli": 64000, "memory_mib": 262144,
        "devices": [{"uuid": f"GPU-bill-{i}", "index": i, "model": "Tesla T4", "memory_total_mib": 15360}
                    for i in range(4)]})
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Node {credential}")
    return Agent(node=node, client=client)


@pytest.fixture
def place(customer, agent):
    """place(**workload fields) → (workload, assignment): a T4 workload in Shanghai, placed on the agent's node."""

    def build(name="train", **fields):
        values = {"cpu_milli": 1000, "memory_mib": 4096, "gpu_milli": 500, "gpu_memory_mib": 4096,
                  "spec": {"command": ["python", "train.py"]}}
        values.update(fields)
        if values.get("gpu_count"):
            values.update(gpu_milli=0, gpu_memory_mib=0)
        # Created directly (no funds check here), so in its mode's priority band as workload_submit would.
        values["priority"], values["preemptible"] = booking_band(
            billing_mode=values.get("billing_mode", "on_demand"), customer_priority=values.get("priority", 0))
        workload = Workload.objects.create(organization=customer.organization, created_by=customer.member,
                                           name=name, preferred_region=Region.objects.get(code="cn-shanghai"),
                                           **values)
        place_pending(region_code="cn-shanghai")
        workload.refresh_from_db()
        assert workload.state == Workload.State.PLACED, workload.pending_reason
        return workload, Assignment.objects.filter(allocations__workload=workload).distinct().get()

    return build


@pytest.fixture
def new_book():
    """new_book(effective_from, hourly={(model, region): "3.00"}, **terms) → a published copy of the current
    book with those prices changed."""
    from apps.billing.services import price_book_copy, price_book_publish

    def build(*, effective_from, hourly=None, **terms):
        draft = price_book_copy(actor=None, name=f"from {effective_from:%Y-%m-%d %H:%M}",
                                effective_from=effective_from, hourly=hourly or {}, **terms)
        return price_book_publish(actor=None, book=draft, allow_past=True)

    return build
