"""Providers are vetted before they earn: a new provider registers clusters and enrolls nodes, but its
capacity is sold (market, placement) only once staff approved its record (checked USCC, a contact, the
payout account). Suspension cordons its nodes and holds its payable; every step is audited."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from apps.audit.models import AuditEvent
from apps.booking.models import Workload
from apps.catalog import services
from apps.catalog.models import Node, ProviderProfile, Region
from apps.catalog.selectors import availability_list
from apps.catalog.services import cluster_create, node_set_state
from apps.ledger.models import Account, Entry, LedgerTransaction
from apps.ledger.services import account_get_or_create, customer_charge, provider_payout
from apps.portal.demo import _credit_code
from apps.scheduling.services import place_pending
from apps.tenancy.access import Actor
from apps.tenancy.services import organization_update_profile
from tests.factories import UserFactory
from tests.scheduling.conftest import enroll_node, pending_workload

pytestmark = pytest.mark.django_db

USCC = _credit_code("91310115MA1K4PRT0")
RECORD = {"credit_code": USCC, "contact_name": "韩梅梅", "contact_phone": "+86 21 5555 0100",
          "contact_email": "ops@newcomer.example", "bank_name": "中国银行上海分行",
          "bank_account_name": "Newcomer Compute Ltd.", "bank_account_number": "6216 6101 0001 2345 678"}


@pytest.fixture
def staff():
    return Actor(user=UserFactory(is_staff=True))


@pytest.fixture
def new_cluster(unvetted_provider):
    return cluster_create(actor=unvetted_provider.actor("admin"), organization=unvetted_provider.organization,
                          name="newcomer-sh", region=Region.objects.get(code="cn-shanghai"), kind="bare_metal")


@pytest.fixture
def new_node(unvetted_provider, new_cluster):
    """Enrolling works before vetting: the fleet exists, it is just not sold."""
    return enroll_node(unvetted_provider, new_cluster, "newcomer-01")


def _submitted(provider):
    organization = provider.organization
    services.provider_profile_save(actor=provider.actor("admin"), organization=organization, **RECORD)
    return services.provider_profile_submit(actor=provider.actor("admin"), organization=organization)


def _actions(organization):
    return list(AuditEvent.objects.filter(organization=organization, action__startswith="provider.")
                .order_by("seq").values_list("action", flat=True))


def _on_sale(organization) -> int:
    return sum(row.cards_total for row in availability_list()
               if row.region.code == "cn-shanghai" and row.model.code == "nvidia-t4")


# --- the record, in the portal -------------------------------------------------------------------


def test_the_provider_fills_in_its_record_and_submits_it_for_review(as_user, unvetted_provider):
    client = as_user(unvetted_provider.admin, unvetted_provider.organization)
    page = client.get(reverse("fleet:provider_vetting")).content.decode()
    assert 'data-state="draft"' in page and "Not submitted" in page

    response = client.post(reverse("fleet:provider_vetting"), RECORD)
    assert response.status_code == 302
    profile = ProviderProfile.objects.get(organization=unvetted_provider.organization)
    assert profile.state == "pending" and profile.submitted_at is not None
    assert profile.bank_account_number == "6216610100012345678"  # spaces dropped
    unvetted_provider.organization.refresh_from_db()
    assert unvetted_provider.organization.credit_code == USCC  # the organization's own code is the one checked
    assert _actions(unvetted_provider.organization) == ["provider.profile_saved", "provider.submitted"]
    assert "Awaiting review" in client.get(reverse("fleet:provider_vetting")).content.decode()


def test_bad_input_is_shown_on_its_fields_in_both_languages_and_nothing_is_written(as_user, unvetted_provider):
    client = as_user(unvetted_provider.admin, unvetted_provider.organization)
    bad = {**RECORD, "credit_code": USCC[:17] + ("1" if USCC[17] != "1" else "2"), "contact_phone": "call me",
           "bank_account_number": "12-AB", "contact_email": "not-an-address"}
    english = client.post(reverse("fleet:provider_vetting"), bad, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The check character does not match" in english
    assert "Enter a valid email address" in english
    chinese = client.post(reverse("fleet:provider_vetting"), bad, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "校验码" in chinese  # the check character message, in Chinese
    # Fields the form accepts but the service refuses come back on their fields too.
    response = client.post(reverse("fleet:provider_vetting"), {**RECORD, "contact_phone": "call me",
                                                                 "bank_account_number": "12-AB"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "Enter a phone number of digits" in body and "A bank account number has 8 to 30 digits" in body
    assert not ProviderProfile.objects.filter(organization=unvetted_provider.organization).exclude(
        state="draft").exists()
    assert _actions(unvetted_provider.organization) == []


def test_only_owners_and_admins_change_the_record(as_user, unvetted_provider):
    client = as_user(unvetted_provider.viewer, unvetted_provider.organization)
    assert client.get(reverse("fleet:provider_vetting")).status_code == 200
    assert client.post(reverse("fleet:provider_vetting"), RECORD).status_code == 403
    with pytest.raises(PermissionDenied):
        services.provider_profile_save(actor=unvetted_provider.actor("member"),
                                       organization=unvetted_provider.organization, **RECORD)


def test_a_customer_organization_has_no_vetting(as_user, customer):
    client = as_user(customer.owner, customer.organization)
    assert client.get(reverse("fleet:provider_vetting")).status_code == 404


# --- staff review ----------------------------------------------------------------------------------


def test_only_staff_review_and_every_step_is_audited(unvetted_provider, staff):
    organization = unvetted_provider.organization
    _submitted(unvetted_provider)
    for actor in (unvetted_provider.actor("owner"), Actor(user=UserFactory())):
        with pytest.raises(PermissionDenied):
            services.provider_approve(actor=actor, organization=organization)
        with pytest.raises(PermissionDenied):
            services.provider_suspend(actor=actor, organization=organization, reason="no")
    assert ProviderProfile.objects.get(organization=organization).state == "pending"

    services.provider_approve(actor=staff, organization=organization)
    services.provider_suspend(actor=staff, organization=organization, reason="Unpaid electricity bill")
    services.provider_reinstate(actor=staff, organization=organization)
    assert _actions(organization) == ["provider.profile_saved", "provider.submitted", "provider.approved",
                                      "provider.suspended", "provider.reinstated"]
    approved = AuditEvent.objects.get(organization=organization, action="provider.approved")
    assert approved.actor_id == staff.user.pk
    assert approved.details["credit_code"] == USCC and approved.details["bank_account"] == "…5678"
    profile = ProviderProfile.objects.get(organization=organization)
    assert (profile.state, profile.reviewed_by_id) == ("approved", staff.user.pk)


def test_a_rejection_needs_a_reason_the_provider_sees_and_it_can_submit_again(as_user, unvetted_provider, staff):
    organization = unvetted_provider.organization
    _submitted(unvetted_provider)
    with pytest.raises(ValidationError) as error:
        services.provider_reject(actor=staff, organization=organization, reason="  ")
    assert "reason" in error.value.message_dict
    services.provider_reject(actor=staff, organization=organization, reason="The account name is not the company's.")

    client = as_user(unvetted_provider.admin, organization)
    page = client.get(reverse("fleet:provider_vetting")).content.decode()
    assert "Rejected" in page and "The account name is not the company&#x27;s." in page
    assert client.post(reverse("fleet:provider_vetting"),
                       {**RECORD, "bank_account_name": "Newcomer Compute Co., Ltd."}).status_code == 302
    assert ProviderProfile.objects.get(organization=organization).state == "pending"
    assert _actions(organization)[-2:] == ["provider.profile_saved", "provider.submitted"]


def test_an_incomplete_record_cannot_be_submitted_or_approved(unvetted_provider, staff):
    organization = unvetted_provider.organization
    with pytest.raises(ValidationError) as error:
        services.provider_profile_submit(actor=unvetted_provider.actor("admin"), organization=organization)
    assert {"credit_code", "contact_name", "bank_account_number"} <= set(error.value.message_dict)
    with pytest.raises(ValidationError):
        services.provider_approve(actor=staff, organization=organization)
    assert _actions(organization) == []


def test_the_approved_record_and_its_uscc_are_frozen_for_the_provider(as_user, unvetted_provider, staff):
    organization = unvetted_provider.organization
    _submitted(unvetted_provider)
    services.provider_approve(actor=staff, organization=organization)
    with pytest.raises(ValidationError):
        services.provider_profile_save(actor=unvetted_provider.actor("admin"), organization=organization,
                                       **{**RECORD, "bank_account_number": "99999999999"})
    organization.refresh_from_db()
    with pytest.raises(ValidationError) as error:
        organization_update_profile(actor=unvetted_provider.actor("owner"), organization=organization,
                                    credit_code=_credit_code("91310115MA1K4PRT1"))
    assert "credit_code" in error.value.message_dict
    client = as_user(unvetted_provider.admin, organization)
    assert client.post(reverse("fleet:provider_vetting"), RECORD).status_code == 403


# --- what is sold --------------------------------------------------------------------------------


def test_an_unapproved_providers_capacity_is_neither_in_the_market_nor_placed(unvetted_provider, new_node,
                                                                               customer, staff):
    organization = unvetted_provider.organization
    assert new_node.schedulable  # enrolled and reporting
    assert _on_sale(organization) == 0
    workload = pending_workload(customer, gpu_milli=0, gpu_memory_mib=0, gpu_count=1)
    assert place_pending(region_code="cn-shanghai")["placed"] == 0

    _submitted(unvetted_provider)
    assert _on_sale(organization) == 0 and place_pending(region_code="cn-shanghai")["placed"] == 0

    services.provider_approve(actor=staff, organization=organization)
    assert _on_sale(organization) == 4
    assert place_pending(region_code="cn-shanghai")["placed"] == 1
    workload.refresh_from_db()
    assert workload.state == Workload.State.PLACED
    assert workload.allocations.get().node_id == new_node.pk


def test_the_market_page_shows_capacity_only_after_approval(as_user, unvetted_provider, new_node, customer, staff):
    client = as_user(customer.member, customer.organization)
    assert 'data-model="nvidia-t4"' not in client.get(reverse("booking:market")).content.decode()
    _submitted(unvetted_provider)
    services.provider_approve(actor=staff, organization=unvetted_provider.organization)
    assert 'data-model="nvidia-t4"' in client.get(reverse("booking:market")).content.decode()


# --- suspension ----------------------------------------------------------------------------------


@pytest.fixture
def approved_fleet(unvetted_provider, new_cluster, new_node, staff):
    """Approved, with three nodes: one active, one the provider cordoned itself, one decommissioned."""
    _submitted(unvetted_provider)
    services.provider_approve(actor=staff, organization=unvetted_provider.organization)
    own_cordon = enroll_node(unvetted_provider, new_cluster, "newcomer-02")
    node_set_state(actor=unvetted_provider.actor("admin"), node=own_cordon, action="cordon")
    retired = enroll_node(unvetted_provider, new_cluster, "newcomer-03")
    node_set_state(actor=unvetted_provider.actor("admin"), node=retired, action="decommission")
    return new_node, own_cordon, retired


def _states(*nodes):
    return [Node.objects.get(pk=node.pk).state for node in nodes]


def test_suspension_cordons_the_active_nodes_and_reinstatement_uncordons_only_those(unvetted_provider,
                                                                                   approved_fleet, staff):
    organization = unvetted_provider.organization
    active, own_cordon, retired = approved_fleet
    services.provider_suspend(actor=staff, organization=organization, reason="Fraud investigation")
    assert _states(active, own_cordon, retired) == ["cordoned", "cordoned", "decommissioned"]
    assert _on_sale(organization) == 0
    cordon = AuditEvent.objects.get(organization=organization, action="node.cordon", object_id=str(active.pk),
                                    actor_id=staff.user.pk)
    assert cordon.details["by"] == "provider.suspended"
    # The provider cannot put its nodes back on sale while suspended.
    with pytest.raises(ValidationError):
        node_set_state(actor=unvetted_provider.actor("admin"), node=active, action="uncordon")

    services.provider_reinstate(actor=staff, organization=organization)
    assert _states(active, own_cordon, retired) == ["active", "cordoned", "decommissioned"]
    assert _on_sale(organization) == 4


def test_a_suspended_providers_payable_is_held_and_released_on_reinstatement(unvetted_provider, approved_fleet,
                                                                            customer, staff):
    organization = unvetted_provider.organization
    wallet = account_get_or_create(organization=customer.organization, kind=Account.Kind.CUSTOMER_CASH)
    from apps.ledger.services import platform_account, transaction_post

    transaction_post(idempotency_key="top-up", kind=LedgerTransaction.Kind.ADJUSTMENT, memo="credit",
                     lines=[(platform_account(Account.Kind.STRIPE_CLEARING), -10_000), (wallet, 10_000)])
    customer_charge(organization=customer.organization, amount_fen=5_000, idempotency_key="charge-1", memo="use",
                    provider_organization=organization, provider_share_fen=4_000)
    payable = Account.objects.get(organization=organization, kind=Account.Kind.PROVIDER_PAYABLE)
    assert payable.balance_fen == 4_000

    services.provider_suspend(actor=staff, organization=organization, reason="Disputed usage")
    with pytest.raises(ValidationError) as error:
        provider_payout(actor=staff, organization=organization, amount_fen=4_000, idempotency_key="payout-1")
    assert "held" in " ".join(error.value.messages)
    # Work that ran before keeps being charged: the ledger keeps crediting the held payable.
    customer_charge(organization=customer.organization, amount_fen=1_000, idempotency_key="charge-2", memo="use",
                    provider_organization=organization, provider_share_fen=800)
    payable.refresh_from_db()
    assert payable.balance_fen == 4_800
    assert Entry.objects.filter(account=payable).count() == 2
    assert not LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.PAYOUT).exists()

    services.provider_reinstate(actor=staff, organization=organization)
    with pytest.raises(ValidationError):
        provider_payout(actor=staff, organization=organization, amount_fen=5_000, idempotency_key="payout-2")
    with pytest.raises(PermissionDenied):
        provider_payout(actor=unvetted_provider.actor("owner"), organization=organization, amount_fen=100,
                        idempotency_key="payout-3")
    provider_payout(actor=staff, organization=organization, amount_fen=4_800, idempotency_key="payout-4",
                    reference="CNAPS 2026-12-02")
    provider_payout(actor=staff, organization=organization, amount_fen=4_800, idempotency_key="payout-4")  # retry
    payable.refresh_from_db()
    assert payable.balance_fen == 0
    assert AuditEvent.objects.filter(organization=organization, action="ledger.provider_payout").count() == 1


# --- the admin -------------------------------------------------------------------------------------


def _changelist():
    return reverse("admin:catalog_providerprofile_changelist")


def test_staff_approve_and_reject_with_a_reason_in_the_admin(client, unvetted_provider, other_provider, staff):
    _submitted(unvetted_provider)
    rival = make_pending(other_provider)
    client.force_login(staff.user)
    staff.user.is_superuser = True
    staff.user.save()
    profile = ProviderProfile.objects.get(organization=unvetted_provider.organization)
    listing = client.get(_changelist()).content.decode()
    assert unvetted_provider.organization.name in listing
    assert "¥0.00 (held)" in listing  # not approved yet: nothing would be paid out

    client.post(_changelist(), {"action": "approve", "_selected_action": [profile.pk]})
    assert ProviderProfile.objects.get(pk=profile.pk).state == "approved"

    ask = client.post(_changelist(), {"action": "reject", "_selected_action": [rival.pk]})
    assert ask.status_code == 200 and "Reason (shown to the provider)" in ask.content.decode()
    assert ProviderProfile.objects.get(pk=rival.pk).state == "pending"
    client.post(_changelist(), {"action": "reject", "_selected_action": [rival.pk], "apply": "1",
                                "reason": "USCC belongs to another company"})
    rival.refresh_from_db()
    assert (rival.state, rival.reason) == ("rejected", "USCC belongs to another company")
    assert AuditEvent.objects.filter(action="provider.rejected", actor_id=staff.user.pk).count() == 1


def make_pending(provider):
    profile = ProviderProfile.objects.get(organization=provider.organization)
    ProviderProfile.objects.filter(pk=profile.pk).update(state="pending")
    profile.refresh_from_db()
    return profile


def test_the_vetting_admin_is_for_staff_only(client, unvetted_provider):
    _submitted(unvetted_provider)
    client.force_login(unvetted_provider.owner)
    profile = ProviderProfile.objects.get(organization=unvetted_provider.organization)
    response = client.post(_changelist(), {"action": "approve", "_selected_action": [profile.pk]})
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert ProviderProfile.objects.get(pk=profile.pk).state == "pending"


def test_the_demo_provider_is_approved_and_loading_twice_changes_nothing():
    from apps.portal.demo import demo_world_load
    from apps.tenancy.models import Organization

    demo_world_load()
    demo_world_load()
    provider = Organization.objects.get(name="East China Compute Hub")
    assert provider.provider_profile.state == "approved"
    assert AuditEvent.objects.filter(organization=provider, action="provider.approved").count() == 1


def test_customers_are_not_vetted_and_nothing_is_written_for_them(customer, staff):
    with pytest.raises(ValidationError):
        services.provider_approve(actor=staff, organization=customer.organization)
    with pytest.raises(ValidationError):
        services.provider_profile_save(actor=customer.actor("admin"), organization=customer.organization, **RECORD)
    assert not ProviderProfile.objects.exists()


def test_staff_acting_through_an_api_key_cannot_vet(unvetted_provider, staff):
    from apps.tenancy.models import ApiKey

    _submitted(unvetted_provider)
    key = ApiKey(organization=unvetted_provider.organization, name="k", prefix="x", key_hash="y",
                 created_by=staff.user)
    with pytest.raises(PermissionDenied):
        services.provider_approve(actor=Actor(user=staff.user, api_key=key),
                                  organization=unvetted_provider.organization)


@pytest.mark.django_db(transaction=True)
def test_a_provider_uncordoning_while_staff_suspend_it_never_ends_with_an_active_node():
    """Racing real connections: the provider uncordons its own cordoned node while staff suspend it.
    Whichever commits first, the node ends cordoned (the suspension either sees the uncordon or refuses it)."""
    import threading

    from django.db import connection

    from apps.catalog.reference import reference_data_sync
    from tests.conftest import make_tenant

    reference_data_sync()
    staff = Actor(user=UserFactory(is_staff=True))
    for round_ in range(4):
        provider = make_tenant(kind="provider", name=f"Racer Compute {round_}")
        cluster = cluster_create(actor=provider.actor("admin"), organization=provider.organization, name="sh",
                                 region=Region.objects.get(code="cn-shanghai"), kind="bare_metal")
        node = enroll_node(provider, cluster, f"racer-{round_}")
        node_set_state(actor=provider.actor("admin"), node=node, action="cordon")
        start = threading.Barrier(2)
        outcome = {}

        def uncordon(provider=provider, node=node, start=start, outcome=outcome):
            start.wait()
            try:
                node_set_state(actor=provider.actor("admin"), node=node, action="uncordon")
                outcome["uncordon"] = "done"
            except ValidationError:
                outcome["uncordon"] = "refused"
            finally:
                connection.close()

        def suspend(provider=provider, start=start):
            start.wait()
            try:
                services.provider_suspend(actor=staff, organization=provider.organization, reason="race")
            finally:
                connection.close()

        threads = [threading.Thread(target=uncordon), threading.Thread(target=suspend)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert ProviderProfile.objects.get(organization=provider.organization).state == "suspended"
        assert Node.objects.get(pk=node.pk).state == Node.State.CORDONED, outcome
        services.provider_reinstate(actor=staff, organization=provider.organization)
        # Reinstating gives back exactly what the suspension took: the node again if it had been uncordoned.
        expected = Node.State.ACTIVE if outcome["uncordon"] == "done" else Node.State.CORDONED
        assert Node.objects.get(pk=node.pk).state == expected
