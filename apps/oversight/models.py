from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class DeviceStateSpan(models.Model):
    """What the server observed one device to be, from ``started_at`` to ``ended_at``: written by the
    observer job (services.device_states_observe), which extends the open span while the state holds.
    Time no span covers was not observed and counts as not registered."""

    class State(models.TextChoices):
        IN_SERVICE = "in_service", _("In service")
        MAINTENANCE = "maintenance", _("Maintenance")
        QUARANTINE = "quarantine", _("Quarantined")
        UNREACHABLE = "unreachable", _("Unreachable")

    id = models.BigAutoField(primary_key=True)
    device = models.ForeignKey("catalog.Device", on_delete=models.CASCADE, related_name="+")
    state = models.CharField(max_length=12, choices=State.choices)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["device", "ended_at"], name="statespan_device_end_idx"),
                   models.Index(fields=["started_at"], name="statespan_start_idx")]
        constraints = [models.CheckConstraint(condition=Q(ended_at__gte=models.F("started_at")),
                                              name="statespan_ordered")]

    def __str__(self) -> str:
        return f"{self.device_id} {self.state} {self.started_at:%Y-%m-%d %H:%M}–{self.ended_at:%H:%M}"


class DeviceDay(models.Model):
    """One device's day (in settings.TIME_ZONE), precomputed by the daily rollup (idempotent: a day is
    deleted and written again). Dimensions are copied so KPI queries read one table."""

    day = models.DateField()
    device = models.ForeignKey("catalog.Device", on_delete=models.CASCADE, related_name="+")
    node = models.ForeignKey("catalog.Node", on_delete=models.CASCADE, related_name="+")
    cluster = models.ForeignKey("catalog.Cluster", on_delete=models.CASCADE, related_name="+")
    provider = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+")
    region = models.ForeignKey("catalog.Region", on_delete=models.CASCADE, related_name="+")
    model = models.ForeignKey("catalog.AcceleratorModel", null=True, on_delete=models.SET_NULL, related_name="+")
    vendor = models.CharField(max_length=20, blank=True)
    domestic = models.BooleanField(default=False)
    fp16_tflops = models.FloatField(default=0)
    registered_s = models.FloatField(default=0)
    in_service_s = models.FloatField(default=0)
    maintenance_s = models.FloatField(default=0)
    quarantine_s = models.FloatField(default=0)
    unreachable_s = models.FloatField(default=0)
    allocated_share_s = models.FloatField(default=0, help_text=_("Σ share of the card × in-service seconds"))
    utilized_s = models.FloatField(default=0, help_text=_("Σ utilization reading × in-service seconds"))
    energy_j = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "device"], name="deviceday_unique")]
        indexes = [models.Index(fields=["region", "day"], name="deviceday_region_day_idx")]

    def __str__(self) -> str:
        return f"{self.device_id} {self.day}"


class ConsumptionDay(models.Model):
    """What one customer consumed of one device in one day (allocated share-seconds while in service),
    with the customer's profile as it was at rollup time."""

    device_day = models.ForeignKey(DeviceDay, on_delete=models.CASCADE, related_name="consumption")
    customer = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+")
    customer_region = models.ForeignKey("catalog.Region", null=True, on_delete=models.SET_NULL, related_name="+")
    industry = models.CharField(max_length=20, blank=True)
    size_class = models.CharField(max_length=10, blank=True)
    share_s = models.FloatField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device_day", "customer"], name="consumptionday_unique")]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.device_day_id}: {self.share_s}"


class KpiTarget(models.Model):
    """An operator's target for one KPI: green at or above ``green_at``, amber at or above ``amber_at``,
    red below (every KPI with a target is better when higher)."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+")
    kpi = models.CharField(_("KPI"), max_length=40)
    green_at = models.FloatField(_("green at or above"))
    amber_at = models.FloatField(_("amber at or above"))
    status = models.CharField(max_length=8, blank=True, help_text=_("last status the alert check saw"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kpi"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "kpi"], name="kpitarget_unique"),
            models.CheckConstraint(condition=Q(amber_at__lte=models.F("green_at")), name="kpitarget_amber_le_green"),
        ]

    def __str__(self) -> str:
        return f"{self.kpi} ≥ {self.green_at}"


class KpiAlert(models.Model):
    """A KPI turned red: e-mailed once, shown once on the dashboard (``shown_at`` set when shown)."""

    organization = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+")
    kpi = models.CharField(max_length=40)
    period_start = models.DateField()
    value = models.FloatField(null=True)
    green_at = models.FloatField()
    amber_at = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)
    shown_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kpi} red since {self.created_at:%Y-%m-%d}"


class SummedDay(models.Model):
    """Device-days of one accelerator model summed over a cluster (ClusterDay) or a node (NodeDay): the
    same measures as DeviceDay, written by the same rollup."""

    day = models.DateField()
    cluster = models.ForeignKey("catalog.Cluster", on_delete=models.CASCADE, related_name="+")
    provider = models.ForeignKey("tenancy.Organization", on_delete=models.CASCADE, related_name="+")
    region = models.ForeignKey("catalog.Region", on_delete=models.CASCADE, related_name="+")
    model = models.ForeignKey("catalog.AcceleratorModel", null=True, on_delete=models.SET_NULL, related_name="+")
    vendor = models.CharField(max_length=20, blank=True)
    domestic = models.BooleanField(default=False)
    devices = models.IntegerField(default=0)
    registered_s = models.FloatField(default=0)
    in_service_s = models.FloatField(default=0)
    maintenance_s = models.FloatField(default=0)
    quarantine_s = models.FloatField(default=0)
    unreachable_s = models.FloatField(default=0)
    allocated_share_s = models.FloatField(default=0)
    utilized_s = models.FloatField(default=0)
    energy_j = models.FloatField(default=0)
    onboarded_tflops_s = models.FloatField(default=0)
    delivered_tflops_s = models.FloatField(default=0)

    class Meta:
        abstract = True


class ClusterDay(SummedDay):
    """The device-days of one cluster and accelerator model summed (written by the same rollup): what
    jurisdiction, region, provider and cluster pages read — a few thousand rows for a quarter of 1,000
    nodes instead of 720,000. Node and device views read DeviceDay."""


    class Meta:
        indexes = [models.Index(fields=["region", "day"], name="clusterday_region_day_idx"),
                   models.Index(fields=["day"], name="clusterday_day_idx")]

    def __str__(self) -> str:
        return f"{self.cluster_id} {self.day}"


class ClusterConsumptionDay(models.Model):
    """ConsumptionDay summed per cluster-day and customer profile (region, industry, size)."""

    cluster_day = models.ForeignKey(ClusterDay, on_delete=models.CASCADE, related_name="consumption")
    customer_region = models.ForeignKey("catalog.Region", null=True, on_delete=models.SET_NULL, related_name="+")
    industry = models.CharField(max_length=20, blank=True)
    size_class = models.CharField(max_length=10, blank=True)
    share_s = models.FloatField(default=0)
    delivered_tflops_s = models.FloatField(default=0)

    def __str__(self) -> str:
        return f"{self.cluster_day_id}: {self.share_s}"


class NodeDay(SummedDay):
    """The device-days of one node and accelerator model summed: what node views and breakdowns by node
    read (90,000 rows for a quarter of 1,000 nodes instead of 720,000 device-days)."""

    node = models.ForeignKey("catalog.Node", on_delete=models.CASCADE, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["region", "day"], name="nodeday_region_day_idx"),
                   models.Index(fields=["node", "day"], name="nodeday_node_day_idx")]

    def __str__(self) -> str:
        return f"{self.node_id} {self.day}"


class NodeConsumptionDay(models.Model):
    """ConsumptionDay summed per node-day and customer profile (region, industry, size)."""

    node_day = models.ForeignKey(NodeDay, on_delete=models.CASCADE, related_name="consumption")
    customer_region = models.ForeignKey("catalog.Region", null=True, on_delete=models.SET_NULL, related_name="+")
    industry = models.CharField(max_length=20, blank=True)
    size_class = models.CharField(max_length=10, blank=True)
    share_s = models.FloatField(default=0)
    delivered_tflops_s = models.FloatField(default=0)

    def __str__(self) -> str:
        return f"{self.node_day_id}: {self.share_s}"
