"""Platform staff: payment profiles (prepaid/postpaid, credit line) are set here; the books are read-only."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from apps.core.admin import ReadOnlyAdmin
from apps.tenancy.access import Actor

from .models import Account, BankTransfer, Entry, LedgerProfile, LedgerTransaction, Payment, Refund, StripeEvent
from .services import fen_display, ledger_profile_set


class LedgerProfileForm(forms.ModelForm):
    class Meta:
        model = LedgerProfile
        fields = ("organization", "mode", "credit_limit_fen")

    def clean(self):
        data = super().clean()
        organization, limit = data.get("organization"), data.get("credit_limit_fen")
        if organization is not None and limit is not None:
            owed = -(Account.objects.filter(organization=organization, kind=Account.Kind.CUSTOMER_POSTPAID)
                     .values_list("balance_fen", flat=True).first() or 0)
            if owed > limit:
                self.add_error("credit_limit_fen", _("The organization already owes %(owed)s; the credit limit "
                                                     "cannot be lower.") % {"owed": fen_display(owed)})
        return data


@admin.register(LedgerProfile)
class LedgerProfileAdmin(admin.ModelAdmin):
    form = LedgerProfileForm
    list_display = ("organization", "mode", "credit_limit_fen", "low_balance_threshold_fen", "updated_at")
    list_filter = ("mode",)
    search_fields = ("organization__name",)
    autocomplete_fields = ("organization",)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        # Through the service: it keeps the postpaid account's credit line in step and audits the change.
        try:
            profile = ledger_profile_set(actor=Actor(user=request.user), organization=obj.organization,
                                         mode=obj.mode, credit_limit_fen=obj.credit_limit_fen)
        except ValidationError as error:
            # A charge landed between the form's check and the save: nothing was changed; say why.
            self.message_user(request, " ".join(error.messages), level=messages.ERROR)
            return
        obj.pk = profile.pk
        obj.refresh_from_db()


class EntryInline(admin.TabularInline):
    model = Entry
    fields = ("account", "amount_fen", "balance_after_fen")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "kind", "organization", "memo", "idempotency_key")
    list_filter = ("kind",)
    search_fields = ("idempotency_key", "memo", "organization__name")
    inlines = [EntryInline]


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "kind", "organization", "reference", "balance_fen", "credit_limit_fen")
    list_filter = ("kind",)
    search_fields = ("organization__name", "reference")


class RefundInline(admin.TabularInline):
    model = Refund
    fields = ("amount_fen", "state", "stripe_refund_id", "requested_by", "failure_message", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "organization", "amount_fen", "state", "refunded_fen", "unrecovered_fen",
                    "stripe_payment_intent_id")
    list_filter = ("state",)
    search_fields = ("organization__name", "stripe_payment_intent_id")
    exclude = ("client_secret",)
    inlines = [RefundInline]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ("event_id", "type", "object_id", "deliveries", "received_at")
    list_filter = ("type",)
    search_fields = ("event_id", "object_id")


@admin.register(BankTransfer)
class BankTransferAdmin(ReadOnlyAdmin):
    """Recorded through the staff form (/staff/bank-transfers/new/) or the API, which credit the wallet."""

    list_display = ("bank_reference", "organization", "amount_fen", "value_date", "recorded_by", "created_at")
    search_fields = ("bank_reference", "remittance_reference", "organization__name")
    list_filter = ("value_date",)
