import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class Assignment(models.Model):
    """Work dispatched to a node: created by the scheduler from allocations, delivered to the node's agent
    in heartbeat replies (telemetry carries it), with the state the agent reports back."""

    class Desired(models.TextChoices):
        RUN = "run", _("Run")
        STOP = "stop", _("Stop")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting for the agent")
        STARTING = "starting", _("Starting")
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")
        STOPPED = "stopped", _("Stopped")
        LOST = "lost", _("Lost")

    FINAL_STATES = (State.SUCCEEDED, State.FAILED, State.STOPPED, State.LOST)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.PROTECT, related_name="+",
                                     help_text=_("the provider that owns the node"))
    node = models.ForeignKey("catalog.Node", on_delete=models.PROTECT, related_name="assignments")
    spec = models.JSONField(default=dict)
    desired = models.CharField(max_length=8, choices=Desired.choices, default=Desired.RUN)
    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING, db_index=True)
    exit_code = models.IntegerField(null=True, blank=True)
    log_tail = models.TextField(blank=True)
    connection = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When a heartbeat reply first handed the assignment to the agent (server clock): nothing is billed
    # before it, whatever the agent says.
    delivered_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_reported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "telemetry_assignment"  # moved from telemetry with its data: the table keeps its name
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["node", "state"], name="assignment_node_state_idx")]

    def __str__(self) -> str:
        return f"assignment {self.id} on {self.node_id} ({self.state})"

    @property
    def is_final(self) -> bool:
        return self.state in self.FINAL_STATES


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
    assignment = models.ForeignKey("scheduling.Assignment", null=True, blank=True, on_delete=models.SET_NULL,
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
