import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .rules import PRIORITY_BANDS


def _priority_in_band() -> Q:
    """The database's backstop for rules.booking_band: each mode's priority range and preemptibility."""
    condition = Q()
    for mode, band in PRIORITY_BANDS.items():
        condition |= Q(billing_mode=mode, preemptible=band.preemptible, priority__gte=band.base,
                       priority__lte=band.top)
    return condition


class Workload(models.Model):
    """An instance or batch job a customer asked for: what it needs, where it may run, and its state."""

    class Kind(models.TextChoices):
        INSTANCE = "instance", _("Interactive instance")
        BATCH = "batch", _("Batch job")

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        PLACED = "placed", _("Placed")
        STARTING = "starting", _("Starting")
        RUNNING = "running", _("Running")
        STOPPING = "stopping", _("Stopping")
        STOPPED = "stopped", _("Stopped")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        PREEMPTED = "preempted", _("Preempted")
        LOST = "lost", _("Lost")

    class BillingMode(models.TextChoices):
        ON_DEMAND = "on_demand", _("On demand")
        RESERVED = "reserved", _("Reserved")
        SPOT = "spot", _("Spot (interruptible)")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.PROTECT, related_name="workloads")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.BATCH)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.PENDING, db_index=True)
    billing_mode = models.CharField(_("billing mode"), max_length=12, choices=BillingMode.choices,
                                    default=BillingMode.ON_DEMAND)

    # What it needs (one GPU shape: whole cards, one fractional slice, or one MIG/vNPU profile).
    cpu_milli = models.PositiveIntegerField(_("CPU (milli-cores)"), default=1000)
    memory_mib = models.PositiveIntegerField(_("memory (MiB)"), default=4096)
    gpu_count = models.PositiveSmallIntegerField(_("whole cards"), default=0)
    gpu_milli = models.PositiveSmallIntegerField(_("slice compute (milli-GPU)"), default=0)
    gpu_memory_mib = models.PositiveIntegerField(_("slice memory (MiB)"), default=0)
    profile = models.CharField(_("profile"), max_length=40, blank=True)
    accelerator_models = models.JSONField(_("accelerator models"), default=list, blank=True,
                              help_text=_("catalog codes; empty = any"))
    vendors = models.JSONField(_("vendors"), default=list, blank=True)
    min_gpu_memory_mib = models.PositiveIntegerField(_("minimum card memory (MiB)"), default=0)
    min_fp16_tflops = models.DecimalField(_("minimum FP16 TFLOPS"), max_digits=8, decimal_places=1, default=0)
    preferred_region = models.ForeignKey("catalog.Region", on_delete=models.PROTECT, related_name="+")
    allowed_regions = models.JSONField(_("allowed regions"), default=list, blank=True,
                                       help_text=_("region codes it may overflow to; empty = preferred only"))
    priority = models.SmallIntegerField(_("priority"), default=0)
    preemptible = models.BooleanField(_("preemptible"), default=False)
    spec = models.JSONField(_("run spec"), default=dict, blank=True, help_text=_("command, env"))
    image = models.CharField(_("image"), max_length=40, blank=True,
                             help_text=_("key of a curated image (apps/booking/images.py); empty = the node's "
                                         "own environment"))
    # Instances default to True and batch jobs to False (workload_submit): re-running a job that may have
    # written half its output is the customer's call; an interactive instance just comes back elsewhere.
    restartable = models.BooleanField(_("restart automatically if its node is lost"), default=False)
    # Reserved billing only: the paid-for window. Not placed before window_start, stopped at window_end.
    window_start = models.DateTimeField(_("reserved from"), null=True, blank=True)
    window_end = models.DateTimeField(_("reserved until"), null=True, blank=True)
    restarts = models.PositiveIntegerField(_("restarts"), default=0,
                                           help_text=_("how many times it was run again (by the customer or "
                                                       "after a lost node)"))
    auto_restarts = models.PositiveSmallIntegerField(
        _("automatic restarts"), default=0,
        help_text=_("re-placements after a lost node since the customer last started it"))

    pending_reason = models.TextField(_("why pending"), blank=True)
    # The same reasons as message ids and parameters (apps.core.reasons), for pages in either language.
    pending_reason_data = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    placed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "preferred_region"], name="workload_pending_idx")]
        constraints = [
            models.CheckConstraint(
                condition=(Q(gpu_count__gt=0, gpu_milli=0, profile="")
                           | Q(gpu_count=0, gpu_milli__gt=0, gpu_milli__lt=1000, profile="")
                           | Q(gpu_count=0, gpu_milli=0) & ~Q(profile="")),
                name="workload_one_gpu_shape"),
            models.CheckConstraint(
                condition=(Q(billing_mode="reserved", window_start__isnull=False,
                             window_end__gt=models.F("window_start"))
                           | ~Q(billing_mode="reserved") & Q(window_start__isnull=True, window_end__isnull=True)),
                name="workload_reserved_has_window"),
            models.CheckConstraint(condition=_priority_in_band(), name="workload_priority_in_band"),
        ]

    def __str__(self) -> str:
        return self.name

    def pending_reasons_set(self, reasons: list[str]) -> list[str]:
        """Record why it waits (English text, and message data for translation); returns the fields to save."""
        self.pending_reason = "; ".join(reasons)
        from apps.core.reasons import reason_data

        self.pending_reason_data = [reason_data(reason) or {"text": str(reason)} for reason in reasons]
        return ["pending_reason", "pending_reason_data"]

    def clean(self) -> None:
        from .validation import workload_validate

        workload_validate(self)


class WorkloadEvent(models.Model):
    """The workload's timeline: every state change with the reason a customer can read."""

    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=12, choices=Workload.State.choices, blank=True)
    to_state = models.CharField(max_length=12, choices=Workload.State.choices)
    reason = models.TextField(blank=True)
    # The reason's message id and parameters (apps.core.reasons), so pages show it in the reader's language.
    reason_data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.workload_id}: {self.from_state} → {self.to_state}"


class IdempotencyKey(models.Model):
    """A create request's Idempotency-Key: the same key (from the same organization) returns the same
    workload instead of booking twice."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    workload = models.ForeignKey(Workload, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "key"], name="idempotency_key_unique")]

    def __str__(self) -> str:
        return self.key


class OrganizationQuota(models.Model):
    """How much an organization may run at once, set by the platform (Django admin). An empty limit
    means the platform default (settings TIDEGRID_QUOTA_MAX_CARDS / TIDEGRID_QUOTA_MAX_SLICES). The row
    is also the lock that serializes an organization's submits, so concurrent bookings cannot together
    exceed it."""

    organization = models.OneToOneField("tenancy.Organization", on_delete=models.CASCADE, related_name="quota",
                                        primary_key=True)
    max_cards = models.PositiveIntegerField(_("most whole cards at a time"), null=True, blank=True,
                                            help_text=_("empty = platform default"))
    max_slices = models.PositiveIntegerField(_("most slices at a time"), null=True, blank=True,
                                             help_text=_("fractional or profile slices; empty = platform default"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("organization quota")
        verbose_name_plural = _("organization quotas")

    def __str__(self) -> str:
        return f"quota of {self.organization_id}"
