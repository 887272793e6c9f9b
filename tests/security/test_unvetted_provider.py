"""Issue 10: "anyone can sign up, create a provider organization, a cluster and an enrollment token, and
enroll a node" — and then earn. Replayed against the live server with a real agent process and real API
calls: the node enrolls and reports, but no customer's booking is placed on it until staff approve the
provider, and a suspended provider's node takes no new work."""

from __future__ import annotations

import pytest

from apps.booking.models import Workload
from apps.catalog.models import Node, Region
from apps.catalog.reference import reference_data_sync
from apps.catalog.services import cluster_create, provider_approve, provider_suspend
from apps.ledger.models import Account, LedgerTransaction
from apps.ledger.services import account_get_or_create, platform_account, transaction_post
from apps.scheduling.services import place_pending
from apps.telemetry.services import bootstrap_token_create
from apps.tenancy.access import Actor
from apps.tenancy.models import Organization
from apps.tenancy.services import api_key_create
from apps.tenancy.uscc import uscc_check_character
from tests.agents.live import AgentFleet, http, wait_for
from tests.conftest import make_tenant
from tests.factories import ProviderProfileFactory, UserFactory

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BOOKING = {"kind": "batch", "preferred_region": "cn-shanghai", "gpu_count": 1, "accelerator_models": ["nvidia-t4"],
           "image": "pytorch", "spec": {"command": ["python", "train.py"]}}


def _book(live_server, customer, key: str, name: str) -> Workload:
    status, body = http("POST", f"{live_server.url}/api/v1/organizations/{customer.organization.id}/workloads/",
                        key=key, body={**BOOKING, "name": name}, headers={"Idempotency-Key": name})
    assert status == 201, body
    return Workload.objects.get(pk=body["id"])


def test_an_unvetted_providers_enrolled_node_gets_no_work_until_staff_approve(live_server, tmp_path):
    reference_data_sync()
    stranger = make_tenant(kind="provider", name="Drive-by Compute", vetting=None)
    cluster = cluster_create(actor=stranger.actor("admin"), organization=stranger.organization, name="sh",
                             region=Region.objects.get(code="cn-shanghai"), kind="bare_metal")
    _token, token = bootstrap_token_create(actor=stranger.actor("admin"), cluster=cluster)
    fleet = AgentFleet(live_server.url, tmp_path)
    try:
        fleet.start("driveby-01", token, models="Tesla T4:2", interval=0.3)
        node = wait_for(lambda: Node.objects.filter(hostname="driveby-01", last_seq__gte=1).first(),
                        what="the agent to enroll and report")

        customer = make_tenant(name="Careful Buyer")
        wallet = account_get_or_create(organization=customer.organization, kind=Account.Kind.CUSTOMER_CASH)
        transaction_post(idempotency_key="credit", kind=LedgerTransaction.Kind.ADJUSTMENT, memo="credit",
                         lines=[(platform_account(Account.Kind.PLATFORM_REVENUE), -100_000), (wallet, 100_000)])
        _api_key, key = api_key_create(actor=customer.actor("owner"), organization=customer.organization, name="ci")
        first = _book(live_server, customer, key, "before-vetting")
        place_pending(region_code="cn-shanghai")
        first.refresh_from_db()
        assert first.state == Workload.State.PENDING
        assert not node.assignments.exists()
        assert not Account.objects.filter(organization=stranger.organization).exists()  # it earned nothing

        Organization.objects.filter(pk=stranger.organization.pk).update(
            credit_code="91310115MA1K4DBY0" + uscc_check_character("91310115MA1K4DBY0"))
        ProviderProfileFactory(organization=stranger.organization, state="pending")
        staff = Actor(user=UserFactory(is_staff=True))
        provider_approve(actor=staff, organization=stranger.organization)
        place_pending(region_code="cn-shanghai")
        first.refresh_from_db()
        assert first.state == Workload.State.PLACED
        assert first.allocations.get().node_id == node.pk

        provider_suspend(actor=staff, organization=stranger.organization, reason="Unverified identity")
        second = _book(live_server, customer, key, "while-suspended")
        place_pending(region_code="cn-shanghai")
        second.refresh_from_db()
        assert second.state == Workload.State.PENDING
        assert Node.objects.get(pk=node.pk).state == Node.State.CORDONED
    finally:
        fleet.close()
