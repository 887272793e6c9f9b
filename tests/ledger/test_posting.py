"""Posting balanced transactions: validation, idempotency, floors, immutability."""

import pytest
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Sum

from apps.ledger.models import Account, Entry, LedgerTransaction
from apps.ledger.selectors import wallet_balance
from apps.ledger.services import InsufficientFunds, account_get_or_create, platform_account, transaction_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def wallet(tenant):
    return account_get_or_create(organization=tenant.organization, kind=Account.Kind.CUSTOMER_CASH)


@pytest.fixture
def clearing(db):
    return platform_account(Account.Kind.STRIPE_CLEARING)


def top_up(wallet, clearing, amount, key):
    return transaction_post(idempotency_key=key, kind="top_up", memo="top-up", organization=wallet.organization,
                            lines=[(clearing, -amount), (wallet, amount)])


def test_a_posting_moves_money_and_records_balances_after(wallet, clearing):
    txn, created = top_up(wallet, clearing, 5000, "t1")

    assert created
    wallet.refresh_from_db()
    clearing.refresh_from_db()
    assert (wallet.balance_fen, clearing.balance_fen) == (5000, -5000)
    assert {e.account_id: (e.amount_fen, e.balance_after_fen) for e in txn.entries.all()} == {
        wallet.pk: (5000, 5000), clearing.pk: (-5000, -5000)}
    assert wallet_balance(organization=wallet.organization) == 5000


def test_the_same_key_posts_once(wallet, clearing):
    first, _ = top_up(wallet, clearing, 5000, "once")
    again, created = top_up(wallet, clearing, 5000, "once")

    assert not created and again.pk == first.pk
    wallet.refresh_from_db()
    assert wallet.balance_fen == 5000
    assert LedgerTransaction.objects.count() == 1


def test_the_same_key_with_other_lines_is_refused(wallet, clearing):
    top_up(wallet, clearing, 5000, "k")
    with pytest.raises(ValidationError) as excinfo:
        top_up(wallet, clearing, 6000, "k")
    assert "idempotency_key" in excinfo.value.error_dict


@pytest.mark.parametrize("lines, field", [
    (lambda w, c: [(w, 100), (c, -99)], "lines"),            # does not balance
    (lambda w, c: [(w, 100)], "lines"),                      # one side only
    (lambda w, c: [(w, 100), (w, -100)], "lines"),           # nets to nothing
    (lambda w, c: [(w, 1.5), (c, -1.5)], "lines"),           # not whole fen
    (lambda w, c: [(w, True), (c, -1)], "lines"),            # a bool is not an amount
    (lambda w, c: [("wallet", 100), (c, -100)], "lines"),    # not an account
])
def test_malformed_postings_are_refused_and_write_nothing(wallet, clearing, lines, field):
    with pytest.raises(ValidationError) as excinfo:
        transaction_post(idempotency_key="bad", kind="adjustment", memo="x", lines=lines(wallet, clearing))
    assert field in excinfo.value.error_dict
    assert not LedgerTransaction.objects.exists() and not Entry.objects.exists()


def test_an_idempotency_key_is_required(wallet, clearing):
    with pytest.raises(ValidationError):
        transaction_post(idempotency_key="", kind="adjustment", memo="x", lines=[(wallet, 1), (clearing, -1)])


def test_a_debit_beyond_the_wallet_raises_insufficient_funds_and_writes_nothing(wallet, clearing):
    revenue = platform_account(Account.Kind.PLATFORM_REVENUE)
    top_up(wallet, clearing, 300, "t")

    with pytest.raises(InsufficientFunds) as excinfo:
        transaction_post(idempotency_key="c", kind="charge", memo="too much",
                         lines=[(wallet, -301), (revenue, 301)])

    assert excinfo.value.available_fen == 300
    assert excinfo.value.needed_fen == 301
    wallet.refresh_from_db()
    revenue.refresh_from_db()
    assert (wallet.balance_fen, revenue.balance_fen) == (300, 0)
    assert not LedgerTransaction.objects.filter(idempotency_key="c").exists()
    # The key is still free: the same charge goes through once there is money.
    top_up(wallet, clearing, 1, "t2")
    _txn, created = transaction_post(idempotency_key="c", kind="charge", memo="ok",
                                     lines=[(wallet, -301), (revenue, 301)])
    assert created


def test_a_postpaid_account_may_owe_up_to_its_credit_limit(tenant):
    receivable = account_get_or_create(organization=tenant.organization, kind=Account.Kind.CUSTOMER_POSTPAID,
                                       credit_limit_fen=1000)
    revenue = platform_account(Account.Kind.PLATFORM_REVENUE)
    transaction_post(idempotency_key="a", kind="charge", memo="x", lines=[(receivable, -1000), (revenue, 1000)])
    with pytest.raises(InsufficientFunds) as excinfo:
        transaction_post(idempotency_key="b", kind="charge", memo="x", lines=[(receivable, -1), (revenue, 1)])
    assert excinfo.value.available_fen == 0
    receivable.refresh_from_db()
    assert receivable.balance_fen == -1000


def test_the_database_refuses_a_wallet_below_zero_even_without_the_service(wallet):
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=wallet.pk).update(balance_fen=-1)


def test_the_database_refuses_a_cash_wallet_with_a_credit_line(tenant):
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.create(organization=tenant.organization, kind="customer_cash", reference="x",
                               has_floor=True, credit_limit_fen=100)


def test_entries_and_transactions_cannot_be_edited_or_deleted(wallet, clearing):
    txn, _ = top_up(wallet, clearing, 5000, "t")
    entry = txn.entries.first()
    for attempt in (lambda: Entry.objects.filter(pk=entry.pk).update(amount_fen=1),
                    lambda: Entry.objects.filter(pk=entry.pk).delete(),
                    lambda: LedgerTransaction.objects.filter(pk=txn.pk).update(memo="edited"),
                    lambda: _raw("DELETE FROM ledger_ledgertransaction WHERE id = %s", [txn.pk])):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            attempt()
    assert Entry.objects.filter(transaction=txn).aggregate(s=Sum("amount_fen"))["s"] == 0


def _raw(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_platform_accounts_are_one_per_kind(db):
    assert platform_account("platform_revenue").pk == platform_account("platform_revenue").pk
    assert Account.objects.filter(organization=None, kind="platform_revenue").count() == 1
