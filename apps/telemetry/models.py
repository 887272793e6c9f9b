import uuid

from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class BootstrapToken(models.Model):
    """A provider's token for enrolling nodes into one cluster. One-time by default; a fleet token with
    ``max_uses`` > 1 enrolls many simulated nodes (demo, load tests)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+")
    cluster = models.ForeignKey("catalog.Cluster", on_delete=models.CASCADE, related_name="bootstrap_tokens")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=16, editable=False)
    max_uses = models.PositiveIntegerField(_("max uses"), default=1)
    uses = models.PositiveIntegerField(_("uses"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(uses__lte=models.F("max_uses")),
                                              name="bootstrap_token_uses_within_max")]

    def __str__(self) -> str:
        return f"tgb_{self.prefix}_… ({self.uses}/{self.max_uses})"


class NodeCredential(models.Model):
    """The per-node secret the agent authenticates with. Only its SHA-256 is stored."""

    node = models.ForeignKey("catalog.Node", on_delete=models.CASCADE, related_name="credentials")
    bootstrap_token = models.ForeignKey(BootstrapToken, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="credentials", help_text=_("the token it was issued for"))
    credential_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=16, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"tgn_{self.prefix}_…"


class DeviceSample(models.Model):
    """One raw telemetry sample of one device, as reported (kept for TELEMETRY_RAW_RETENTION_HOURS)."""

    id = models.BigAutoField(primary_key=True)
    device = models.ForeignKey("catalog.Device", on_delete=models.CASCADE, related_name="+", db_index=False)
    node = models.ForeignKey("catalog.Node", on_delete=models.CASCADE, related_name="+", db_index=False)
    seq = models.BigIntegerField()
    collected_at = models.DateTimeField()
    received_at = models.DateTimeField()
    utilization_pct = models.FloatField()
    memory_used_mib = models.IntegerField()
    temperature_c = models.FloatField(null=True)
    power_w = models.FloatField(null=True)
    energy_mj = models.BigIntegerField(null=True)
    ecc_errors = models.BigIntegerField(default=0)
    xid_errors = models.BigIntegerField(default=0)
    health = models.CharField(max_length=12, default="ok")

    class Meta:
        indexes = [
            models.Index(fields=["device", "collected_at"], name="sample_device_time_idx"),
            # Rows arrive in time order, so a BRIN index serves retention and rollup range scans at a
            # fraction of a B-tree's insert cost (this table takes every sample of the fleet).
            BrinIndex(fields=["collected_at"], name="sample_time_brin"),
        ]

    def __str__(self) -> str:
        return f"sample {self.device_id} #{self.seq}"


class DeviceRollup(models.Model):
    """Per-device aggregates per minute or hour, for charts over 24 h and 7 d."""

    class Resolution(models.TextChoices):
        MINUTE = "minute", _("1 minute")
        HOUR = "hour", _("1 hour")

    device = models.ForeignKey("catalog.Device", on_delete=models.CASCADE, related_name="+")
    resolution = models.CharField(max_length=8, choices=Resolution.choices)
    bucket = models.DateTimeField()
    samples = models.IntegerField()
    utilization_avg = models.FloatField()
    utilization_max = models.FloatField()
    memory_used_avg_mib = models.FloatField()
    temperature_avg_c = models.FloatField(null=True)
    power_avg_w = models.FloatField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "resolution", "bucket"], name="rollup_unique_bucket")]
        indexes = [models.Index(fields=["resolution", "bucket"], name="rollup_resolution_bucket_idx")]

    def __str__(self) -> str:
        return f"{self.device_id} {self.resolution} {self.bucket:%Y-%m-%d %H:%M}"


class AssignmentSample(models.Model):
    """One reading of what a running assignment itself uses (its slice's utilization in % of a whole
    card, and memory), as the agent attributes it: the customer's own chart, without the rest of a
    shared card. Kept as long as raw device samples."""

    id = models.BigAutoField(primary_key=True)
    assignment = models.ForeignKey("scheduling.Assignment", on_delete=models.CASCADE, related_name="+",
                                   db_index=False)
    collected_at = models.DateTimeField()
    utilization_pct = models.FloatField()
    memory_used_mib = models.IntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["assignment", "collected_at"], name="asample_assignment_time_idx"),
            BrinIndex(fields=["collected_at"], name="asample_time_brin"),
        ]

    def __str__(self) -> str:
        return f"{self.assignment_id} at {self.collected_at}: {self.utilization_pct} %"


class DeviceUuidConflict(models.Model):
    """An enrollment that claimed a device UUID another node already holds. The enrollment is refused
    (409); staff check who really has the card and either release the UUID from the holder (the
    claimant's next enrollment then takes it) or dismiss the claim. Whoever enrolled first never blocks
    the real owner for good."""

    class Resolution(models.TextChoices):
        RELEASED = "released", _("UUID released to the claimant")
        DISMISSED = "dismissed", _("Claim dismissed")

    uuid = models.CharField(_("device UUID"), max_length=100)
    holder_node = models.ForeignKey("catalog.Node", null=True, on_delete=models.SET_NULL, related_name="+",
                                    verbose_name=_("holding node"))
    claimant_cluster = models.ForeignKey("catalog.Cluster", on_delete=models.CASCADE, related_name="+",
                                         verbose_name=_("claiming cluster"))
    claimant_hostname = models.CharField(_("claiming hostname"), max_length=255)
    attempts = models.PositiveIntegerField(_("attempts"), default=1)
    created_at = models.DateTimeField(_("first seen"), auto_now_add=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), auto_now=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("resolved by"))
    resolution = models.CharField(_("resolution"), max_length=12, choices=Resolution.choices, blank=True)

    class Meta:
        ordering = ["-last_attempt_at"]
        verbose_name = _("device UUID conflict")
        verbose_name_plural = _("device UUID conflicts")
        constraints = [models.UniqueConstraint(
            fields=["uuid", "claimant_cluster", "claimant_hostname"], condition=Q(resolved_at__isnull=True),
            name="device_uuid_conflict_open_once")]

    def __str__(self) -> str:
        return f"{self.uuid} claimed by {self.claimant_hostname}"
