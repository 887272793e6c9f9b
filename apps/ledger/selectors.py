"""Reads of the ledger for pages, the API and other apps."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Prefetch, QuerySet

from apps.tenancy.models import Organization

from .models import Account, BankTransfer, Entry, LedgerProfile, LedgerTransaction, Payment


@dataclass(frozen=True)
class Balance:
    mode: str
    balance_fen: int  # cash in the wallet, or minus what a postpaid organization owes
    credit_limit_fen: int
    available_fen: int
    threshold_fen: int

    @property
    def owed_fen(self) -> int:
        """Postpaid: what the organization owes now (0 for a wallet)."""
        return max(-self.balance_fen, 0)

    @property
    def low(self) -> bool:
        return self.available_fen < self.threshold_fen


def balance_get(*, organization: Organization) -> Balance:
    profile = LedgerProfile.objects.filter(organization=organization).first()
    mode = profile.mode if profile else LedgerProfile.Mode.PREPAID
    threshold = profile.low_balance_threshold_fen if profile else LedgerProfile._meta.get_field(
        "low_balance_threshold_fen").default
    if mode == LedgerProfile.Mode.POSTPAID:
        account = Account.objects.filter(organization=organization, kind=Account.Kind.CUSTOMER_POSTPAID,
                                         reference="").first()
        limit = account.credit_limit_fen if account else profile.credit_limit_fen
        balance = account.balance_fen if account else 0
        return Balance(mode, balance, limit, balance + limit, threshold)
    account = Account.objects.filter(organization=organization, kind=Account.Kind.CUSTOMER_CASH,
                                     reference="").first()
    balance = account.balance_fen if account else 0
    return Balance(mode, balance, 0, balance, threshold)


def wallet_balance(*, organization: Organization) -> int:
    """Fen the organization can spend now: its wallet's cash, or for postpaid what is left of its credit line."""
    return balance_get(organization=organization).available_fen


def account_statement(*, organization: Organization, kind: str | None = None) -> QuerySet[LedgerTransaction]:
    """Transactions that touched the organization's accounts, newest first. Each carries ``own_entries``:
    only the organization's side (a customer never sees the provider's share, nor the other way round)."""
    own = Entry.objects.filter(account__organization=organization).select_related("account").order_by("id")
    queryset = LedgerTransaction.objects.filter(entries__account__organization=organization)
    if kind:
        queryset = queryset.filter(kind=kind)
    return (queryset.distinct().order_by("-created_at", "-id")
            .prefetch_related(Prefetch("entries", queryset=own, to_attr="own_entries")))


def payments_of(*, organization: Organization) -> QuerySet[Payment]:
    # The payments page shows refunded_fen, not the refunds themselves: no prefetch of them.
    return Payment.objects.filter(organization=organization).order_by("-created_at")


def bank_transfers_of(*, organization: Organization) -> QuerySet[BankTransfer]:
    return BankTransfer.objects.filter(organization=organization).order_by("-value_date", "-created_at")
