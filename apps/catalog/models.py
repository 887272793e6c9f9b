import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _


class Region(models.Model):
    """A compute location (a data-centre city). Governments' jurisdictions are sets of regions."""

    code = models.SlugField(_("code"), max_length=40, unique=True, help_text=_("e.g. cn-shanghai"))
    name = models.CharField(_("name"), max_length=100)
    name_zh = models.CharField(_("Chinese name"), max_length=100)
    province = models.CharField(_("province"), max_length=100, blank=True)
    timezone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")
    hub = models.CharField(_("national hub"), max_length=40, blank=True,
                           help_text=_("东数西算 hub node the region belongs to"))
    peak_hours = models.JSONField(_("peak hours"), default=list, blank=True,
                                  help_text=_("Local [start, end) hours of the grid's peak tariff"))
    off_peak_hours = models.JSONField(_("off-peak hours"), default=list, blank=True,
                                      help_text=_("Local [start, end) hours of the grid's valley tariff"))
    electricity_cny_per_kwh = models.DecimalField(_("electricity price (CNY/kWh)"), max_digits=6, decimal_places=4,
                                                  null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    def display_name(self, language: str | None) -> str:
        return self.name_zh if (language or "").startswith("zh") else self.name


class RegionLatency(models.Model):
    """Round-trip latency between two regions, stored once per unordered pair (a < b)."""

    region_a = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="+")
    region_b = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="+")
    rtt_ms = models.PositiveIntegerField(_("round-trip time (ms)"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["region_a", "region_b"], name="region_latency_pair_unique"),
            models.CheckConstraint(condition=Q(region_a__lt=F("region_b")), name="region_latency_ordered_pair"),
        ]

    def __str__(self) -> str:
        return f"{self.region_a_id}–{self.region_b_id}: {self.rtt_ms} ms"


class AcceleratorModel(models.Model):
    class Vendor(models.TextChoices):
        NVIDIA = "nvidia", "NVIDIA"
        HUAWEI = "huawei", _("Huawei Ascend")
        ILUVATAR = "iluvatar", _("Iluvatar CoreX")
        CAMBRICON = "cambricon", _("Cambricon")
        HYGON = "hygon", _("Hygon")

    class Slicing(models.TextChoices):
        FRACTIONAL = "fractional", _("Fractional (compute share + memory)")
        MIG = "mig", _("MIG profiles")
        VNPU = "vnpu", _("vNPU templates")
        WHOLE = "whole", _("Whole card only")

    code = models.SlugField(_("code"), max_length=60, unique=True)
    vendor = models.CharField(_("vendor"), max_length=20, choices=Vendor.choices)
    name = models.CharField(_("name"), max_length=100)
    driver_names = models.JSONField(_("names reported by the driver"), default=list, blank=True)
    memory_mib = models.PositiveIntegerField(_("memory (MiB)"))
    memory_type = models.CharField(_("memory type"), max_length=20, blank=True)
    fp16_tflops = models.DecimalField(_("FP16 TFLOPS"), max_digits=8, decimal_places=1)
    fp32_tflops = models.DecimalField(_("FP32 TFLOPS"), max_digits=8, decimal_places=1, null=True, blank=True)
    tdp_w = models.PositiveIntegerField(_("TDP (W)"), null=True, blank=True)
    interconnect = models.CharField(_("interconnect"), max_length=100, blank=True)
    architecture = models.CharField(_("architecture"), max_length=60, blank=True)
    slicing = models.CharField(_("slicing mode"), max_length=12, choices=Slicing.choices)
    profiles = models.JSONField(_("slice profiles"), default=list, blank=True,
                                help_text=_("MIG profiles or vNPU templates: name, compute_milli, memory_mib, "
                                            "max_per_device"))

    class Meta:
        ordering = ["vendor", "-fp16_tflops"]
        verbose_name = _("accelerator model")
        verbose_name_plural = _("accelerator models")

    def __str__(self) -> str:
        return self.name


class Cluster(models.Model):
    class Kind(models.TextChoices):
        KUBERNETES = "kubernetes", _("Kubernetes")
        BARE_METAL = "bare_metal", _("Bare metal")

    class GpuSharing(models.TextChoices):
        # How the provider's device plugin shares cards: MIG/vNPU partitions (the chip's default where it
        # has them), HAMi-style compute-share + memory slices, or whole cards only.
        CHIP_DEFAULT = "chip_default", _("Chip default (MIG / vNPU profiles where supported)")
        FRACTIONAL = "fractional", _("Fractional slices (compute share + memory)")
        WHOLE = "whole", _("Whole cards only")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.PROTECT, related_name="clusters")
    name = models.CharField(_("name"), max_length=100)
    region = models.ForeignKey(Region, verbose_name=_("region"), on_delete=models.PROTECT, related_name="clusters")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.BARE_METAL)
    gpu_sharing = models.CharField(_("GPU sharing"), max_length=20, choices=GpuSharing.choices,
                                   default=GpuSharing.CHIP_DEFAULT)
    # The public address customers reach its nodes' instances at: the provider forwards each port of the
    # range on this host to the same port on the node whose agent handed it out (agents' SSH/Jupyter
    # port bases are set inside the range).
    public_host = models.CharField(_("public host"), max_length=253, blank=True)
    public_port_min = models.PositiveIntegerField(_("first public port"), null=True, blank=True)
    public_port_max = models.PositiveIntegerField(_("last public port"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("cluster")
        verbose_name_plural = _("clusters")
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="cluster_name_unique_per_org"),
        ]

    def __str__(self) -> str:
        return self.name

    def public_port(self, port: int | None) -> bool:
        """Whether customers reach this port of its nodes through the cluster's public address."""
        return (bool(self.public_host) and port is not None and self.public_port_min is not None
                and self.public_port_max is not None and self.public_port_min <= port <= self.public_port_max)

    def slicing_for(self, model: AcceleratorModel | None) -> str:
        """How cards of this model are sold in this cluster. Fractional sharing applies to chips that
        can be shared by compute share (HAMi-style: those sold fractionally or by MIG); Ascend vNPU
        templates and whole-only chips keep their own mode."""
        if model is None:
            return AcceleratorModel.Slicing.WHOLE
        if self.gpu_sharing == self.GpuSharing.WHOLE:
            return AcceleratorModel.Slicing.WHOLE
        if self.gpu_sharing == self.GpuSharing.FRACTIONAL and model.slicing in (
                AcceleratorModel.Slicing.FRACTIONAL, AcceleratorModel.Slicing.MIG):
            return AcceleratorModel.Slicing.FRACTIONAL
        return model.slicing


class Node(models.Model):
    """A GPU host with one agent. Two independent axes: what the provider decided (``state``) and what
    the heartbeats say (``liveness``); a node takes new work only when active and online."""

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        CORDONED = "cordoned", _("Cordoned")
        DRAINING = "draining", _("Draining")
        DECOMMISSIONED = "decommissioned", _("Decommissioned")

    class Liveness(models.TextChoices):
        ONLINE = "online", _("Online")
        UNREACHABLE = "unreachable", _("Unreachable")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.PROTECT, related_name="nodes")
    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="nodes")
    hostname = models.CharField(_("hostname"), max_length=255)
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.ACTIVE)
    liveness = models.CharField(_("liveness"), max_length=20, choices=Liveness.choices, default=Liveness.ONLINE)
    cpu_milli = models.PositiveIntegerField(_("CPU (milli-cores)"), default=0)
    memory_mib = models.PositiveIntegerField(_("memory (MiB)"), default=0)
    # Free counters for placement, guarded by CHECK constraints like the devices' (see Meta).
    cpu_free_milli = models.IntegerField(_("free CPU (milli-cores)"), default=0)
    memory_free_mib = models.IntegerField(_("free memory (MiB)"), default=0)
    labels = models.JSONField(_("labels"), default=dict, blank=True)
    agent_version = models.CharField(_("agent version"), max_length=40, blank=True)
    runtime = models.CharField(_("runtime"), max_length=20, blank=True)
    device_backend = models.CharField(_("device backend"), max_length=20, blank=True)
    enrolled_at = models.DateTimeField(_("enrolled at"), auto_now_add=True)
    # Not indexed on purpose: it changes on every heartbeat, and an index would turn each of those into
    # a non-HOT update; the liveness sweep scans the node table, which is small.
    last_heartbeat_at = models.DateTimeField(_("last heartbeat"), null=True, blank=True)
    last_seq = models.BigIntegerField(_("last report sequence"), default=0)
    # Reports whose assignment times lay outside what the server observed (clamped before billing):
    # a provider whose agents keep sending them is one staff should look at.
    agent_time_flags = models.PositiveIntegerField(_("clamped agent times"), default=0)
    agent_time_flagged_at = models.DateTimeField(_("last clamped agent time"), null=True, blank=True)

    class Meta:
        ordering = ["hostname"]
        verbose_name = _("node")
        verbose_name_plural = _("nodes")
        constraints = [
            models.UniqueConstraint(fields=["cluster", "hostname"], name="node_hostname_unique_per_cluster"),
            models.CheckConstraint(condition=Q(cpu_free_milli__gte=0) & Q(cpu_free_milli__lte=F("cpu_milli")),
                                   name="node_free_cpu_in_range"),
            models.CheckConstraint(condition=Q(memory_free_mib__gte=0) & Q(memory_free_mib__lte=F("memory_mib")),
                                   name="node_free_memory_in_range"),
        ]

    def __str__(self) -> str:
        return self.hostname

    @property
    def schedulable(self) -> bool:
        return self.state == self.State.ACTIVE and self.liveness == self.Liveness.ONLINE


class Device(models.Model):
    """One physical GPU/NPU. Free capacity counters are guarded by CHECK constraints so no bug above the
    database can oversubscribe a device."""

    class Health(models.TextChoices):
        OK = "ok", _("Healthy")
        DEGRADED = "degraded", _("Degraded")
        FAILED = "failed", _("Failed")
        QUARANTINED = "quarantined", _("Quarantined")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey("tenancy.Organization", on_delete=models.PROTECT, related_name="devices")
    node = models.ForeignKey(Node, on_delete=models.CASCADE, related_name="devices")
    uuid = models.CharField(_("device UUID"), max_length=100)
    index = models.PositiveSmallIntegerField(_("index"))
    model = models.ForeignKey(AcceleratorModel, verbose_name=_("model"), null=True, blank=True,
                              on_delete=models.PROTECT, related_name="devices")
    reported_name = models.CharField(_("reported name"), max_length=100)
    memory_total_mib = models.PositiveIntegerField(_("memory (MiB)"))
    health = models.CharField(_("health"), max_length=12, choices=Health.choices, default=Health.OK)
    health_reason = models.CharField(_("health reason"), max_length=300, blank=True)
    ecc_errors = models.BigIntegerField(_("ECC errors"), default=0)
    xid_errors = models.BigIntegerField(_("XID errors"), default=0)
    free_compute_milli = models.IntegerField(_("free compute (milli-GPU)"), default=1000)
    free_memory_mib = models.IntegerField(_("free memory (MiB)"), default=0)

    class Meta:
        ordering = ["node", "index"]
        verbose_name = _("device")
        verbose_name_plural = _("devices")
        constraints = [
            models.UniqueConstraint(fields=["node", "index"], name="device_index_unique_per_node"),
            models.UniqueConstraint(fields=["uuid"], name="device_uuid_unique"),
            models.CheckConstraint(condition=Q(free_compute_milli__gte=0) & Q(free_compute_milli__lte=1000),
                                   name="device_free_compute_in_range"),
            models.CheckConstraint(condition=Q(free_memory_mib__gte=0) & Q(free_memory_mib__lte=F("memory_total_mib")),
                                   name="device_free_memory_in_range"),
        ]

    def __str__(self) -> str:
        return f"{self.node.hostname}/{self.index} {self.reported_name}"


class ProviderProfile(models.Model):
    """A provider organization's vetting record: checked USCC (the organization's own), a contact and the
    agreed payout account. Only an approved provider's capacity is sold; a suspended provider's nodes are
    cordoned and its payable is held. Staff move it between states (see ``services.provider_*``)."""

    class State(models.TextChoices):
        DRAFT = "draft", _("Not submitted")
        PENDING = "pending", _("Awaiting review")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        SUSPENDED = "suspended", _("Suspended")

    organization = models.OneToOneField("tenancy.Organization", verbose_name=_("organization"),
                                        on_delete=models.CASCADE, related_name="provider_profile")
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.DRAFT)
    contact_name = models.CharField(_("contact name"), max_length=100, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=30, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    bank_name = models.CharField(_("bank"), max_length=100, blank=True,
                                 help_text=_("Bank and branch, e.g. 中国工商银行上海张江支行"))
    bank_account_name = models.CharField(_("account name"), max_length=200, blank=True,
                                         help_text=_("As registered with the bank: usually the company's legal name."))
    bank_account_number = models.CharField(_("account number"), max_length=40, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    reviewed_at = models.DateTimeField(_("reviewed at"), null=True, blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("reviewed by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(_("reason"), max_length=500, blank=True,
                              help_text=_("Why the provider was rejected or suspended (shown to the provider)."))
    # The nodes the suspension cordoned: reinstating uncordons these (if still cordoned), no others.
    suspension_cordoned_nodes = models.JSONField(default=list, blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("provider vetting")
        verbose_name_plural = _("provider vetting")
        ordering = ["-submitted_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["draft", "pending", "approved", "rejected", "suspended"]),
                name="provider_profile_state_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.organization} ({self.get_state_display()})"

    @property
    def editable(self) -> bool:
        """The provider may change the record until it is approved (then it is what staff checked)."""
        return self.state in (self.State.DRAFT, self.State.PENDING, self.State.REJECTED)

    @property
    def payable_held(self) -> bool:
        return self.state != self.State.APPROVED
