from dataclasses import asdict

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.catalog.models import AcceleratorModel, Region

from ..images import image_choices
from ..models import Workload, WorkloadEvent
from ..rules import CUSTOMER_PRIORITY_MAX
from ..selectors import WorkloadDetail, workload_detail_context
from ..validation import gpu_shape_errors


class RunSpecSerializer(serializers.Serializer):
    command = serializers.ListField(child=serializers.CharField(max_length=4096), max_length=200, required=False,
                                    default=list,
                                    help_text="argv of the process; required for a batch job, optional for an "
                                              "instance (it then runs the image's own entrypoint)")
    env = serializers.DictField(child=serializers.CharField(max_length=4096, allow_blank=True), required=False,
                                default=dict)

    def to_internal_value(self, data):
        if isinstance(data, dict) and "image" in data:
            raise serializers.ValidationError({"image": [_(
                "Choose the image with the top-level “image” field: one of GET /api/v1/images/.")]})
        return super().to_internal_value(data)

    def validate_env(self, env):
        bad = [name for name in env if not name.replace("_", "").isalnum() or name[:1].isdigit()]
        if bad:
            raise serializers.ValidationError(_("Not valid environment variable names: %(names)s")
                                              % {"names": ", ".join(sorted(bad))})
        return env


class WorkloadCreateSerializer(serializers.ModelSerializer):
    preferred_region = serializers.SlugRelatedField(slug_field="code", queryset=Region.objects.all())
    allowed_regions = serializers.ListField(child=serializers.SlugField(), required=False, default=list,
                                            max_length=20)
    accelerator_models = serializers.ListField(child=serializers.SlugField(), required=False, default=list,
                                               max_length=30)
    vendors = serializers.ListField(child=serializers.ChoiceField(choices=AcceleratorModel.Vendor.choices),
                                    required=False, default=list)
    priority = serializers.IntegerField(
        min_value=0, max_value=CUSTOMER_PRIORITY_MAX, default=0,
        help_text="orders your own work inside the billing mode's priority band (higher first); it never "
                  "moves a booking into another band: reserved work is queued first, then on-demand, then spot. "
                  "The stored priority is the band's plus this.")
    preemptible = serializers.BooleanField(
        required=False, help_text="ignored: set by billing_mode (spot is always preemptible, on-demand and "
                                  "reserved never)")
    image = serializers.ChoiceField(choices=image_choices(), required=False, allow_blank=True, default="",
                                    help_text="a key of GET /api/v1/images/; empty = the node's own environment")
    restartable = serializers.BooleanField(required=False, allow_null=True, default=None,
                                           help_text="re-place it automatically if its node is lost; "
                                                     "default: true for instances, false for batch jobs")
    window_start = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                             help_text="reserved billing only: start of the window")
    window_end = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                           help_text="reserved billing only: end of the window")
    spec = RunSpecSerializer(required=False)

    class Meta:
        model = Workload
        fields = ["name", "kind", "billing_mode", "cpu_milli", "memory_mib", "gpu_count", "gpu_milli",
                  "gpu_memory_mib", "profile", "accelerator_models", "vendors", "min_gpu_memory_mib",
                  "min_fp16_tflops", "preferred_region", "allowed_regions", "priority", "preemptible", "image",
                  "restartable", "window_start", "window_end", "spec"]
        extra_kwargs = {"cpu_milli": {"min_value": 100, "max_value": 512_000},
                        "memory_mib": {"min_value": 128, "max_value": 4_194_304},
                        "gpu_count": {"max_value": 8}}

    def validate_allowed_regions(self, codes):
        unknown = sorted(set(codes) - set(Region.objects.filter(code__in=codes).values_list("code", flat=True)))
        if unknown:
            raise serializers.ValidationError(_("Unknown regions: %(codes)s") % {"codes": ", ".join(unknown)})
        return codes

    def validate_accelerator_models(self, codes):
        known = set(AcceleratorModel.objects.filter(code__in=codes).values_list("code", flat=True))
        unknown = sorted(set(codes) - known)
        if unknown:
            raise serializers.ValidationError(_("Unknown accelerator models: %(codes)s")
                                              % {"codes": ", ".join(unknown)})
        return codes

    def validate(self, attrs):
        errors = gpu_shape_errors(gpu_count=attrs.get("gpu_count", 0), gpu_milli=attrs.get("gpu_milli", 0),
                                  gpu_memory_mib=attrs.get("gpu_memory_mib", 0), profile=attrs.get("profile", ""))
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class WorkloadEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkloadEvent
        fields = ["from_state", "to_state", "reason", "at"]


class PlacementSerializer(serializers.Serializer):
    node = serializers.CharField(help_text="hostname of the node")
    region = serializers.CharField()
    device_index = serializers.IntegerField(allow_null=True)
    model = serializers.CharField(allow_null=True, help_text="catalog code of the accelerator")
    model_name = serializers.CharField(allow_null=True)
    compute_milli = serializers.IntegerField()
    memory_mib = serializers.IntegerField()
    profile = serializers.CharField()
    released = serializers.BooleanField()


class RunSerializer(serializers.Serializer):
    state = serializers.CharField()
    exit_code = serializers.IntegerField(allow_null=True)
    log_tail = serializers.CharField()
    connection = serializers.DictField(child=serializers.CharField())
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


_WORKLOAD_FIELDS = ["id", "name", "kind", "state", "billing_mode", "cpu_milli", "memory_mib", "gpu_count",
                    "gpu_milli", "gpu_memory_mib", "profile", "accelerator_models", "vendors", "min_gpu_memory_mib",
                    "min_fp16_tflops", "preferred_region", "allowed_regions", "priority", "preemptible", "image",
                    "restartable", "window_start", "window_end", "spec", "restarts", "pending_reason",
                    "created_at", "placed_at"]


class WorkloadSerializer(serializers.ModelSerializer):
    """A workload in a listing: what it asked for, its state, where it runs and its latest run."""

    preferred_region = serializers.SlugRelatedField(slug_field="code", read_only=True)
    placement = serializers.SerializerMethodField()
    run = serializers.SerializerMethodField()
    with_queue = False  # a listing skips the queue position (one query per pending workload)

    class Meta:
        model = Workload
        fields = [*_WORKLOAD_FIELDS, "placement", "run"]
        read_only_fields = fields

    def _detail(self, workload) -> WorkloadDetail:
        cache = self.context.setdefault("_details", {})
        if workload.pk not in cache:
            cache[workload.pk] = workload_detail_context(workload=workload, with_queue=self.with_queue)
        return cache[workload.pk]

    @extend_schema_field(PlacementSerializer(many=True))
    def get_placement(self, workload) -> list[dict]:
        return [asdict(p) for p in self._detail(workload).allocations]

    @extend_schema_field(RunSerializer(allow_null=True))
    def get_run(self, workload) -> dict | None:
        run = self._detail(workload).run
        return asdict(run) if run else None


class WorkloadDetailSerializer(WorkloadSerializer):
    """One workload: everything in the listing, plus its queue position, connection details, the run's
    exit code and log tail, and the timeline."""

    with_queue = True
    events = WorkloadEventSerializer(many=True, read_only=True)
    queue_position = serializers.SerializerMethodField(
        help_text="1 = next to be placed in its region; null unless it waits in the placement queue")
    status_reason = serializers.SerializerMethodField(help_text="why it is in its state (the latest event)")
    connection = serializers.SerializerMethodField(
        help_text="while it runs: `ssh` (a command ready to run) and `jupyter` (URL with its token), at the "
                  "cluster's public address where it declared one")
    exit_code = serializers.SerializerMethodField()
    log_tail = serializers.SerializerMethodField()

    class Meta(WorkloadSerializer.Meta):
        fields = [*WorkloadSerializer.Meta.fields, "queue_position", "status_reason", "connection", "exit_code",
                  "log_tail", "events"]
        read_only_fields = fields

    def get_queue_position(self, workload) -> int | None:
        return self._detail(workload).queue_position

    def get_status_reason(self, workload) -> str:
        return self._detail(workload).status_reason

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_connection(self, workload) -> dict:
        detail = self._detail(workload)
        connection = dict(detail.connection)
        if detail.access is not None:
            connection.update({key: value for key, value in (("ssh", detail.access.ssh_command),
                                                             ("jupyter", detail.access.jupyter_url)) if value})
        return connection

    def get_exit_code(self, workload) -> int | None:
        return self._detail(workload).exit_code

    def get_log_tail(self, workload) -> str:
        return self._detail(workload).log_tail


class ReservationExtendSerializer(serializers.Serializer):
    window_end = serializers.DateTimeField(help_text="the new end of the reserved window (later than the current)")


class ImageSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    ref = serializers.CharField(help_text="the container image reference it runs with")
    vendors = serializers.ListField(child=serializers.CharField(), help_text="accelerator vendors it runs on")
    description = serializers.CharField()


class QuotaSerializer(serializers.Serializer):
    max_cards = serializers.IntegerField(help_text="most whole cards the organization's workloads may hold at once")
    max_slices = serializers.IntegerField(help_text="most fractional or profile slices at once")
    used_cards = serializers.IntegerField(help_text="whole cards of workloads that are not finished")
    used_slices = serializers.IntegerField()
    cards_default = serializers.BooleanField(help_text="the platform default applies")
    slices_default = serializers.BooleanField()
