"""Corporate bank transfers (对公转账): the customer pays into the platform's bank account with its remittance
reference in the remark; platform staff record the transfer when it shows on the statement.

Recording is idempotent on the bank's reference (流水号): the BankTransfer row's unique bank_reference is
inserted in the same transaction as the ledger posting, so a second recording (a double click, two staff at
once) waits on the first one's row and then finds it: the wallet is credited once.
"""

from __future__ import annotations

import datetime
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.services import audit_record
from apps.tenancy.access import Actor
from apps.tenancy.models import Organization

from .models import Account, BankTransfer, LedgerTransaction, RemittanceReference
from .services import (
    customer_payer_account,
    fen_display,
    low_balance_rearm,
    platform_account,
    transaction_post,
    whole_fen,
)

BANK_TRANSFER_MAX_FEN = 100_000_000_000  # ¥1,000,000,000: anything above is a typo
_BANK_REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._/-]{0,99}$")


def _reference_for(organization: Organization) -> str:
    return "TG" + organization.pk.hex[:10].upper()


def remittance_reference_get(*, organization: Organization) -> str:
    """The organization's remittance reference (created on first use; derived from its id, so concurrent
    first uses agree)."""
    reference, _created = RemittanceReference.objects.get_or_create(
        organization=organization, defaults={"reference": _reference_for(organization)})
    return reference.reference


def _normalized(reference: str) -> str:
    return re.sub(r"\s+", "", str(reference or "")).upper()


def bank_transfer_record(*, actor: Actor, remittance_reference: str, amount_fen: int, bank_reference: str,
                         value_date: datetime.date, note: str = "") -> tuple[BankTransfer, bool]:
    """Staff record a received transfer. Returns ``(transfer, created)``; a bank reference recorded before
    returns the first transfer (created False) and credits nothing, and is refused when its amount or
    remittance reference differ."""
    if not getattr(actor.user, "is_staff", False):
        raise PermissionDenied(_("Only platform staff record bank transfers."))
    errors: dict[str, list[str]] = {}
    reference = RemittanceReference.objects.select_related("organization").filter(
        reference=_normalized(remittance_reference)).first()
    if reference is None:
        errors["remittance_reference"] = [_("No organization has this remittance reference.")]
    elif reference.organization.kind != Organization.Kind.CUSTOMER:
        errors["remittance_reference"] = [_("Only customer organizations pay by bank transfer.")]
    if not whole_fen(amount_fen, at_least=1, at_most=BANK_TRANSFER_MAX_FEN):
        errors["amount_fen"] = [_("Enter the amount received, a positive whole number of fen.")]
    bank_reference = str(bank_reference or "").strip()
    if not _BANK_REFERENCE.match(bank_reference):
        errors["bank_reference"] = [_("Enter the bank's transaction reference (letters, digits, - . / _; "
                                      "at most 100 characters).")]
    if not isinstance(value_date, datetime.date) or isinstance(value_date, datetime.datetime):
        errors["value_date"] = [_("Enter the value date.")]
    elif value_date > timezone.localdate() + datetime.timedelta(days=1):
        errors["value_date"] = [_("The value date cannot be in the future.")]
    note = str(note or "").strip()
    if len(note) > 300:
        errors["note"] = [_("At most 300 characters.")]
    if errors:
        raise ValidationError(errors)

    organization = reference.organization
    with transaction.atomic():
        try:
            with transaction.atomic():
                transfer = BankTransfer.objects.create(
                    organization=organization, remittance_reference=reference.reference,
                    bank_reference=bank_reference, amount_fen=amount_fen, value_date=value_date, note=note,
                    recorded_by=actor.user)
        except IntegrityError:
            # Recorded before (or right now by someone else: the insert waited for their commit).
            existing = BankTransfer.objects.get(bank_reference=bank_reference)
            if existing.amount_fen != amount_fen or existing.organization_id != organization.pk:
                raise ValidationError({"bank_reference": [
                    _("This bank reference was already recorded: %(amount)s for %(reference)s on %(date)s.")
                    % {"amount": fen_display(existing.amount_fen), "reference": existing.remittance_reference,
                       "date": existing.value_date.isoformat()}]}) from None
            return existing, False
        txn, _created = transaction_post(
            idempotency_key=f"bank-transfer:{transfer.pk}", kind=LedgerTransaction.Kind.BANK_TRANSFER,
            memo=_("Bank transfer %(reference)s") % {"reference": bank_reference}, organization=organization,
            lines=[(platform_account(Account.Kind.BANK_CLEARING), -amount_fen),
                   (customer_payer_account(organization=organization), amount_fen)],
            details={"bank_transfer": str(transfer.pk), "bank_reference": bank_reference,
                     "value_date": value_date.isoformat()})
        BankTransfer.objects.filter(pk=transfer.pk).update(ledger_transaction=txn)
        audit_record(actor=actor, action="ledger.bank_transfer_recorded", organization=organization,
                     target=transfer, details={"amount_fen": amount_fen, "bank_reference": bank_reference,
                                               "value_date": value_date.isoformat(), "note": note})
        low_balance_rearm(organization=organization)
    transfer.refresh_from_db()
    return transfer, True
