"""Voucher fixtures: a Shanghai government operator, an eligible enterprise, programmes with published
rules, grants approved through the real services, and usage records to charge."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from apps.billing.models import UsageRecord
from apps.catalog.models import Region
from apps.catalog.reference import reference_data_sync
from apps.tenancy.access import Actor
from apps.tenancy.models import Organization
from apps.tenancy.uscc import uscc_check_character
from apps.vouchers import services
from apps.vouchers.models import Program
from tests.billing.conftest import agent, place  # noqa: F401  (real placed work for usage records)
from tests.conftest import Tenant, make_tenant
from tests.factories import UserFactory

SH = ZoneInfo("Asia/Shanghai")


def local(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


def uscc(serial: int) -> str:
    first17 = f"913101{serial:011d}"
    return first17 + uscc_check_character(first17)


def make_government(name: str, region_codes: list[str]) -> Tenant:
    tenant = make_tenant(kind="government", name=name)
    tenant.organization.jurisdiction.set(Region.objects.filter(code__in=region_codes))
    return tenant


def make_enterprise(name: str, serial: int, region_code: str = "cn-shanghai", size: str = "sme",
                    industry: str = "ai") -> Tenant:
    tenant = make_tenant(kind="customer", name=name)
    Organization.objects.filter(pk=tenant.organization.pk).update(
        credit_code=uscc(serial), registered_region=Region.objects.get(code=region_code), size_class=size,
        industry=industry)
    tenant.organization.refresh_from_db()
    return tenant


@pytest.fixture
def gov(db) -> Tenant:
    if not Region.objects.exists():  # a transactional test before this one emptied the reference data
        reference_data_sync()
    return make_government("Shanghai Economy Commission", ["cn-shanghai"])


@pytest.fixture
def enterprise(customer) -> Tenant:
    """The billing fixtures' customer, made eligible: registered in Shanghai, a valid USCC, an SME."""
    Organization.objects.filter(pk=customer.organization.pk).update(
        credit_code=uscc(1), registered_region=Region.objects.get(code="cn-shanghai"), size_class="sme",
        industry="ai")
    customer.organization.refresh_from_db()
    return customer


AGE_TAPER = [{"rate_bp": 5000, "starts_after_months": 0}, {"rate_bp": 3000, "starts_after_months": 12},
             {"rate_bp": 2000, "starts_after_months": 24}, {"rate_bp": 0, "starts_after_months": 36}]


def make_program(gov: Tenant, *, steps=None, basis: str = "grant_age", budget_fen: int = 100_000_000,
                 annual_cap_fen: int | None = None, effective_from: datetime | None = None, open_it: bool = True,
                 name: str = "Shanghai compute vouchers", **rules) -> Program:
    actor = gov.actor("admin")
    program = services.program_create(actor=actor, organization=gov.organization, name=name,
                                      name_zh="上海算力券", budget_fen=budget_fen, valid_from=date(2026, 1, 1),
                                      valid_until=date(2029, 1, 1))
    version = services.rule_version_create(actor=actor, program=program,
                                           effective_from=effective_from or local(2026, 1, 1),
                                           taper_basis=basis, steps=steps or AGE_TAPER, annual_cap_fen=annual_cap_fen,
                                           **rules)
    services.rule_version_publish(actor=actor, version=version, allow_past=True)
    if open_it:
        program = services.program_transition(actor=actor, program=program, action="open")
    return program


def make_grant(program: Program, customer: Tenant, *, amount_fen: int = 10_000_000,
               starts_on: date = date(2026, 1, 15), gov: Tenant | None = None):
    gov_actor = Actor(user=program.organization.memberships.filter(role="owner").first().user)
    application = services.application_submit(actor=customer.actor("admin"), program=program,
                                              organization=customer.organization, description="Training a model",
                                              requested_fen=amount_fen)
    services.application_decide(actor=gov_actor, application=application, decision="approve", reason="Fits the plan",
                                amount_fen=amount_fen, starts_on=starts_on)
    application.refresh_from_db()
    return application.grant


def clone_record(template: UsageRecord, *, start: datetime, seconds: int, fen_per_hour: int = 3600) -> UsageRecord:
    """A closed usage record like ``template`` (same workload, node, model), ``seconds`` long from ``start``,
    priced ``fen_per_hour`` with no off-peak discount."""
    hourly = Decimal(fen_per_hour) / 100
    cost = (Decimal(fen_per_hour) * seconds / 3600).quantize(Decimal("0.000001"))
    return UsageRecord.objects.create(
        organization_id=template.organization_id, provider_organization_id=template.provider_organization_id,
        workload_id=template.workload_id, assignment_id=template.assignment_id, cluster_id=template.cluster_id,
        region_id=template.region_id, accelerator_model_id=template.accelerator_model_id,
        billing_mode=template.billing_mode, gpu_count=1, price_book_id=template.price_book_id, card_fraction=1,
        list_hourly=hourly, hourly=hourly, off_peak_hourly=hourly, provider_hourly=hourly * Decimal("0.85"),
        provider_off_peak_hourly=hourly * Decimal("0.85"), started_at=start,
        ended_at=start + timedelta(seconds=seconds), accrued_through=start + timedelta(seconds=seconds),
        end_reason="stopped", peak_seconds=seconds,
        cost_fen=cost, provider_fen=cost * Decimal("0.85"))


@pytest.fixture
def template_record(place, agent, enterprise):  # noqa: F811
    """One real usage record (a T4 run in Shanghai reported by the agent); others are cloned from it."""
    _workload, assignment = place(gpu_count=1)
    agent.report(assignment, "running", started_at=local(2026, 3, 2, 9, 0))
    agent.report(assignment, "stopped", finished_at=local(2026, 3, 2, 9, 0, 10))
    return UsageRecord.objects.get()


@pytest.fixture
def staff() -> Actor:
    return Actor(user=UserFactory(is_staff=True))
