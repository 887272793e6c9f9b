"""Platform staff: price books (drafts are edited inline; published ones are read-only history),
customers' billing terms, and read-only usage and invoices."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from apps.core.admin import ReadOnlyAdmin
from apps.tenancy.access import Actor

from . import services
from .models import (
    BillingProfile,
    FapiaoRequest,
    Invoice,
    InvoiceLine,
    OffPeakDiscount,
    PriceBook,
    PriceEntry,
    TierDiscount,
    UsageRecord,
    VolumeBand,
)


class _FrozenWhenPublished:
    extra = 0

    def has_change_permission(self, request, obj=None):
        return obj is None or not obj.is_published

    has_add_permission = has_delete_permission = has_change_permission


class PriceEntryInline(_FrozenWhenPublished, admin.TabularInline):
    model = PriceEntry
    autocomplete_fields = ()


class OffPeakInline(_FrozenWhenPublished, admin.TabularInline):
    model = OffPeakDiscount


class TierInline(_FrozenWhenPublished, admin.TabularInline):
    model = TierDiscount


class BandInline(_FrozenWhenPublished, admin.TabularInline):
    model = VolumeBand


@admin.register(PriceBook)
class PriceBookAdmin(admin.ModelAdmin):
    list_display = ["name", "effective_from", "published_at", "platform_margin"]
    inlines = [TierInline, BandInline, OffPeakInline, PriceEntryInline]
    actions = ["copy_as_draft", "publish"]

    def has_change_permission(self, request, obj=None):
        return obj is None or not obj.is_published

    def has_delete_permission(self, request, obj=None):
        return obj is not None and not obj.is_published

    @admin.action(description=_("Copy the book in force now as a new draft starting at the selected book's time"))
    def copy_as_draft(self, request, queryset):
        for book in queryset:
            services.price_book_copy(actor=Actor(user=request.user), name=f"{book.name} (copy)",
                                     effective_from=book.effective_from)

    @admin.action(description=_("Publish (freeze) the selected drafts"))
    def publish(self, request, queryset):
        for book in queryset:
            try:
                services.price_book_publish(actor=Actor(user=request.user), book=book)
            except ValidationError as error:
                self.message_user(request, "; ".join(error.messages), messages.ERROR)


@admin.register(BillingProfile)
class BillingProfileAdmin(admin.ModelAdmin):
    list_display = ["organization", "tier", "volume_scheme", "out_of_funds_since"]
    list_filter = ["tier", "volume_scheme"]
    readonly_fields = ["out_of_funds_since", "out_of_funds_stopped_at"]

    def save_model(self, request, obj, form, change):
        services.billing_profile_set(actor=Actor(user=request.user), organization=obj.organization, tier=obj.tier,
                                     volume_scheme=obj.volume_scheme)


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    list_display = ["workload", "organization", "started_at", "ended_at", "cost_fen", "charged_fen", "settled"]
    list_filter = ["settled", "billing_mode"]


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ["number", "customer_name", "period_start", "total_fen", "outstanding_fen"]
    inlines = [InvoiceLineInline]


@admin.register(FapiaoRequest)
class FapiaoRequestAdmin(ReadOnlyAdmin):
    """Answered on the staff page /staff/fapiao/ (or the API), which audit the answer."""

    list_display = ("invoice", "organization", "kind", "state", "fapiao_number", "requested_at")
    list_filter = ("state", "kind")
    search_fields = ("invoice__number", "organization__name", "fapiao_number", "tax_id")
