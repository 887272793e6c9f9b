from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from apps.catalog.models import AcceleratorModel, Region

from ..models import Workload, WorkloadEvent


class RunSpecSerializer(serializers.Serializer):
    image = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    command = serializers.ListField(child=serializers.CharField(max_length=4096), max_length=200, required=False,
                                   default=list)
    env = serializers.DictField(child=serializers.CharField(max_length=4096, allow_blank=True), required=False,
                                default=dict)

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
    priority = serializers.IntegerField(min_value=0, max_value=100, default=0)
    spec = RunSpecSerializer(required=False)

    class Meta:
        model = Workload
        fields = ["name", "kind", "billing_mode", "cpu_milli", "memory_mib", "gpu_count", "gpu_milli",
                  "gpu_memory_mib", "profile", "accelerator_models", "vendors", "min_gpu_memory_mib",
                  "min_fp16_tflops", "preferred_region", "allowed_regions", "priority", "preemptible", "spec"]
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
        shapes = [bool(attrs.get("gpu_count")), bool(attrs.get("gpu_milli")), bool(attrs.get("profile"))]
        if sum(shapes) != 1:
            raise serializers.ValidationError({"gpu_count": [_(
                "Ask for exactly one GPU shape: whole cards (gpu_count), a fractional slice (gpu_milli and "
                "gpu_memory_mib) or a profile.")]})
        if attrs.get("gpu_milli") and not 0 < attrs["gpu_milli"] < 1000:
            raise serializers.ValidationError({"gpu_milli": [_("A slice is between 1 and 999 milli-GPU; "
                                                               "ask for gpu_count for whole cards.")]})
        if attrs.get("gpu_milli") and not attrs.get("gpu_memory_mib"):
            raise serializers.ValidationError({"gpu_memory_mib": [_("A slice needs its GPU memory (MiB).")]})
        return attrs


class WorkloadEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = WorkloadEvent
        fields = ["from_state", "to_state", "reason", "at"]


class WorkloadSerializer(serializers.ModelSerializer):
    preferred_region = serializers.SlugRelatedField(slug_field="code", read_only=True)
    events = WorkloadEventSerializer(many=True, read_only=True)
    placement = serializers.SerializerMethodField()
    run = serializers.SerializerMethodField()

    class Meta:
        model = Workload
        fields = ["id", "name", "kind", "state", "billing_mode", "cpu_milli", "memory_mib", "gpu_count", "gpu_milli",
                  "gpu_memory_mib", "profile", "accelerator_models", "vendors", "min_gpu_memory_mib",
                  "min_fp16_tflops", "preferred_region", "allowed_regions", "priority", "preemptible", "spec",
                  "pending_reason", "created_at", "placed_at", "placement", "run", "events"]
        read_only_fields = fields

    def get_placement(self, workload) -> list[dict]:
        # What a customer may know: where and on what, not the provider's internal host names.
        return [{"region": a.node.cluster.region.code, "model": a.device.model.code if a.device and a.device.model
                 else None, "compute_milli": a.compute_milli, "memory_mib": a.memory_mib, "profile": a.profile,
                 "released": a.released_at is not None}
                for a in workload.allocations.all()]

    def get_run(self, workload) -> dict | None:
        assignment = next((a.assignment for a in workload.allocations.all() if a.assignment_id), None)
        if assignment is None:
            return None
        return {"state": assignment.state, "exit_code": assignment.exit_code, "log_tail": assignment.log_tail,
                "connection": assignment.connection, "started_at": assignment.started_at,
                "finished_at": assignment.finished_at}
