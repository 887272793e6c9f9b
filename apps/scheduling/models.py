from django.db import models
from django.utils.translation import gettext_lazy as _


class Allocation(models.Model):
    """A slice of one device (and a share of its node's CPU and memory) held by a workload."""

    workload = models.ForeignKey("booking.Workload", on_delete=models.PROTECT, related_name="allocations")
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.PROTECT, related_name="+",
                                     help_text=_("the customer"))
    node = models.ForeignKey("catalog.Node", on_delete=models.PROTECT, related_name="allocations")
    device = models.ForeignKey("catalog.Device", on_delete=models.PROTECT, related_name="allocations",
                               null=True, blank=True)
    compute_milli = models.PositiveIntegerField()
    memory_mib = models.PositiveIntegerField()
    cpu_milli = models.PositiveIntegerField(default=0)
    host_memory_mib = models.PositiveIntegerField(default=0)
    profile = models.CharField(max_length=40, blank=True)
    assignment = models.ForeignKey("telemetry.Assignment", null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="allocations")
    created_at = models.DateTimeField(auto_now_add=True)
    released_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["device", "released_at"], name="allocation_device_active_idx")]

    def __str__(self) -> str:
        return f"{self.workload_id} on {self.device_id} ({self.compute_milli} milli)"


class PlacementDecision(models.Model):
    """Every answer of the engine for a workload, with its score breakdown or the reasons it could not
    be placed — what a customer sees as "why is this pending"."""

    class Outcome(models.TextChoices):
        PLACED = "placed", _("Placed")
        UNSCHEDULABLE = "unschedulable", _("Could not be placed")
        CONFLICT = "conflict", _("Capacity changed while placing; retried")

    workload = models.ForeignKey("booking.Workload", on_delete=models.CASCADE, related_name="decisions")
    region = models.CharField(max_length=40)
    policy = models.CharField(max_length=20)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    node = models.ForeignKey("catalog.Node", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    score = models.JSONField(default=dict, blank=True)
    reasons = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.workload_id}: {self.outcome}"
