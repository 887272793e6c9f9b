"""Concurrent charges and refunds against one small wallet, on real parallel PostgreSQL connections."""

import threading

import pytest
from django.db import connection, connections
from django.db.models import Sum

from apps.ledger.models import Account, Entry, LedgerTransaction
from apps.ledger.services import (
    InsufficientFunds,
    account_get_or_create,
    customer_charge,
    platform_account,
    transaction_post,
)
from tests.conftest import make_tenant

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHARGES = 100


def _parallel_connections_available() -> int:
    """How many extra connections this server takes (the embedded one allows 300, a stock one 100)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('max_connections')::int - count(*) FROM pg_stat_activity")
        return cursor.fetchone()[0] - 10  # leave room for the server's own and the test's connections


def _race(work, n_threads: int) -> list:
    """Run ``work(i)`` in n threads released at the same instant; each thread its own connection."""
    barrier = threading.Barrier(n_threads)
    results: list = [None] * n_threads

    def run(i):
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a charging thread hung"
    return results


def _assert_books_balance():
    for account in Account.objects.all():
        total = Entry.objects.filter(account=account).aggregate(s=Sum("amount_fen"))["s"] or 0
        assert account.balance_fen == total, f"{account} balance {account.balance_fen} != entries {total}"
    for txn in LedgerTransaction.objects.all():
        assert sum(e.amount_fen for e in txn.entries.all()) == 0


def test_a_hundred_concurrent_charges_never_overspend_a_small_wallet():
    tenant = make_tenant(name="Race Wallet")
    provider = make_tenant(kind="provider", name="Race Provider")
    wallet = account_get_or_create(organization=tenant.organization, kind=Account.Kind.CUSTOMER_CASH)
    clearing = platform_account(Account.Kind.STRIPE_CLEARING)
    balance, charge = 1_000, 30
    transaction_post(idempotency_key="fund", kind="top_up", memo="fund", organization=tenant.organization,
                     lines=[(clearing, -balance), (wallet, balance)])

    # One charge per connection when the server allows 100 more (the embedded one does); otherwise the
    # same 100 charges on as many connections as it takes, each running its share back to back.
    threads = min(CHARGES, _parallel_connections_available())
    per_thread = -(-CHARGES // threads)

    def work(i):
        outcomes = []
        for j in range(per_thread):
            if i * per_thread + j >= CHARGES:
                break
            try:
                customer_charge(organization=tenant.organization, amount_fen=charge, idempotency_key=f"race:{i}:{j}",
                                memo="GPU second", provider_organization=provider.organization,
                                provider_share_fen=20)
                outcomes.append("ok")
            except InsufficientFunds as exc:
                assert 0 <= exc.available_fen < charge
                outcomes.append("refused")
        return outcomes

    results = _race(work, threads)
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    outcomes = [o for r in results for o in r]
    assert len(outcomes) == CHARGES == 100
    assert outcomes.count("ok") == balance // charge == 33
    assert outcomes.count("refused") == 100 - 33

    wallet.refresh_from_db()
    assert wallet.balance_fen == balance - 33 * charge == 10
    assert LedgerTransaction.objects.filter(kind="charge").count() == 33
    assert Account.objects.get(organization=provider.organization).balance_fen == 33 * 20
    _assert_books_balance()
    connection.close()


def test_concurrent_retries_of_one_charge_post_it_once():
    tenant = make_tenant(name="Retry Wallet")
    wallet = account_get_or_create(organization=tenant.organization, kind=Account.Kind.CUSTOMER_CASH)
    transaction_post(idempotency_key="fund", kind="top_up", memo="fund", organization=tenant.organization,
                     lines=[(platform_account(Account.Kind.STRIPE_CLEARING), -1_000), (wallet, 1_000)])

    results = _race(lambda i: customer_charge(organization=tenant.organization, amount_fen=100,
                                              idempotency_key="usage:42", memo="GPU time").pk, 20)

    assert not [r for r in results if isinstance(r, BaseException)], results
    assert len(set(results)) == 1
    wallet.refresh_from_db()
    assert wallet.balance_fen == 900
    _assert_books_balance()


def test_racing_refunds_never_take_more_than_the_wallet_holds(stripe_on):
    from django.core.exceptions import ValidationError

    from apps.ledger.gateway import stripe_client
    from apps.ledger.models import Payment, Refund
    from apps.ledger.payments import refund_create
    from tests.ledger.test_stripe import _paid_top_up

    tenant = make_tenant(name="Refund Race")
    payment = _paid_top_up(tenant, 30_000)
    customer_charge(organization=tenant.organization, amount_fen=20_000, idempotency_key="spent", memo="GPU")

    def work(i):
        try:
            refund_create(actor=tenant.actor("admin" if i % 2 else "owner"), payment=Payment.objects.get(pk=payment.pk),
                          amount_fen=3_000)
            return "ok"
        except ValidationError:
            return "refused"

    results = _race(work, 10)

    assert results.count("ok") == 3 and results.count("refused") == 7, results
    wallet = Account.objects.get(organization=tenant.organization, kind="customer_cash")
    assert wallet.balance_fen == 1_000
    payment.refresh_from_db()
    assert payment.refunded_fen == 9_000
    assert Refund.objects.filter(state="succeeded").count() == 3
    intent = stripe_client().v1.payment_intents.retrieve(payment.stripe_payment_intent_id)
    charge_id = intent.latest_charge if isinstance(intent.latest_charge, str) else intent.latest_charge.id
    assert stripe_client().v1.charges.retrieve(charge_id).amount_refunded == 9_000
    _assert_books_balance()
