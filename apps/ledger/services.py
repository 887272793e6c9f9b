"""Writes to the ledger: posting balanced transactions, charging customers, payment profiles.

``transaction_post`` is the only code that changes ``Account.balance_fen``. It updates each account with
one conditional UPDATE (``… WHERE balance + amount >= floor``), so two concurrent debits of one wallet
serialize on its row and the second re-checks the floor against the first one's result: a floored
account can never be pushed below its floor, and a refused posting writes nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, connection, transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from apps.audit.services import audit_record
from apps.tenancy.access import Actor, require_role
from apps.tenancy.models import Organization, Role
from apps.tenancy.selectors import organization_admin_emails

from .models import Account, Entry, LedgerProfile, LedgerTransaction

logger = logging.getLogger(__name__)

# Which kinds may not go below -credit_limit_fen. A later app registers its own floored kinds here
# (voucher credit, program budgets) before creating such accounts.
FLOORED_KINDS: set[str] = {Account.Kind.CUSTOMER_CASH, Account.Kind.CUSTOMER_POSTPAID}


def fen_display(amount_fen: int) -> str:
    """¥ with two decimals, exact (integer arithmetic, no float)."""
    sign = "-" if amount_fen < 0 else ""
    whole, cents = divmod(abs(int(amount_fen)), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def whole_fen(value, *, at_least: int | None = None, at_most: int | None = None) -> bool:
    """Whether ``value`` is a whole number of fen (an int, not a bool) within the given bounds."""
    if isinstance(value, bool) or not isinstance(value, int):
        return False
    return (at_least is None or value >= at_least) and (at_most is None or value <= at_most)


class InsufficientFunds(ValidationError):
    """A debit would take a floored account below its floor. ``available_fen`` is what it could pay."""

    def __init__(self, *, account: Account, available_fen: int, needed_fen: int):
        self.account = account
        self.available_fen = available_fen
        self.needed_fen = needed_fen
        super().__init__(
            {"amount_fen": [_("Not enough funds: %(needed)s needed, %(available)s available.")
                            % {"needed": fen_display(needed_fen), "available": fen_display(available_fen)}]},
            code="insufficient_funds",
        )


# --- accounts -------------------------------------------------------------------------------------------

def account_get_or_create(*, organization: Organization | None, kind: str, reference: str = "",
                          credit_limit_fen: int = 0) -> Account:
    """The account of that kind (and reference) of the organization (None: the platform's)."""
    account, _created = Account.objects.get_or_create(
        organization=organization, kind=kind, reference=reference,
        defaults={"has_floor": kind in FLOORED_KINDS, "credit_limit_fen": credit_limit_fen},
    )
    return account


def platform_account(kind: str) -> Account:
    return account_get_or_create(organization=None, kind=kind)


def profile_get(*, organization: Organization) -> LedgerProfile:
    profile, _created = LedgerProfile.objects.get_or_create(organization=organization)
    return profile


def customer_payer_account(*, organization: Organization, profile: LedgerProfile | None = None) -> Account:
    """The account charges are taken from: the prepaid wallet, or the postpaid receivable."""
    profile = profile or profile_get(organization=organization)
    if profile.mode == LedgerProfile.Mode.POSTPAID:
        return account_get_or_create(organization=organization, kind=Account.Kind.CUSTOMER_POSTPAID,
                                     credit_limit_fen=profile.credit_limit_fen)
    return account_get_or_create(organization=organization, kind=Account.Kind.CUSTOMER_CASH)


# --- posting --------------------------------------------------------------------------------------------

def _merged_lines(lines: Iterable[tuple[Account, int]]) -> dict[int, int]:
    merged: dict[int, int] = defaultdict(int)
    for line in lines:
        try:
            account, amount = line
        except (TypeError, ValueError) as exc:
            raise ValidationError({"lines": [_("Each line is an (account, amount in fen) pair.")]}) from exc
        if not isinstance(account, Account) or account.pk is None:
            raise ValidationError({"lines": [_("Each line needs a saved ledger account.")]})
        if not whole_fen(amount):
            raise ValidationError({"lines": [_("Amounts are whole fen (integers).")]})
        merged[account.pk] += amount
    return {account_id: amount for account_id, amount in merged.items() if amount != 0}


def _lines_hash(merged: dict[int, int]) -> str:
    return hashlib.sha256(json.dumps(sorted(merged.items())).encode()).hexdigest()


def _existing(idempotency_key: str, digest: str) -> LedgerTransaction | None:
    existing = LedgerTransaction.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None and existing.lines_hash != digest:
        raise ValidationError({"idempotency_key": [
            _("This idempotency key was already used for a different transaction.")]}, code="idempotency_conflict")
    return existing


_DEBIT_SQL = """
UPDATE ledger_account SET balance_fen = balance_fen + %s
WHERE id = %s AND (NOT has_floor OR balance_fen + %s >= -credit_limit_fen)
RETURNING balance_fen
"""


def transaction_post(*, idempotency_key: str, kind: str, memo: str, lines: list[tuple[Account, int]],
                     organization: Organization | None = None,
                     details: dict | None = None) -> tuple[LedgerTransaction, bool]:
    """Post one balanced transaction, once per idempotency key.

    Returns ``(transaction, created)``. The same key again returns the first transaction with
    ``created=False``; the same key with other lines raises ValidationError. A debit that would take a
    floored account below its floor raises ``InsufficientFunds`` and nothing is written.
    """
    if not idempotency_key or len(idempotency_key) > 200:
        raise ValidationError({"idempotency_key": [_("An idempotency key of 1 to 200 characters is required.")]})
    merged = _merged_lines(lines)
    if len(merged) < 2:
        raise ValidationError({"lines": [_("A transaction moves money between at least two accounts.")]})
    if sum(merged.values()) != 0:
        raise ValidationError({"lines": [_("The lines of a transaction must sum to zero.")]})
    digest = _lines_hash(merged)
    existing = _existing(idempotency_key, digest)
    if existing is not None:
        return existing, False

    try:
        with transaction.atomic():
            txn = LedgerTransaction.objects.create(
                idempotency_key=idempotency_key, kind=kind, memo=memo[:300], organization=organization,
                details=json.loads(json.dumps(details or {}, default=str)), lines_hash=digest)
            entries = []
            # One lock order for everyone (account id), so two postings never deadlock on each other.
            with connection.cursor() as cursor:
                for account_id, amount in sorted(merged.items()):
                    cursor.execute(_DEBIT_SQL, [amount, account_id, amount])
                    row = cursor.fetchone()
                    if row is None:
                        account = Account.objects.get(pk=account_id)
                        raise InsufficientFunds(account=account, available_fen=account.available_fen,
                                                needed_fen=-amount)
                    entries.append(Entry(transaction=txn, account_id=account_id, amount_fen=amount,
                                         balance_after_fen=row[0]))
            Entry.objects.bulk_create(entries)
    except IntegrityError:
        # A concurrent posting with the same key committed first (we waited on its unique index entry).
        existing = _existing(idempotency_key, digest)
        if existing is None:
            raise
        return existing, False
    txn.posted_entries = entries  # for callers that want the resulting balances without a query
    return txn, True


# --- charging customers ---------------------------------------------------------------------------------

@dataclass
class FundingPlan:
    """What a funding planner pays of one charge: its ledger lines (its debits and any balancing lines of
    its own, summing to ``-covered_fen``), the amount it covers, and what to record on the charge."""

    lines: list[tuple[Account, int]] = field(default_factory=list)
    covered_fen: int = 0
    details: dict = field(default_factory=dict)


# Funding planners (the vouchers app registers one in its AppConfig.ready). Each is called inside the
# charge's transaction as ``planner(organization=…, amount_fen=…, provider_organization=…, details=…)``
# with what is still uncovered, and returns a FundingPlan or None. What they leave is paid by the wallet
# (postpaid: the receivable). A planner's own writes roll back with the charge when the co-pay fails.
FUNDING_PLANNERS: list[Callable[..., FundingPlan | None]] = []
# Called with ``(charge=…, reversal=…)`` after a charge was reversed, in the same transaction.
REVERSAL_HOOKS: list[Callable[..., None]] = []


def _charge_funding(*, organization: Organization, profile: LedgerProfile, amount_fen: int,
                    provider_organization: Organization | None = None,
                    details: dict | None = None) -> tuple[list[tuple[Account, int]], dict]:
    """The debit side of a charge and what the planners recorded: first each registered planner's share
    (vouchers), then the co-pay from the wallet or the postpaid account for the rest. The credit side
    (revenue, provider share) does not change."""
    lines: list[tuple[Account, int]] = []
    notes: dict = {}
    left = amount_fen
    for planner in FUNDING_PLANNERS:
        plan = planner(organization=organization, amount_fen=left, provider_organization=provider_organization,
                       details=details or {})
        if plan is None:
            continue
        if not 0 <= plan.covered_fen <= left or sum(amount for _account, amount in plan.lines) != -plan.covered_fen:
            raise ValueError(f"funding planner {planner!r} returned an unbalanced plan")
        lines += plan.lines
        notes.update(plan.details)
        left -= plan.covered_fen
    if left:
        payer = customer_payer_account(organization=organization, profile=profile)
        lines.append((payer, -left))
    notes["copay_fen"] = left
    return lines, notes


class _AlreadyPosted(Exception):
    def __init__(self, txn: LedgerTransaction):
        self.txn = txn


def customer_charge(*, organization: Organization, amount_fen: int, idempotency_key: str, memo: str,
                    provider_organization: Organization | None = None, provider_share_fen: int = 0,
                    details: dict | None = None) -> LedgerTransaction:
    """Charge a customer: vouchers pay their share (see ``_charge_funding``), the wallet (postpaid: the
    receivable) the rest; credit platform revenue with ``amount - provider_share`` and the provider's
    payable with the share. Idempotent by key; raises ``InsufficientFunds`` when a prepaid wallet (or a
    credit line) cannot cover the co-pay, and then nothing is written (no voucher is spent either)."""
    if not whole_fen(amount_fen, at_least=1):
        raise ValidationError({"amount_fen": [_("A charge is a positive whole number of fen.")]})
    if not whole_fen(provider_share_fen, at_least=0, at_most=amount_fen):
        raise ValidationError({"provider_share_fen": [_("The provider's share is between 0 and the charge.")]})
    if provider_share_fen and provider_organization is None:
        raise ValidationError({"provider_organization": [_("A provider share needs the provider.")]})
    if provider_organization is not None and provider_organization.kind != Organization.Kind.PROVIDER:
        raise ValidationError({"provider_organization": [_("Only provider organizations earn a share.")]})
    if organization.kind != Organization.Kind.CUSTOMER:
        raise ValidationError({"organization": [_("Only customer organizations are charged.")]})

    # A retry after the payment mode changed must still return the first charge, not fail on "other lines".
    existing = LedgerTransaction.objects.filter(idempotency_key=idempotency_key, organization=organization,
                                                kind=LedgerTransaction.Kind.CHARGE).first()
    if existing is not None and existing.details.get("amount_fen") == amount_fen:
        return existing

    profile = profile_get(organization=organization)
    try:
        with transaction.atomic():
            lines, notes = _charge_funding(organization=organization, profile=profile, amount_fen=amount_fen,
                                           provider_organization=provider_organization, details=details)
            lines.append((platform_account(Account.Kind.PLATFORM_REVENUE), amount_fen - provider_share_fen))
            if provider_share_fen:
                lines.append((account_get_or_create(organization=provider_organization,
                                                    kind=Account.Kind.PROVIDER_PAYABLE), provider_share_fen))
            txn, created = transaction_post(
                idempotency_key=idempotency_key, kind=LedgerTransaction.Kind.CHARGE, memo=memo, lines=lines,
                organization=organization,
                details={**(details or {}), **notes, "amount_fen": amount_fen,
                         "provider_share_fen": provider_share_fen,
                         "provider_organization": str(provider_organization.pk) if provider_organization else None})
            if not created:
                raise _AlreadyPosted(txn)  # a concurrent twin posted it: undo what the planners wrote
    except _AlreadyPosted as already:
        return already.txn
    low_balance_check(organization=organization)
    return txn


def charge_reverse(*, charge: LedgerTransaction, memo: str, details: dict | None = None) -> LedgerTransaction:
    """Undo a charge (a refund of usage, a re-billing): one transaction with every line of the charge
    negated, so the wallet, the vouchers' grant and budget, revenue and the provider's share all get back
    exactly what moved. Once per charge (idempotent); the reversal hooks fix their own counters."""
    if charge.kind != LedgerTransaction.Kind.CHARGE:
        raise ValidationError({"charge": [_("Only charges can be reversed.")]})
    with transaction.atomic():
        entries = list(charge.entries.select_related("account"))
        lines = [(entry.account, -entry.amount_fen) for entry in entries]
        reversal, created = transaction_post(
            idempotency_key=f"reverse:{charge.pk}", kind=LedgerTransaction.Kind.ADJUSTMENT, memo=memo, lines=lines,
            organization=charge.organization,
            details={**(details or {}), "reverses": str(charge.pk), "amount_fen": -charge.details.get("amount_fen", 0)})
        if created:
            for hook in REVERSAL_HOOKS:
                hook(charge=charge, reversal=reversal)
    if created and charge.organization_id:
        low_balance_rearm(organization=charge.organization)
    return reversal


# --- low-balance warning --------------------------------------------------------------------------------

def low_balance_check(*, organization: Organization) -> bool:
    """After money left the account: warn owners and admins once per crossing below the threshold.

    The flag flips with one conditional UPDATE, so of many concurrent charges exactly one sends the
    e-mail. Returns whether this call is the one that warns.
    """
    from .selectors import wallet_balance

    available = wallet_balance(organization=organization)
    flipped = LedgerProfile.objects.filter(organization=organization, low_balance_notified=False,
                                           low_balance_threshold_fen__gt=available).update(low_balance_notified=True)
    if flipped:
        profile = LedgerProfile.objects.get(organization=organization)
        transaction.on_commit(lambda: _low_balance_email(organization=organization, available_fen=available,
                                                         threshold_fen=profile.low_balance_threshold_fen))
    return bool(flipped)


def low_balance_rearm(*, organization: Organization) -> None:
    """After money came in: the next fall below the threshold warns again."""
    from .selectors import wallet_balance

    available = wallet_balance(organization=organization)
    LedgerProfile.objects.filter(organization=organization, low_balance_notified=True,
                                 low_balance_threshold_fen__lte=available).update(low_balance_notified=False)


def _low_balance_email(*, organization: Organization, available_fen: int, threshold_fen: int) -> None:
    from django.conf import settings

    recipients = organization_admin_emails(organization=organization)
    if not recipients:
        return
    context = {"organization": organization, "available": fen_display(available_fen),
               "threshold": fen_display(threshold_fen), "site_url": settings.SITE_URL}
    bilingual_mail_send(subject=gettext_noop("Low balance: %(org)s"), subject_params={"org": organization.name},
                        template="ledger/email/low_balance.txt", context=context, recipients=recipients)


def bilingual_mail_send(*, subject: str, subject_params: dict, template: str, context: dict,
                        recipients: list[str]) -> None:
    """One e-mail with the body in English, then Chinese (the recipients' language is not stored); the
    subject (a gettext_noop msgid) in English. Mail must never break the caller (charging, a webhook):
    a failed send is logged, the same warning stays visible in the portal."""
    try:
        with translation.override("en"):
            subject_en = _(subject) % subject_params
            body_en = render_to_string(template, context)
        with translation.override("zh-hans"):
            body_zh = render_to_string(template, context)
        send_mail(subject=f"[TideGrid] {subject_en}", message=f"{body_en}\n\n---\n\n{body_zh}",
                  from_email=None, recipient_list=recipients)
    except Exception:
        logger.exception("e-mail %s to %s failed", template, ", ".join(recipients))


def low_balance_threshold_set(*, actor: Actor, organization: Organization, threshold_fen: int) -> LedgerProfile:
    require_role(actor, organization, Role.ADMIN, _("Owners and admins set the low-balance warning."))
    if not whole_fen(threshold_fen, at_least=0, at_most=10**12):
        raise ValidationError({"threshold_fen": [_("Enter an amount of zero or more.")]})
    with transaction.atomic():
        profile = profile_get(organization=organization)
        LedgerProfile.objects.filter(pk=profile.pk).update(low_balance_threshold_fen=threshold_fen,
                                                           low_balance_notified=False)
        audit_record(actor=actor, action="ledger.low_balance_threshold_set", organization=organization,
                     target=profile, details={"threshold_fen": threshold_fen})
    # A threshold set above the current balance warns at the next charge, not right away.
    profile.refresh_from_db()
    return profile


# --- payment profile (platform staff) -------------------------------------------------------------------

@transaction.atomic
def ledger_profile_set(*, actor: Actor, organization: Organization, mode: str,
                       credit_limit_fen: int) -> LedgerProfile:
    """Platform staff choose prepaid or postpaid and the credit line. A credit line below what the
    organization already owes is refused (the CHECK would refuse it anyway; this says why)."""
    if not getattr(actor.user, "is_staff", False):
        raise PermissionDenied(_("Only platform staff change how an organization pays."))
    if mode not in LedgerProfile.Mode.values:
        raise ValidationError({"mode": [_("Choose prepaid or postpaid.")]})
    if not whole_fen(credit_limit_fen, at_least=0):
        raise ValidationError({"credit_limit_fen": [_("Enter a credit limit of zero or more.")]})
    if organization.kind != Organization.Kind.CUSTOMER:
        raise ValidationError({"organization": [_("Only customer organizations have a payment profile.")]})
    profile = LedgerProfile.objects.select_for_update().get(pk=profile_get(organization=organization).pk)
    postpaid = account_get_or_create(organization=organization, kind=Account.Kind.CUSTOMER_POSTPAID,
                                     credit_limit_fen=credit_limit_fen)
    updated = Account.objects.filter(pk=postpaid.pk, balance_fen__gte=-credit_limit_fen).update(
        credit_limit_fen=credit_limit_fen)
    if not updated:
        postpaid.refresh_from_db()
        raise ValidationError({"credit_limit_fen": [
            _("The organization already owes %(owed)s; the credit limit cannot be lower.")
            % {"owed": fen_display(-postpaid.balance_fen)}]})
    before = {"mode": profile.mode, "credit_limit_fen": profile.credit_limit_fen}
    profile.mode = mode
    profile.credit_limit_fen = credit_limit_fen
    profile.save(update_fields=["mode", "credit_limit_fen", "updated_at"])
    audit_record(actor=actor, action="ledger.profile_set", organization=organization, target=profile,
                 details={"before": before, "after": {"mode": mode, "credit_limit_fen": credit_limit_fen}})
    low_balance_rearm(organization=organization)
    return profile


# --- provider payouts (platform staff) ------------------------------------------------------------------

@transaction.atomic
def provider_payout(*, actor: Actor, organization: Organization, amount_fen: int, idempotency_key: str,
                    reference: str = "") -> LedgerTransaction:
    """Record a bank transfer to a provider's agreed payout account: its payable falls by the amount.

    Held while the provider is not approved (suspended, or never vetted): the payout is refused, the
    payable and its entries stay as they are until staff reinstate the provider."""
    from apps.catalog.selectors import provider_profile

    if not getattr(actor.user, "is_staff", False):
        raise PermissionDenied(_("Only platform staff pay providers out."))
    if organization.kind != Organization.Kind.PROVIDER:
        raise ValidationError({"organization": [_("Only provider organizations are paid out.")]})
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise ValidationError({"amount_fen": [_("A payout is a positive whole number of fen.")]})
    profile = provider_profile(organization=organization)
    if profile.payable_held:
        raise ValidationError({"organization": [
            _("The provider's payable is held (%(state)s): nothing is paid out until it is approved.")
            % {"state": profile.get_state_display()}]}, code="payable_held")
    payable = account_get_or_create(organization=organization, kind=Account.Kind.PROVIDER_PAYABLE)
    payable = Account.objects.select_for_update().get(pk=payable.pk)
    existing = LedgerTransaction.objects.filter(idempotency_key=idempotency_key, kind=LedgerTransaction.Kind.PAYOUT,
                                                organization=organization).first()
    if existing is None and amount_fen > payable.balance_fen:
        raise ValidationError({"amount_fen": [_("The provider is owed %(owed)s; the payout cannot be more.")
                                              % {"owed": fen_display(payable.balance_fen)}]})
    txn, created = transaction_post(
        idempotency_key=idempotency_key, kind=LedgerTransaction.Kind.PAYOUT,
        memo=f"Payout to {profile.bank_name} {profile.bank_account_number[-4:]}", organization=organization,
        lines=[(payable, -amount_fen), (platform_account(Account.Kind.PROVIDER_PAYOUTS), amount_fen)],
        details={"reference": reference[:100], "bank_account_name": profile.bank_account_name})
    if created:
        audit_record(actor=actor, action="ledger.provider_payout", organization=organization, target=txn,
                     details={"amount_fen": amount_fen, "reference": reference[:100]})
    return txn
