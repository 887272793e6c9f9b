"""The demo world has two open voucher programmes with a taper and a granted demo customer, once."""

import pytest
from django.core.management import call_command

from apps.ledger.models import LedgerTransaction
from apps.portal.demo import demo_world_load
from apps.vouchers.models import Application, Grant, Program
from apps.vouchers.selectors import grant_status
from tests.vouchers.conftest import local

pytestmark = pytest.mark.django_db


def test_the_demo_vouchers_load_once(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    demo_world_load()
    call_command("seed_demo")
    assert Program.objects.filter(state="open").count() == 2
    assert Application.objects.count() == 1 and Grant.objects.count() == 1
    assert LedgerTransaction.objects.filter(idempotency_key__startswith="voucher-").count() == 3
    grant = Grant.objects.get()
    status = grant_status(grant, now=local(2026, 12, 2))
    # an SME, 50 % in the grant's first year (from 2026-03-01), 30 % from 2027-03-01
    assert (status.rate_bp, status.next_step_at, status.next_rate_bp) == (5000, local(2027, 3, 1), 3000)
    assert status.balance_fen == 20_000_000 and status.annual_cap_fen == 200_000_000
