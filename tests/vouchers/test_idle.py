"""An idle-but-billed slice is flagged and its subsidy held until the operator releases or rejects it."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from apps.audit.models import AuditEvent
from apps.telemetry.models import AssignmentSample
from apps.vouchers import services
from apps.vouchers.models import IdleFlag, UsageSubsidy, YearUse
from apps.vouchers.selectors import budget_left, grant_balance
from tests.billing.conftest import account_balance, fund
from tests.ledger.test_concurrency import _assert_books_balance
from tests.vouchers.conftest import clone_record, local, make_government, make_grant, make_program
from tests.vouchers.test_charging import charge

pytestmark = pytest.mark.django_db


def readings(record, values):
    for index, value in enumerate(values):
        AssignmentSample.objects.create(assignment_id=record.assignment_id, utilization_pct=value, memory_used_mib=10,
                                        collected_at=record.started_at + timedelta(seconds=10 * (index + 1)))


@pytest.fixture
def idle_world(gov, enterprise, template_record):
    program = make_program(gov)
    grant = make_grant(program, enterprise)
    fund(enterprise.organization, 100_000)
    record = clone_record(template_record, start=local(2026, 4, 1, 10), seconds=1800)
    # 4 of 5 readings under 5 % of the whole card booked: idle
    readings(record, [0.5, 1.0, 0.0, 2.0, 60.0])
    return program, grant, record


def test_an_idle_slice_is_flagged_and_its_subsidy_held_then_released(gov, enterprise, idle_world):
    program, grant, record = idle_world
    txn = charge(record)
    # the voucher would pay 1,800 × 50 % = 900; it is held, the customer pays all 1,800 for now
    assert (txn.details["voucher"]["share_fen"], txn.details["voucher"]["held_fen"]) == (0, 900)
    assert txn.details["copay_fen"] == 1_800
    flag = IdleFlag.objects.get()
    assert (flag.state, flag.samples, flag.idle_samples) == ("open", 5, 4)
    assert grant_balance(grant) == grant.amount_fen and UsageSubsidy.objects.get().held_fen == 900
    with pytest.raises(ValidationError):
        services.idle_flag_decide(actor=gov.actor("admin"), flag=flag, decision="release", reason="")
    services.idle_flag_decide(actor=gov.actor("admin"), flag=flag, decision="release",
                              reason="Data loading phase, confirmed with the customer")
    # released: the voucher pays 900 now and the wallet gets back what it paid in its place
    assert account_balance(enterprise.organization, "customer_cash") == 100_000 - 1_800 + 900
    assert grant_balance(grant) == grant.amount_fen - 900 and budget_left(program) == program.budget_fen - 900
    assert YearUse.objects.get().used_fen == 900
    use = UsageSubsidy.objects.get()
    assert (use.share_fen, use.held_fen) == (900, 0)
    assert AuditEvent.objects.filter(action="vouchers.idle_flag_decided").get().details["released_fen"] == 900
    _assert_books_balance()


def test_a_rejected_flag_keeps_the_record_unsubsidised(gov, idle_world):
    _program, grant, record = idle_world
    charge(record, amount=900)
    flag = IdleFlag.objects.get()
    services.idle_flag_decide(actor=gov.actor("admin"), flag=flag, decision="reject", reason="Idle card parking")
    rest = charge(record)
    assert rest.details["voucher"]["share_fen"] == 0 and rest.details["voucher"]["limited_by"] == "idle"
    assert grant_balance(grant) == grant.amount_fen
    assert UsageSubsidy.objects.get().held_fen == 0
    with pytest.raises(ValidationError):
        services.idle_flag_decide(actor=gov.actor("admin"), flag=flag, decision="release", reason="changed mind")


def test_a_busy_slice_is_not_flagged(gov, enterprise, template_record):
    program = make_program(gov)
    make_grant(program, enterprise)
    fund(enterprise.organization, 100_000)
    record = clone_record(template_record, start=local(2026, 4, 1, 10), seconds=1800)
    readings(record, [80.0, 95.0, 3.0, 88.0])
    assert charge(record).details["voucher"]["share_fen"] == 900
    assert not IdleFlag.objects.exists()


def test_only_the_programmes_operator_decides_flags(gov, idle_world, api_as):
    _program, _grant, record = idle_world
    charge(record)
    flag = IdleFlag.objects.get()
    other = make_government("Elsewhere", ["cn-beijing"])
    with pytest.raises(PermissionDenied):
        services.idle_flag_decide(actor=other.actor("owner"), flag=flag, decision="release", reason="x")
    response = api_as(other.owner).post(f"/api/v1/organizations/{other.organization.pk}/voucher-flags/{flag.pk}/"
                                        "decision/", {"decision": "release", "reason": "x"}, format="json")
    assert response.status_code == 404
    client = api_as(gov.admin)
    base = f"/api/v1/organizations/{gov.organization.pk}/voucher-flags/"
    assert [f["id"] for f in client.get(base).json()] == [flag.pk]
    assert client.post(base + f"{flag.pk}/decision/", {"decision": "maybe", "reason": "x"},
                       format="json").status_code == 400
    response = client.post(base + f"{flag.pk}/decision/", {"decision": "release", "reason": "ok"}, format="json")
    assert response.status_code == 200 and response.json()["state"] == "released"
