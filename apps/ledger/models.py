"""Double-entry ledger and the Stripe payments that feed it.

Sign convention: an entry's ``amount_fen`` is seen from the account holder's side. A positive amount is a
credit (the holder's balance rises: a wallet top-up, revenue earned, a provider's share); a negative one is
a debit (a charge to the wallet, cash that left Stripe clearing). Every transaction's entries sum to zero.

``Account.balance_fen`` is the running sum of the account's entries. Only ``services.transaction_post``
writes it, with conditional UPDATEs, and the table's CHECK keeps floored accounts at or above
``-credit_limit_fen`` even against a bug elsewhere.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Account(models.Model):
    class Kind(models.TextChoices):
        # Kinds are plain strings without a database CHECK, so a later app (vouchers: voucher_credit per
        # grant, subsidy_receivable, program_budget) adds its kinds here without touching the table.
        CUSTOMER_CASH = "customer_cash", _("Prepaid wallet")
        CUSTOMER_POSTPAID = "customer_postpaid", _("Postpaid account")
        PLATFORM_REVENUE = "platform_revenue", _("Platform revenue")
        STRIPE_CLEARING = "stripe_clearing", _("Stripe clearing")
        PROVIDER_PAYABLE = "provider_payable", _("Provider payable")
        PROVIDER_PAYOUTS = "provider_payouts", _("Provider payouts (bank transfers)")
        BANK_CLEARING = "bank_clearing", _("Bank transfers received")

    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices)
    organization = models.ForeignKey(
        "tenancy.Organization", verbose_name=_("organization"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="ledger_accounts",
        help_text=_("Empty for the platform's own accounts."),
    )
    # Tells several accounts of one kind apart (a voucher grant id); empty for the usual one-per-kind.
    reference = models.CharField(_("reference"), max_length=100, blank=True, default="")
    has_floor = models.BooleanField(
        _("has a floor"), default=False,
        help_text=_("The balance may not go below minus the credit limit (0 for a prepaid wallet)."),
    )
    credit_limit_fen = models.BigIntegerField(_("credit limit (fen)"), default=0)
    balance_fen = models.BigIntegerField(_("balance (fen)"), default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["kind", "id"]
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind", "reference"], nulls_distinct=False,
                                    name="ledger_account_unique_per_owner"),
            models.CheckConstraint(condition=Q(credit_limit_fen__gte=0), name="ledger_account_credit_limit_gte_0"),
            models.CheckConstraint(condition=Q(has_floor=False) | Q(balance_fen__gte=-F("credit_limit_fen")),
                                   name="ledger_account_balance_above_floor"),
            # A prepaid wallet is floored at zero, whoever creates it.
            models.CheckConstraint(condition=~Q(kind="customer_cash") | Q(has_floor=True, credit_limit_fen=0),
                                   name="ledger_account_cash_wallet_floor_zero"),
        ]

    def __str__(self) -> str:
        owner = self.organization.name if self.organization_id else _("platform")
        suffix = f" {self.reference}" if self.reference else ""
        return f"{self.get_kind_display()}{suffix} · {owner}"

    @property
    def available_fen(self) -> int:
        """What can still be debited: the balance plus the credit line (unlimited accounts: the balance)."""
        return self.balance_fen + self.credit_limit_fen if self.has_floor else self.balance_fen


class LedgerTransaction(models.Model):
    class Kind(models.TextChoices):
        TOP_UP = "top_up", _("Top-up")
        CHARGE = "charge", _("Charge")
        REFUND = "refund", _("Refund")
        REFUND_REVERSAL = "refund_reversal", _("Refund cancelled")
        ADJUSTMENT = "adjustment", _("Adjustment")
        PAYOUT = "payout", _("Payout")
        BANK_TRANSFER = "bank_transfer", _("Bank transfer")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    kind = models.CharField(_("kind"), max_length=40, choices=Kind.choices)
    memo = models.CharField(_("memo"), max_length=300)
    organization = models.ForeignKey(
        "tenancy.Organization", verbose_name=_("organization"), null=True, blank=True,
        on_delete=models.PROTECT, related_name="ledger_transactions",
    )
    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    details = models.JSONField(_("details"), default=dict, blank=True)
    # sha256 of the sorted (account, amount) lines: a retry with the same key must post the same thing.
    lines_hash = models.CharField(max_length=64, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("ledger transaction")
        verbose_name_plural = _("ledger transactions")
        indexes = [models.Index(fields=["organization", "-created_at"], name="ledger_txn_org_time_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.memo}"


class Entry(models.Model):
    """One line of a transaction. Append-only: a database trigger refuses UPDATE and DELETE."""

    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    # The account's balance right after this entry: statements show it without summing history.
    balance_after_fen = models.BigIntegerField(_("balance after (fen)"))

    class Meta:
        ordering = ["id"]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        indexes = [models.Index(fields=["account", "-id"], name="ledger_entry_account_idx")]
        constraints = [
            models.CheckConstraint(condition=~Q(amount_fen=0), name="ledger_entry_amount_nonzero"),
            models.UniqueConstraint(fields=["transaction", "account"], name="ledger_entry_one_per_account"),
        ]

    def __str__(self) -> str:
        return f"{self.account}: {self.amount_fen:+d}"


class LedgerProfile(models.Model):
    """How one organization pays. Platform staff set prepaid/postpaid and the credit line in the admin;
    the organization's admins set their low-balance threshold."""

    class Mode(models.TextChoices):
        PREPAID = "prepaid", _("Prepaid (wallet)")
        POSTPAID = "postpaid", _("Postpaid (credit line, invoiced)")

    organization = models.OneToOneField("tenancy.Organization", on_delete=models.CASCADE,
                                        related_name="ledger_profile", verbose_name=_("organization"))
    mode = models.CharField(_("payment mode"), max_length=10, choices=Mode.choices, default=Mode.PREPAID)
    credit_limit_fen = models.BigIntegerField(_("credit limit (fen)"), default=0,
                                              help_text=_("Postpaid only: how much the organization may owe."))
    low_balance_threshold_fen = models.BigIntegerField(
        _("low-balance warning below (fen)"), default=10_000,
        help_text=_("Owners and admins are e-mailed once each time the balance falls below this."))
    # True between a crossing below the threshold and the next time the balance is back above it.
    low_balance_notified = models.BooleanField(default=False, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("payment profile")
        verbose_name_plural = _("payment profiles")
        constraints = [
            models.CheckConstraint(condition=Q(credit_limit_fen__gte=0), name="ledger_profile_credit_limit_gte_0"),
            models.CheckConstraint(condition=Q(low_balance_threshold_fen__gte=0),
                                   name="ledger_profile_threshold_gte_0"),
        ]

    def __str__(self) -> str:
        return f"{self.organization} · {self.get_mode_display()}"


class Payment(models.Model):
    """A top-up through a Stripe PaymentIntent (card, Alipay or WeChat Pay). The wallet is credited by the
    webhook, not the browser."""

    class Method(models.TextChoices):
        # Stripe payment_method_types; Alipay and WeChat Pay settle in CNY like cards.
        CARD = "card", _("Card")
        ALIPAY = "alipay", _("Alipay")
        WECHAT_PAY = "wechat_pay", _("WeChat Pay")

    class State(models.TextChoices):
        CREATED = "created", _("Awaiting payment")
        SUCCEEDED = "succeeded", _("Paid")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.PROTECT, related_name="payments",
                                     verbose_name=_("organization"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    currency = models.CharField(max_length=3, default="cny")
    method = models.CharField(_("payment method"), max_length=20, choices=Method.choices, default=Method.CARD)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.CREATED)
    stripe_payment_intent_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    client_secret = models.CharField(max_length=200, blank=True, editable=False)
    # "<organization id>:<the client's Idempotency-Key>" (up to 255 characters, checked before saving)
    idempotency_key = models.CharField(max_length=300, unique=True)
    failure_message = models.CharField(_("why it failed"), max_length=500, blank=True)
    # Refunds reserved or done (wallet already debited); refunds from outside the portal that the wallet
    # could not cover are counted in unrecovered_fen for staff to follow up.
    refunded_fen = models.BigIntegerField(_("refunded (fen)"), default=0)
    unrecovered_fen = models.BigIntegerField(_("refunded but not recovered from the wallet (fen)"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="ledger_payment_amount_gt_0"),
            models.CheckConstraint(condition=Q(refunded_fen__gte=0) & Q(refunded_fen__lte=F("amount_fen")),
                                   name="ledger_payment_refunds_within_amount"),
        ]

    def __str__(self) -> str:
        return f"{self.organization} {self.amount_fen} fen ({self.state})"

    @property
    def refundable_fen(self) -> int:
        return self.amount_fen - self.refunded_fen if self.state == self.State.SUCCEEDED else 0


class Refund(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUCCEEDED = "succeeded", _("Refunded")
        FAILED = "failed", _("Failed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.PENDING)
    stripe_refund_id = models.CharField(max_length=100, unique=True, null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    failure_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        constraints = [models.CheckConstraint(condition=Q(amount_fen__gt=0), name="ledger_refund_amount_gt_0")]

    def __str__(self) -> str:
        return f"{self.amount_fen} fen of {self.payment_id} ({self.state})"


class StripeEvent(models.Model):
    """Each Stripe event id once: inserted in the same transaction as what the event changes, so a
    redelivered or concurrently delivered event changes nothing the second time."""

    event_id = models.CharField(max_length=100, primary_key=True)
    type = models.CharField(max_length=100)
    received_at = models.DateTimeField(auto_now_add=True)
    deliveries = models.PositiveIntegerField(default=1, help_text=_("How often Stripe sent this event."))
    object_id = models.CharField(max_length=100, blank=True, db_index=True,
                                 help_text=_("The Stripe object the event is about (a PaymentIntent, a Charge)."))

    class Meta:
        ordering = ["-received_at"]
        verbose_name = _("Stripe event")
        verbose_name_plural = _("Stripe events")

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class RemittanceReference(models.Model):
    """The reference a customer writes in a corporate bank transfer's remark (对公转账备注), so staff
    know whose wallet it is for. One per organization, never changes."""

    organization = models.OneToOneField("tenancy.Organization", on_delete=models.PROTECT,
                                        related_name="remittance_reference", verbose_name=_("organization"))
    reference = models.CharField(_("remittance reference"), max_length=20, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("remittance reference")
        verbose_name_plural = _("remittance references")

    def __str__(self) -> str:
        return self.reference


class BankTransfer(models.Model):
    """A corporate bank transfer received on the platform's account, recorded by staff against a remittance
    reference. The bank's own reference (流水号) is unique: recording it twice credits once."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.PROTECT,
                                     related_name="bank_transfers", verbose_name=_("organization"))
    remittance_reference = models.CharField(_("remittance reference"), max_length=20)
    bank_reference = models.CharField(_("bank reference"), max_length=100, unique=True)
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    value_date = models.DateField(_("value date"))
    note = models.CharField(_("note"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("recorded by"))
    ledger_transaction = models.OneToOneField(LedgerTransaction, null=True, on_delete=models.PROTECT,
                                              related_name="bank_transfer")
    created_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["-value_date", "-created_at"]
        verbose_name = _("bank transfer")
        verbose_name_plural = _("bank transfers")
        constraints = [models.CheckConstraint(condition=Q(amount_fen__gt=0), name="ledger_bank_transfer_amount_gt_0")]

    def __str__(self) -> str:
        return f"{self.bank_reference}: {self.amount_fen} fen"
