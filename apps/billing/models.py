"""Prices, metered usage, invoices.

Money: prices and rates are Decimal (CNY per hour; per-second costs need sub-fen precision), accrued
costs are Decimal fen, and everything posted or invoiced is integer fen, rounded once, half-up.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from apps.booking.models import Workload


class CustomerTier(models.TextChoices):
    LIST = "list", _("List price")
    ENTERPRISE = "enterprise", _("Enterprise")
    STRATEGIC = "strategic", _("Strategic")


class VolumeScheme(models.TextChoices):
    GRADUATED = "graduated", _("Graduated (each band at its own rate)")
    VOLUME = "volume", _("Volume (the whole month at the rate of the band reached)")


# What a workload is billed as: booking's one definition (prices are per mode of booked work).
BillingMode = Workload.BillingMode


class BillingProfile(models.Model):
    """A customer organization's billing settings: its price tier, how monthly volume tiers apply, and
    where its prepaid funds stand (the warnings and the out-of-funds stop)."""

    organization = models.OneToOneField("tenancy.Organization", on_delete=models.CASCADE, primary_key=True,
                                        related_name="billing_profile")
    tier = models.CharField(_("customer tier"), max_length=12, choices=CustomerTier.choices,
                            default=CustomerTier.LIST)
    volume_scheme = models.CharField(_("monthly volume tiers"), max_length=12, choices=VolumeScheme.choices,
                                     default=VolumeScheme.GRADUATED)
    out_of_funds_since = models.DateTimeField(_("out of funds since"), null=True, blank=True)
    out_of_funds_stopped_at = models.DateTimeField(_("on-demand work stopped for funds at"), null=True,
                                                   blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("billing profile")
        verbose_name_plural = _("billing profiles")

    def __str__(self) -> str:
        return f"billing of {self.organization_id}"


class PriceBook(models.Model):
    """One version of all prices, in force from ``effective_from`` until the next published version.
    Published versions are frozen (a database trigger refuses edits to them and their rows): a price
    change is a new version, so every usage record can say which prices it was billed at."""

    name = models.CharField(_("name"), max_length=100)
    effective_from = models.DateTimeField(_("effective from"))
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    platform_margin = models.DecimalField(
        _("platform margin"), max_digits=5, decimal_places=4,
        help_text=_("share of each charge the platform keeps; the provider is paid the rest, at least its floor"))
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-effective_from"]
        verbose_name = _("price book")
        verbose_name_plural = _("price books")
        constraints = [
            models.UniqueConstraint(fields=["effective_from"], condition=Q(published_at__isnull=False),
                                    name="price_book_one_published_per_instant"),
            models.CheckConstraint(condition=Q(platform_margin__gte=0, platform_margin__lt=1),
                                   name="price_book_margin_fraction"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.effective_from:%Y-%m-%d %H:%M})"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class PriceEntry(models.Model):
    """The hourly price of one whole card of a model in a region and billing mode."""

    book = models.ForeignKey(PriceBook, on_delete=models.CASCADE, related_name="entries")
    accelerator_model = models.ForeignKey("catalog.AcceleratorModel", verbose_name=_("accelerator model"),
                                          on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey("catalog.Region", verbose_name=_("region"), on_delete=models.PROTECT,
                               related_name="+")
    billing_mode = models.CharField(_("billing mode"), max_length=12, choices=BillingMode.choices)
    hourly = models.DecimalField(_("list price per card-hour (CNY)"), max_digits=12, decimal_places=4)
    provider_floor_hourly = models.DecimalField(_("provider floor per card-hour (CNY)"), max_digits=12,
                                                decimal_places=4)

    class Meta:
        ordering = ["accelerator_model", "region", "billing_mode"]
        verbose_name = _("price")
        verbose_name_plural = _("prices")
        constraints = [
            models.UniqueConstraint(fields=["book", "accelerator_model", "region", "billing_mode"],
                                    name="price_entry_unique"),
            models.CheckConstraint(condition=Q(hourly__gt=0, provider_floor_hourly__gte=0),
                                   name="price_entry_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.accelerator_model_id}/{self.region_id}/{self.billing_mode}: {self.hourly}"


class OffPeakDiscount(models.Model):
    """The discount for usage inside a region's off-peak (valley tariff) hours, catalog.Region.off_peak_hours."""

    book = models.ForeignKey(PriceBook, on_delete=models.CASCADE, related_name="off_peak_discounts")
    region = models.ForeignKey("catalog.Region", verbose_name=_("region"), on_delete=models.PROTECT,
                               related_name="+")
    discount = models.DecimalField(_("off-peak discount"), max_digits=5, decimal_places=4)

    class Meta:
        verbose_name = _("off-peak discount")
        verbose_name_plural = _("off-peak discounts")
        constraints = [
            models.UniqueConstraint(fields=["book", "region"], name="off_peak_discount_unique"),
            models.CheckConstraint(condition=Q(discount__gte=0, discount__lt=1), name="off_peak_discount_fraction"),
        ]

    def __str__(self) -> str:
        return f"{self.region_id}: -{self.discount}"


class TierDiscount(models.Model):
    """The discount a customer tier gets on list prices."""

    book = models.ForeignKey(PriceBook, on_delete=models.CASCADE, related_name="tier_discounts")
    tier = models.CharField(_("customer tier"), max_length=12, choices=CustomerTier.choices)
    discount = models.DecimalField(_("discount"), max_digits=5, decimal_places=4)

    class Meta:
        verbose_name = _("customer tier discount")
        verbose_name_plural = _("customer tier discounts")
        constraints = [
            models.UniqueConstraint(fields=["book", "tier"], name="tier_discount_unique"),
            models.CheckConstraint(condition=Q(discount__gte=0, discount__lt=1), name="tier_discount_fraction"),
        ]

    def __str__(self) -> str:
        return f"{self.tier}: -{self.discount}"


class VolumeBand(models.Model):
    """A band of monthly card-hours and its discount: the band runs from ``from_card_hours`` up to the
    next band's start."""

    book = models.ForeignKey(PriceBook, on_delete=models.CASCADE, related_name="volume_bands")
    from_card_hours = models.DecimalField(_("from card-hours"), max_digits=12, decimal_places=2)
    discount = models.DecimalField(_("discount"), max_digits=5, decimal_places=4)

    class Meta:
        ordering = ["from_card_hours"]
        verbose_name = _("volume band")
        verbose_name_plural = _("volume bands")
        constraints = [
            models.UniqueConstraint(fields=["book", "from_card_hours"], name="volume_band_unique"),
            models.CheckConstraint(condition=Q(discount__gte=0, discount__lt=1, from_card_hours__gte=0),
                                   name="volume_band_valid"),
        ]

    def __str__(self) -> str:
        return f"≥ {self.from_card_hours} card-h: -{self.discount}"


class MeterEvent(models.Model):
    """An agent-confirmed start or stop of an assignment, stored once per event id (a repeated or
    replayed event changes nothing)."""

    class Kind(models.TextChoices):
        START = "start", _("Started")
        STOP = "stop", _("Stopped")
        LOST = "lost", _("Node lost")

    event_id = models.CharField(max_length=100, unique=True)
    assignment = models.ForeignKey("scheduling.Assignment", on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_at"]

    def __str__(self) -> str:
        return self.event_id


class UsageRecord(models.Model):
    """What one assignment (a workload's slices on one node) used in one stretch priced one way.

    A record lies inside one calendar month and one price book version: when usage crosses a month
    start or a new price book's start it is closed there and continued in a new record. Each record
    is one invoice line, so the charges posted for it add up to exactly its rounded line amount.
    """

    class EndReason(models.TextChoices):
        STOPPED = "stopped", _("stopped")
        NODE_LOST = "node_lost", _("node lost: billed to its last heartbeat")
        MONTH_END = "month_end", _("continued next month")
        PRICE_CHANGE = "price_change", _("continued at new prices")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.PROTECT, related_name="+",
                                     help_text=_("the customer"))
    provider_organization = models.ForeignKey("tenancy.Organization", on_delete=models.PROTECT, related_name="+")
    workload = models.ForeignKey("booking.Workload", on_delete=models.PROTECT, related_name="usage_records")
    assignment = models.ForeignKey("scheduling.Assignment", on_delete=models.PROTECT, related_name="+")
    cluster = models.ForeignKey("catalog.Cluster", on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey("catalog.Region", on_delete=models.PROTECT, related_name="+")
    accelerator_model = models.ForeignKey("catalog.AcceleratorModel", null=True, on_delete=models.PROTECT,
                                          related_name="+")
    billing_mode = models.CharField(max_length=12, choices=BillingMode.choices)
    # The shape billed, as price_quote takes it.
    gpu_count = models.PositiveSmallIntegerField(default=0)
    gpu_milli = models.PositiveSmallIntegerField(default=0)
    gpu_memory_mib = models.PositiveIntegerField(default=0)
    profile = models.CharField(max_length=40, blank=True)
    # The quote it is billed at (price_book is null only when no price existed: then nothing is charged).
    price_book = models.ForeignKey(PriceBook, null=True, on_delete=models.PROTECT, related_name="+")
    customer_tier = models.CharField(max_length=12, choices=CustomerTier.choices, default=CustomerTier.LIST)
    card_fraction = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    list_hourly = models.DecimalField(max_digits=16, decimal_places=6, default=0)
    hourly = models.DecimalField(max_digits=16, decimal_places=6, default=0)
    off_peak_hourly = models.DecimalField(max_digits=16, decimal_places=6, default=0)
    provider_hourly = models.DecimalField(max_digits=16, decimal_places=6, default=0)
    provider_off_peak_hourly = models.DecimalField(max_digits=16, decimal_places=6, default=0)
    formula = models.TextField(blank=True)
    # Time: [started_at, ended_at), whole seconds; accrued_through is how far the cost is computed.
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    accrued_through = models.DateTimeField()
    end_reason = models.CharField(max_length=16, choices=EndReason.choices, blank=True)
    peak_seconds = models.BigIntegerField(default=0)
    off_peak_seconds = models.BigIntegerField(default=0)
    # Money: exact accrued cost (Decimal fen) and what has been posted to the ledger (integer fen).
    cost_fen = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    provider_fen = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    charged_fen = models.BigIntegerField(default=0)
    provider_charged_fen = models.BigIntegerField(default=0)
    settled = models.BooleanField(default=False, help_text=_("closed and fully charged"))
    previous = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT,
                                    related_name="continuation")
    invoice = models.ForeignKey("Invoice", null=True, blank=True, on_delete=models.PROTECT,
                                related_name="usage_records")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["started_at", "id"]
        indexes = [
            models.Index(fields=["organization", "started_at"], name="usage_org_time_idx"),
            models.Index(fields=["provider_organization", "started_at"], name="usage_provider_time_idx"),
            models.Index(fields=["settled"], condition=Q(settled=False), name="usage_unsettled_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["assignment"], condition=Q(ended_at__isnull=True),
                                    name="usage_one_open_per_assignment"),
            models.UniqueConstraint(fields=["assignment", "started_at"], name="usage_unique_start"),
            models.CheckConstraint(condition=Q(charged_fen__gte=0, provider_charged_fen__gte=0),
                                   name="usage_charged_non_negative"),
        ]

    def __str__(self) -> str:
        return f"usage {self.workload_id} {self.started_at:%Y-%m-%d %H:%M:%S}"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None

    @property
    def card_hours(self):
        from decimal import Decimal

        return self.card_fraction * Decimal(self.peak_seconds + self.off_peak_seconds) / Decimal(3600)


class Invoice(models.Model):
    """A customer's monthly invoice. Lines are frozen copies of the month's usage records, so a later
    change anywhere cannot alter an issued invoice."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(_("number"), max_length=40, unique=True)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"), help_text=_("first day after the period"))
    issued_at = models.DateTimeField(_("issued at"))
    customer_name = models.CharField(_("customer"), max_length=200)
    invoice_title = models.CharField(_("invoice title"), max_length=200, blank=True)
    tax_id = models.CharField(_("tax id"), max_length=20, blank=True)
    customer_tier = models.CharField(_("customer tier"), max_length=12, choices=CustomerTier.choices)
    volume_scheme = models.CharField(_("monthly volume tiers"), max_length=12, choices=VolumeScheme.choices)
    volume_price_book = models.ForeignKey(PriceBook, null=True, on_delete=models.PROTECT, related_name="+")
    card_hours = models.DecimalField(_("card-hours"), max_digits=16, decimal_places=6, default=0)
    usage_fen = models.BigIntegerField(_("usage"), default=0)
    volume_discount_fen = models.BigIntegerField(_("volume discount"), default=0)
    total_fen = models.BigIntegerField(_("total"), default=0)
    charged_fen = models.BigIntegerField(_("charged to the wallet"), default=0)
    outstanding_fen = models.BigIntegerField(_("outstanding"), default=0)
    volume_credit_posted = models.BooleanField(default=False)

    class Meta:
        ordering = ["-period_start"]
        verbose_name = _("invoice")
        verbose_name_plural = _("invoices")
        constraints = [
            models.UniqueConstraint(fields=["organization", "period_start"], name="invoice_one_per_month"),
        ]

    def __str__(self) -> str:
        return self.number


class InvoiceLine(models.Model):
    class Kind(models.TextChoices):
        USAGE = "usage", _("Usage")
        VOLUME_DISCOUNT = "volume_discount", _("Volume discount")

    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    description = models.TextField()
    workload = models.ForeignKey("booking.Workload", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+")
    workload_name = models.CharField(max_length=100, blank=True)
    accelerator_model = models.CharField(max_length=100, blank=True)
    region = models.CharField(max_length=40, blank=True)
    billing_mode = models.CharField(max_length=12, blank=True)
    price_book = models.ForeignKey(PriceBook, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    card_fraction = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    card_hours = models.DecimalField(max_digits=16, decimal_places=6, default=0)
    peak_seconds = models.BigIntegerField(default=0)
    off_peak_seconds = models.BigIntegerField(default=0)
    hourly = models.DecimalField(max_digits=16, decimal_places=6, default=0)
    off_peak_hourly = models.DecimalField(max_digits=16, decimal_places=6, default=0)
    discount = models.DecimalField(max_digits=5, decimal_places=4, default=0)
    exact_fen = models.DecimalField(max_digits=20, decimal_places=6)
    amount_fen = models.BigIntegerField()

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [models.UniqueConstraint(fields=["invoice", "position"], name="invoice_line_position_unique")]

    def __str__(self) -> str:
        return f"{self.invoice_id} #{self.position}"


class FapiaoRequest(models.Model):
    """A customer's request for a 发票 (Chinese VAT invoice) for one of its invoices. Staff issue it outside
    the platform (the tax system) and enter its number and date here, or reject it with a reason."""

    class Kind(models.TextChoices):
        ORDINARY = "ordinary", _("Ordinary VAT invoice (普通发票)")
        SPECIAL = "special", _("Special VAT invoice (专用发票)")

    class State(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        ISSUED = "issued", _("Issued")
        REJECTED = "rejected", _("Rejected")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="fapiao_requests",
                                verbose_name=_("invoice"))
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.PROTECT,
                                     related_name="fapiao_requests", verbose_name=_("organization"))
    kind = models.CharField(_("fapiao type"), max_length=10, choices=Kind.choices)
    title = models.CharField(_("invoice title"), max_length=200)
    tax_id = models.CharField(_("tax id"), max_length=20)
    amount_fen = models.BigIntegerField(_("amount (fen)"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.REQUESTED)
    fapiao_number = models.CharField(_("fapiao number"), max_length=20, blank=True)
    issued_on = models.DateField(_("issued on"), null=True, blank=True)
    reject_reason = models.CharField(_("reason"), max_length=300, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                     related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        verbose_name = _("fapiao request")
        verbose_name_plural = _("fapiao requests")
        constraints = [
            # At most one request per invoice that is not rejected: a second one is refused, even when
            # two arrive at once.
            models.UniqueConstraint(fields=["invoice"], condition=Q(state__in=["requested", "issued"]),
                                    name="billing_fapiao_one_open_per_invoice"),
            models.CheckConstraint(condition=~Q(state="issued") | (~Q(fapiao_number="") & Q(issued_on__isnull=False)),
                                   name="billing_fapiao_issued_has_number"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} {self.get_kind_display()} ({self.state})"
