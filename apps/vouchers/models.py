"""Compute vouchers (算力券): programmes run by government organizations, their frozen rule versions,
customers' applications and grants, and what each usage record was subsidised.

Money lives in the ledger (apps.ledger): each programme has a floored ``program_budget`` account, each
grant a floored ``voucher_credit`` account; the rows here hold the rules, the decisions and the
bookkeeping that limits need under a lock (the annual use per enterprise).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class RedemptionMode(models.TextChoices):
    DEDUCT = "deduct", _("Deducted at each charge")
    CLAIM = "claim", _("Claimed after settlement")
    KPI = "kpi", _("KPI-gated platform settlement")


class HardwareClass(models.TextChoices):
    DOMESTIC = "domestic", _("Domestic chips")
    IMPORTED = "imported", _("Imported chips")


class Program(models.Model):
    """A voucher programme of one government organization, valid only inside its jurisdiction."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open")
        PAUSED = "paused", _("Paused")
        CLOSED = "closed", _("Closed")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.PROTECT, related_name="voucher_programs",
                                     verbose_name=_("government organization"))
    name = models.CharField(_("name (English)"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    budget_fen = models.BigIntegerField(_("budget (fen)"), validators=[MinValueValidator(1)])
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), help_text=_("first day it no longer pays"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    redemption_mode = models.CharField(_("redemption mode"), max_length=10, choices=RedemptionMode.choices,
                                       default=RedemptionMode.DEDUCT)
    killed_at = models.DateTimeField(_("stopped by the kill switch at"), null=True, blank=True)
    kill_reason = models.CharField(_("why it was stopped"), max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("voucher programme")
        verbose_name_plural = _("voucher programmes")
        constraints = [
            models.CheckConstraint(condition=Q(budget_fen__gt=0), name="voucher_program_budget_positive"),
            models.CheckConstraint(condition=Q(valid_until__gt=models.F("valid_from")),
                                   name="voucher_program_window_ordered"),
            models.CheckConstraint(condition=Q(state__in=["draft", "open", "paused", "closed"]),
                                   name="voucher_program_state_valid"),
        ]

    def __str__(self) -> str:
        return self.name

    def display_name(self, language: str | None) -> str:
        return self.name_zh if (language or "").startswith("zh") else self.name

    @property
    def reference(self) -> str:
        """How the programme's ledger accounts are told apart."""
        return f"program:{self.pk}"


class RuleVersion(models.Model):
    """The rules of a programme from ``effective_from`` until the next published version. Published
    versions are frozen (a database trigger refuses edits to them and their steps): a change is a new
    version, so every subsidy can say which rules it was computed under."""

    class TaperBasis(models.TextChoices):
        CALENDAR = "calendar", _("By calendar date")
        GRANT_AGE = "grant_age", _("By the grant's age (months since its start)")

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    effective_from = models.DateTimeField(_("effective from"))
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    taper_basis = models.CharField(_("taper by"), max_length=10, choices=TaperBasis.choices,
                                   default=TaperBasis.GRANT_AGE)
    annual_cap_fen = models.BigIntegerField(_("cap per enterprise per calendar year (fen)"), null=True, blank=True,
                                            validators=[MinValueValidator(1)])
    grant_cap_fen = models.BigIntegerField(_("largest grant (fen)"), null=True, blank=True,
                                           validators=[MinValueValidator(1)])
    # Eligibility. Empty lists mean "any"; empty compute regions mean the programme's jurisdiction.
    industries = models.JSONField(_("industries"), default=list, blank=True)
    size_classes = models.JSONField(_("size classes"), default=list, blank=True)
    compute_regions = models.ManyToManyField("catalog.Region", blank=True, related_name="+",
                                             verbose_name=_("regions where the compute must run"))
    vendors = models.JSONField(_("chip vendors"), default=list, blank=True)
    accelerator_models = models.ManyToManyField("catalog.AcceleratorModel", blank=True, related_name="+",
                                                verbose_name=_("accelerator models"))
    billing_modes = models.JSONField(_("billing modes"), default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["program", "-number"]
        verbose_name = _("programme rule version")
        verbose_name_plural = _("programme rule versions")
        constraints = [
            models.UniqueConstraint(fields=["program", "number"], name="voucher_rule_version_number_unique"),
            models.UniqueConstraint(fields=["program", "effective_from"], condition=Q(published_at__isnull=False),
                                    name="voucher_rule_version_one_per_instant"),
            models.CheckConstraint(condition=Q(annual_cap_fen__isnull=True) | Q(annual_cap_fen__gt=0),
                                   name="voucher_rule_version_annual_cap_positive"),
            models.CheckConstraint(condition=Q(grant_cap_fen__isnull=True) | Q(grant_cap_fen__gt=0),
                                   name="voucher_rule_version_grant_cap_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.program} v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None


class TaperStep(models.Model):
    """From its start, the voucher pays ``rate_bp`` basis points of eligible usage (5000 = 50 %)."""

    version = models.ForeignKey(RuleVersion, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("position"))
    rate_bp = models.PositiveIntegerField(_("rate (basis points)"), validators=[MaxValueValidator(10_000)])
    starts_on = models.DateField(_("from date"), null=True, blank=True)
    starts_after_months = models.PositiveSmallIntegerField(_("after months of the grant"), null=True, blank=True)
    hardware_class = models.CharField(_("only for chips"), max_length=10, choices=HardwareClass.choices, blank=True)
    size_class = models.CharField(_("only for size class"), max_length=10, blank=True)

    class Meta:
        ordering = ["version", "position"]
        verbose_name = _("taper step")
        verbose_name_plural = _("taper steps")
        constraints = [
            models.UniqueConstraint(fields=["version", "position"], name="voucher_taper_step_position_unique"),
            models.CheckConstraint(condition=Q(rate_bp__lte=10_000), name="voucher_taper_step_rate_share"),
            models.CheckConstraint(condition=(Q(starts_on__isnull=False, starts_after_months__isnull=True)
                                              | Q(starts_on__isnull=True, starts_after_months__isnull=False)),
                                   name="voucher_taper_step_one_start"),
        ]

    def __str__(self) -> str:
        return f"{self.version}: {self.rate_bp} bp"


class Application(models.Model):
    class State(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        INFO_REQUESTED = "info_requested", _("More information requested")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="applications")
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.PROTECT,
                                     related_name="voucher_applications", verbose_name=_("applicant"))
    description = models.TextField(_("project description"), max_length=5000)
    requested_fen = models.BigIntegerField(_("requested amount (fen)"))
    attachment = models.FileField(_("attachment"), upload_to="voucher-applications/%Y/%m/", blank=True)
    state = models.CharField(_("state"), max_length=16, choices=State.choices, default=State.SUBMITTED)
    decision_reason = models.TextField(_("reason"), blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(_("submitted at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("voucher application")
        verbose_name_plural = _("voucher applications")
        constraints = [
            models.CheckConstraint(condition=Q(requested_fen__gt=0), name="voucher_application_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.organization} → {self.program}"


class Grant(models.Model):
    """What an organization may draw from a programme. The balance is its ``voucher_credit`` account."""

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        REVOKED = "revoked", _("Revoked")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="grants")
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.PROTECT, related_name="voucher_grants")
    application = models.OneToOneField(Application, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="grant")
    amount_fen = models.BigIntegerField(_("granted (fen)"))
    starts_on = models.DateField(_("starts on"), help_text=_("the taper clock starts here"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_on", "created_at"]
        verbose_name = _("voucher grant")
        verbose_name_plural = _("voucher grants")
        constraints = [
            models.UniqueConstraint(fields=["program", "organization"], name="voucher_grant_one_per_program"),
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="voucher_grant_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.program} · {self.organization}"

    @property
    def reference(self) -> str:
        return f"grant:{self.pk}"


class YearUse(models.Model):
    """How much one programme paid for one enterprise in one calendar year (the annual cap's counter).
    Written only under the programme's row lock, in the charge's transaction."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    used_fen = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["program", "organization", "year"], name="voucher_year_use_unique"),
            models.CheckConstraint(condition=Q(used_fen__gte=0), name="voucher_year_use_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.program_id} · {self.organization_id} · {self.year}: {self.used_fen}"


class UsageSubsidy(models.Model):
    """The one grant that funds a usage record (no stacking: one per record, enforced by the unique
    key) and what it has paid of it so far, or why it pays nothing."""

    usage_record = models.OneToOneField("billing.UsageRecord", on_delete=models.PROTECT, related_name="subsidy")
    grant = models.ForeignKey(Grant, null=True, blank=True, on_delete=models.PROTECT, related_name="subsidies")
    share_fen = models.BigIntegerField(default=0)
    held_fen = models.BigIntegerField(default=0, help_text=_("subsidy held while an idle flag is open"))
    claimable_fen = models.BigIntegerField(default=0, help_text=_("claim-after-settlement programmes: what the "
                                                                  "customer may claim for this record"))
    exact_fen = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    reason = models.CharField(max_length=300, blank=True, help_text=_("why no programme pays, when none does"))
    last_limited_by = models.CharField(max_length=20, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(share_fen__gte=0), name="voucher_subsidy_non_negative")]

    def __str__(self) -> str:
        return f"{self.usage_record_id}: {self.share_fen} fen"


class IdleFlag(models.Model):
    """Voucher-funded usage whose slice was idle for most of its measured seconds: its subsidy is held
    (not paid) until the programme's operator releases or rejects it, with a reason."""

    class State(models.TextChoices):
        OPEN = "open", _("Held, awaiting decision")
        RELEASED = "released", _("Released")
        REJECTED = "rejected", _("Rejected")

    usage_record = models.OneToOneField("billing.UsageRecord", on_delete=models.PROTECT, related_name="idle_flag")
    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="idle_flags")
    samples = models.PositiveIntegerField(_("samples"))
    idle_samples = models.PositiveIntegerField(_("idle samples"))
    mean_utilization_pct = models.FloatField(_("mean utilization (percent of a card)"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    released_fen = models.BigIntegerField(default=0)
    decision_reason = models.TextField(_("reason"), blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("flagged at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("idle-usage flag")
        verbose_name_plural = _("idle-usage flags")

    def __str__(self) -> str:
        return f"idle {self.usage_record_id} ({self.state})"


class Claim(models.Model):
    """Claim after settlement: after a month's invoice, the customer claims what a claim-mode grant
    would have paid of that month's usage; the operator approves (the wallet is credited, as far as the
    grant, the budget and the year's cap allow) or rejects, with a reason."""

    class State(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    grant = models.ForeignKey(Grant, on_delete=models.PROTECT, related_name="claims")
    period_start = models.DateField(_("month"))
    requested_fen = models.BigIntegerField(_("claimed (fen)"))
    approved_fen = models.BigIntegerField(_("paid (fen)"), default=0)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.SUBMITTED)
    decision_reason = models.TextField(_("reason"), blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(_("submitted at"), auto_now_add=True)

    class Meta:
        ordering = ["-period_start", "-created_at"]
        verbose_name = _("voucher claim")
        verbose_name_plural = _("voucher claims")
        constraints = [
            models.UniqueConstraint(fields=["grant", "period_start"], name="voucher_claim_one_per_month"),
            models.CheckConstraint(condition=Q(requested_fen__gt=0, approved_fen__gte=0),
                                   name="voucher_claim_amounts"),
        ]

    def __str__(self) -> str:
        return f"{self.grant} {self.period_start:%Y-%m}"


class DayUse(models.Model):
    """What a programme paid for an enterprise on one local day (for spike detection)."""

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="+")
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.PROTECT, related_name="+")
    day = models.DateField()
    used_fen = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["program", "organization", "day"],
                                               name="voucher_day_use_unique")]

    def __str__(self) -> str:
        return f"{self.program_id} · {self.organization_id} · {self.day}: {self.used_fen}"


class SpikeFlag(models.Model):
    """An enterprise's subsidy on one day far above its daily history: listed for the operator, who
    closes it with a reason (audited). The subsidy itself is not held."""

    class State(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="spike_flags")
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.PROTECT, related_name="+")
    day = models.DateField(_("day"))
    subsidy_fen = models.BigIntegerField(_("subsidy that day when flagged (fen)"))
    baseline_fen = models.BigIntegerField(_("average daily subsidy before (fen)"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.OPEN)
    decision_reason = models.TextField(_("reason"), blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("flagged at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("subsidy spike flag")
        verbose_name_plural = _("subsidy spike flags")
        constraints = [models.UniqueConstraint(fields=["program", "organization", "day"],
                                               name="voucher_spike_one_per_day")]

    def __str__(self) -> str:
        return f"spike {self.organization_id} {self.day}"
