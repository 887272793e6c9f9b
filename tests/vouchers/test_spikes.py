"""Spike flags: a day's subsidy far above the enterprise's daily history is flagged for the operator."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.audit.models import AuditEvent
from apps.vouchers.models import DayUse, SpikeFlag
from tests.billing.conftest import fund
from tests.vouchers.conftest import clone_record, local, make_grant, make_program
from tests.vouchers.test_charging import charge

pytestmark = pytest.mark.django_db


def history(program, organization, days: int, fen: int):
    today = timezone.localdate()
    for back in range(1, days + 1):
        DayUse.objects.create(program=program, organization=organization, day=today - timedelta(days=back),
                              used_fen=fen)


def test_a_day_far_above_history_is_flagged_and_closed_with_a_reason(gov, enterprise, template_record, api_as,
                                                                      as_user):
    program = make_program(gov)
    make_grant(program, enterprise)
    fund(enterprise.organization, 1_000_000)
    history(program, enterprise.organization, days=10, fen=1_000)  # ¥10 a day on 10 days
    # today: a 20,000-second run at 3,600 fen/h = 20,000 fen, 50 % = 10,000 fen (¥100) > 5 × ¥10
    txn = charge(clone_record(template_record, start=local(2026, 4, 1, 1), seconds=20_000))
    assert txn.details["voucher"]["share_fen"] == 10_000  # paid, not held
    flag = SpikeFlag.objects.get()
    assert (flag.subsidy_fen, flag.baseline_fen, flag.state) == (10_000, 1_000, "open")
    page = as_user(gov.admin, gov.organization).get("/vouchers/").content.decode()
    assert "Subsidy spikes" in page and "¥100.00" in page
    client = api_as(gov.admin)
    base = f"/api/v1/organizations/{gov.organization.pk}/voucher-spikes/"
    assert [f["id"] for f in client.get(base).json()] == [flag.pk]
    assert client.post(base + f"{flag.pk}/close/", {"reason": ""}, format="json").status_code == 400
    response = client.post(base + f"{flag.pk}/close/", {"reason": "Training run announced in the application"},
                           format="json")
    assert response.status_code == 200 and response.json()["state"] == "closed"
    assert AuditEvent.objects.filter(action="vouchers.spike_flag_closed").exists()


def test_no_flag_without_enough_history_or_below_the_factor(gov, enterprise, template_record):
    program = make_program(gov)
    make_grant(program, enterprise)
    fund(enterprise.organization, 1_000_000)
    history(program, enterprise.organization, days=5, fen=1_000)  # too little history
    charge(clone_record(template_record, start=local(2026, 4, 1, 1), seconds=20_000))
    assert not SpikeFlag.objects.exists()
    history_more = [DayUse(program=program, organization=enterprise.organization,
                           day=timezone.localdate() - timedelta(days=back), used_fen=5_000) for back in range(6, 12)]
    DayUse.objects.bulk_create(history_more)
    # 11 days of history averaging (5 × 1,000 + 6 × 5,000) / 11 ≈ 3,181; today 10,000 + 10,000 = 20,000 > 5 × 3,181
    charge(clone_record(template_record, start=local(2026, 4, 2, 1), seconds=20_000))
    assert SpikeFlag.objects.get().subsidy_fen == 20_000
