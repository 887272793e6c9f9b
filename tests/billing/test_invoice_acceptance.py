"""Acceptance 4: a month of tiered usage produces the invoice computed by hand.

The month (March 2026, Shanghai: off-peak 00:00–06:00 and 22:00–24:00, −30 %), one T4 node, metered
from the agent's reports:

  a-train  4 whole T4   03-02 06:00 → 03-02 22:00    16 h peak                    64 card-h
  b-slice  250 milli + 8 GiB of 16 GiB = 0.5 card
                        03-05 19:59:40 → 03-06 02:00  7220 s peak + 14400 s off    3.002778 card-h
  c-span   4 whole T4   03-15 12:00 → 03-16 12:00    crosses the price change at 03-16 00:00:
                          03-15 12:00 → 24:00: 10 h peak + 2 h off at the old price  48 card-h
                          03-16 00:00 → 12:00:  6 h off + 6 h peak at the new price  48 card-h
  d-long   4 whole T4   03-20 00:00 → 03-30 00:00    160 h peak + 80 h off (new)  960 card-h
                                                                            total 1123.002778 card-h

Prices: T4 in Shanghai on demand ¥2.10 per card-hour (¥2.00 × 1.05) until 03-16 00:00, then ¥3.00.
Volume bands: 0–100 card-h list, 100–1000 −10 %, beyond −20 %.
"""

from datetime import date
from decimal import Decimal

import pytest

from apps.billing.invoicing import invoice_issue
from apps.billing.models import InvoiceLine
from apps.billing.services import billing_profile_set
from apps.ledger.models import Account
from apps.tenancy.models import Organization
from tests.billing.conftest import account_balance, fund, local

pytestmark = pytest.mark.django_db
MARCH = date(2026, 3, 1)


@pytest.fixture
def march(customer, agent, place, new_book):
    """Run the month above for the customer; returns nothing, the usage is metered."""

    def run(*, tier, scheme):
        billing_profile_set(actor=None, organization=customer.organization, tier=tier, volume_scheme=scheme)
        Organization.objects.filter(pk=customer.organization.pk).update(
            invoice_title="上海极光智能科技有限公司", tax_id="91310115MA1K4XXX9Q")
        new_book(effective_from=local(2026, 3, 16), hourly={("nvidia-t4", "cn-shanghai"): "3.00"})
        fund(customer.organization, 500_000)
        for name, shape, start, end in [
            ("a-train", {"gpu_count": 4}, local(2026, 3, 2, 6), local(2026, 3, 2, 22)),
            ("b-slice", {"gpu_milli": 250, "gpu_memory_mib": 8192}, local(2026, 3, 5, 19, 59, 40),
             local(2026, 3, 6, 2)),
            ("c-span", {"gpu_count": 4}, local(2026, 3, 15, 12), local(2026, 3, 16, 12)),
            ("d-long", {"gpu_count": 4}, local(2026, 3, 20), local(2026, 3, 30)),
        ]:
            _workload, assignment = place(name=name, **shape)
            agent.report(assignment, "running", started_at=start)
            agent.report(assignment, "succeeded", exit_code=0, finished_at=end)

    return run


def _lines(invoice):
    return [(line.kind, line.workload_name or line.description, line.amount_fen) for line in invoice.lines.all()]


def test_graduated_tiers_at_list_price(customer, march):
    march(tier="list", scheme="graduated")
    invoice = invoice_issue(organization=customer.organization, period_start=MARCH, now=local(2026, 4, 1, 0, 30))
    usage, discount = InvoiceLine.Kind.USAGE, InvoiceLine.Kind.VOLUME_DISCOUNT
    assert _lines(invoice) == [
        # 4 cards × ¥2.10 = ¥8.40/h × 16 h = ¥134.40
        (usage, "a-train", 13440),
        # ¥1.05/h peak, ¥0.735/h off-peak: 7220 × 105 / 3600 + 14400 × 73.5 / 3600 = 210.5833 + 294 = 504.5833 fen
        (usage, "b-slice", 505),
        # ¥8.40/h peak, ¥5.88/h off: 10 × 8.40 + 2 × 5.88 = 84.00 + 11.76 = ¥95.76
        (usage, "c-span", 9576),
        # new price: 4 × ¥3.00 = ¥12.00/h peak, ¥8.40/h off: 6 × 8.40 + 6 × 12.00 = 50.40 + 72.00 = ¥122.40
        (usage, "c-span", 12240),
        # 160 × 12.00 + 80 × 8.40 = 1920.00 + 672.00 = ¥2592.00
        (usage, "d-long", 259200),
        # usage 294961 fen over H = 1123.002778 card-h:
        # 100–1000: 900 card-h at −10 %: 294961 × 900 / 1123.002778 × 0.10 = 23638.846 → 23639
        (discount, "100–1000", -23639),
        # ≥ 1000: 123.002778 card-h at −20 %: 294961 × 123.002778 / 1123.002778 × 0.20 = 6461.431 → 6461
        (discount, "≥ 1000", -6461),
    ]
    assert invoice.card_hours == Decimal("1123.002778")
    assert (invoice.usage_fen, invoice.volume_discount_fen, invoice.total_fen) == (294961, 30100, 264861)
    # every usage line was charged during the month; the volume discount went back to the wallet
    assert (invoice.charged_fen, invoice.outstanding_fen) == (294961, 0)
    assert account_balance(customer.organization, Account.Kind.CUSTOMER_CASH) == 500_000 - 294961 + 30100
    assert (invoice.invoice_title, invoice.tax_id) == ("上海极光智能科技有限公司", "91310115MA1K4XXX9Q")
    c_old, c_new = invoice.lines.filter(workload_name="c-span")
    assert c_old.price_book_id != c_new.price_book_id


def test_volume_tiers_for_an_enterprise_customer(customer, march):
    march(tier="enterprise", scheme="volume")
    invoice = invoice_issue(organization=customer.organization, period_start=MARCH, now=local(2026, 4, 1, 0, 30))
    usage, discount = InvoiceLine.Kind.USAGE, InvoiceLine.Kind.VOLUME_DISCOUNT
    # Enterprise: −8 % on every rate. Old: ¥8.40 × 0.92 = ¥7.728/h, off-peak ¥5.4096/h; slice ¥0.966/h, off ¥0.6762/h.
    # New: ¥12.00 × 0.92 = ¥11.04/h, off-peak ¥7.728/h.
    assert _lines(invoice) == [
        (usage, "a-train", 12365),  # 16 × 7.728 = ¥123.648
        (usage, "b-slice", 464),  # (7220 × 0.966 + 14400 × 0.6762) / 3600 = ¥4.642167
        (usage, "c-span", 8810),  # 10 × 7.728 + 2 × 5.4096 = ¥88.0992
        (usage, "c-span", 11261),  # 6 × 7.728 + 6 × 11.04 = ¥112.608
        (usage, "d-long", 238464),  # 160 × 11.04 + 80 × 7.728 = ¥2384.64
        # volume: 1123 card-h reached the ≥ 1000 band, so the whole month gets −20 %: 271364 × 0.2 = 54272.8
        (discount, "≥ 1000", -54273),
    ]
    assert (invoice.usage_fen, invoice.volume_discount_fen, invoice.total_fen) == (271364, 54273, 217091)


def test_issuing_twice_returns_the_same_invoice(customer, march):
    march(tier="list", scheme="graduated")
    first = invoice_issue(organization=customer.organization, period_start=MARCH, now=local(2026, 4, 1, 0, 30))
    again = invoice_issue(organization=customer.organization, period_start=MARCH, now=local(2026, 4, 2))
    assert again.pk == first.pk
    assert account_balance(customer.organization, Account.Kind.CUSTOMER_CASH) == 500_000 - 294961 + 30100


def test_the_management_command_issues_a_given_month(customer, march):
    from io import StringIO

    from django.core.management import CommandError, call_command

    march(tier="list", scheme="graduated")
    out = StringIO()
    call_command("billing_invoices", "--month", "2026-03", stdout=out)
    assert "2648.61 CNY" in out.getvalue()  # 264861 fen, as computed by hand above
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("billing_invoices", "--month", "March")
