"""Property test: random sequences of top-ups, usage charges at changing prices, refunds made at Stripe,
redelivered events and payment-mode switches keep the books exact."""

import math
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.ledger.models import Account, Entry, LedgerTransaction, Payment
from apps.ledger.payments import stripe_event_process
from apps.ledger.services import InsufficientFunds, customer_charge, ledger_profile_set
from apps.tenancy.access import Actor
from tests.conftest import make_tenant
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ORGS = 3
org = st.integers(min_value=0, max_value=ORGS - 1)
operation = st.one_of(
    st.tuples(st.just("top_up"), org, st.integers(min_value=1, max_value=50_000)),
    st.tuples(st.just("usage"), org, st.integers(min_value=1, max_value=7_200), st.integers(0, 100)),
    st.tuples(st.just("price"), st.decimals(min_value=Decimal("0.001"), max_value=Decimal("5"), places=3)),
    st.tuples(st.just("refund_at_stripe"), org, st.integers(min_value=1, max_value=60_000)),
    st.tuples(st.just("redeliver"), st.integers(min_value=0, max_value=10_000)),
    st.tuples(st.just("mode"), org, st.sampled_from(["prepaid", "postpaid"]), st.integers(0, 30_000)),
)


@pytest.fixture
def world(db):
    tenants = [make_tenant(name=f"Prop {i}") for i in range(ORGS)]
    provider = make_tenant(kind="provider", name="Prop Provider")
    staff = Actor(user=UserFactory(is_staff=True))
    return tenants, provider, staff


def _assert_books(model):
    for txn in LedgerTransaction.objects.prefetch_related("entries"):
        assert sum(e.amount_fen for e in txn.entries.all()) == 0, txn
    for account in Account.objects.all():
        total = Entry.objects.filter(account=account).aggregate(s=Sum("amount_fen"))["s"] or 0
        assert account.balance_fen == total, account
        if account.kind == Account.Kind.CUSTOMER_CASH:
            assert account.balance_fen >= 0
        if account.kind == Account.Kind.CUSTOMER_POSTPAID:
            assert account.balance_fen >= -account.credit_limit_fen
    for (org_id, kind), expected in model.items():
        actual = Account.objects.filter(organization_id=org_id, kind=kind).values_list("balance_fen", flat=True)
        assert (actual.first() or 0) == expected, (kind, expected, list(actual))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(operations=st.lists(operation, min_size=1, max_size=25))
def test_random_money_movements_keep_every_book_exact(world, operations):
    tenants, provider, staff = world
    with transaction.atomic():
        model: dict = {}  # (organization id, account kind) -> expected balance, computed independently
        modes = {t.organization.pk: ("prepaid", 0) for t in tenants}
        payments: list[tuple[Payment, int]] = []  # (payment, refunded at Stripe so far)
        events: list[dict] = []
        rate = Decimal("0.5")  # fen per GPU-second
        for step, op in enumerate(operations):
            kind = op[0]
            if kind == "price":
                rate = op[1]
            elif kind == "top_up":
                organization = tenants[op[1]].organization
                payment = Payment.objects.create(organization=organization, amount_fen=op[2],
                                                 idempotency_key=f"p{step}", stripe_payment_intent_id=f"pi_{step}")
                event = {"id": f"evt_{step}", "type": "payment_intent.succeeded",
                         "data": {"object": {"id": f"pi_{step}", "amount": op[2], "amount_received": op[2],
                                             "currency": "cny", "metadata": {"payment": str(payment.pk)}}}}
                stripe_event_process(event=event)
                events.append(event)
                payments.append((payment, 0))
                key = (organization.pk, "customer_cash")
                model[key] = model.get(key, 0) + op[2]
            elif kind == "usage":
                organization = tenants[op[1]].organization
                amount = math.ceil(rate * op[2])
                share = amount * op[3] // 100
                mode, limit = modes[organization.pk]
                payer = (organization.pk, "customer_postpaid" if mode == "postpaid" else "customer_cash")
                floor = -limit if mode == "postpaid" else 0
                try:
                    customer_charge(organization=organization, amount_fen=amount, idempotency_key=f"u{step}",
                                    memo="usage", provider_organization=provider.organization,
                                    provider_share_fen=share)
                except InsufficientFunds:
                    assert model.get(payer, 0) - amount < floor
                else:
                    assert model.get(payer, 0) - amount >= floor
                    model[payer] = model.get(payer, 0) - amount
                    pkey = (provider.organization.pk, "provider_payable")
                    model[pkey] = model.get(pkey, 0) + share
            elif kind == "refund_at_stripe" and payments:
                index = op[1] % len(payments)
                payment, refunded = payments[index]
                total = min(payment.amount_fen, refunded + op[2])
                payments[index] = (payment, total)
                charge = {"id": f"ch_{payment.pk}", "payment_intent": payment.stripe_payment_intent_id,
                          "amount_refunded": total}
                event = {"id": f"evt_r{step}", "type": "charge.refunded", "data": {"object": charge}}
                payment.refresh_from_db()
                already = payment.refunded_fen
                key = (payment.organization_id, "customer_cash")
                stripe_event_process(event=event)
                events.append(event)
                model[key] = model.get(key, 0) - min(max(total - already, 0), model.get(key, 0))
            elif kind == "redeliver" and events:
                assert not stripe_event_process(event=events[op[1] % len(events)])
            elif kind == "mode":
                organization = tenants[op[1]].organization
                owed = -model.get((organization.pk, "customer_postpaid"), 0)
                limit = max(op[3], owed)
                ledger_profile_set(actor=staff, organization=organization, mode=op[2], credit_limit_fen=limit)
                modes[organization.pk] = (op[2], limit)
            _assert_books(model)
        transaction.set_rollback(True)
