from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from apps.catalog.models import AcceleratorModel, Region
from apps.tenancy.models import Organization

from ..models import Application, Grant, HardwareClass, Program, RuleVersion, TaperStep


class TaperStepSerializer(serializers.ModelSerializer):
    hardware_class = serializers.ChoiceField(choices=HardwareClass.choices, required=False, allow_blank=True,
                                             default="")
    size_class = serializers.ChoiceField(choices=Organization.SizeClass.choices, required=False, allow_blank=True,
                                         default="")
    rate_bp = serializers.IntegerField(min_value=0, max_value=10_000,
                                       help_text=_("basis points of eligible usage the voucher pays (5000 = 50 %)"))
    starts_after_months = serializers.IntegerField(min_value=0, max_value=600, required=False, allow_null=True,
                                                   default=None)
    starts_on = serializers.DateField(required=False, allow_null=True, default=None)

    class Meta:
        model = TaperStep
        fields = ["rate_bp", "starts_on", "starts_after_months", "hardware_class", "size_class"]


class RuleVersionSerializer(serializers.ModelSerializer):
    steps = TaperStepSerializer(many=True)
    compute_regions = serializers.SlugRelatedField(slug_field="code", many=True, queryset=Region.objects.all(),
                                                   required=False)
    accelerator_models = serializers.SlugRelatedField(slug_field="code", many=True, required=False,
                                                      queryset=AcceleratorModel.objects.all())
    industries = serializers.ListField(child=serializers.CharField(max_length=20), required=False, max_length=20)
    size_classes = serializers.ListField(child=serializers.CharField(max_length=10), required=False, max_length=5)
    vendors = serializers.ListField(child=serializers.CharField(max_length=20), required=False, max_length=10)
    billing_modes = serializers.ListField(child=serializers.CharField(max_length=12), required=False, max_length=3)
    annual_cap_fen = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    grant_cap_fen = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)

    class Meta:
        model = RuleVersion
        fields = ["number", "effective_from", "published_at", "taper_basis", "steps", "annual_cap_fen",
                  "grant_cap_fen", "industries", "size_classes", "compute_regions", "vendors", "accelerator_models",
                  "billing_modes"]
        read_only_fields = ["number", "published_at"]


class BurnDownSerializer(serializers.Serializer):
    budget_fen = serializers.IntegerField()
    granted_fen = serializers.IntegerField()
    spent_fen = serializers.IntegerField()
    left_fen = serializers.IntegerField()
    spent_last_7_days_fen = serializers.IntegerField()
    runs_out_on = serializers.DateField(allow_null=True)


class ProgramSerializer(serializers.ModelSerializer):
    organization = serializers.UUIDField(source="organization_id", read_only=True)
    budget_fen = serializers.IntegerField(min_value=1, max_value=10**15)

    class Meta:
        model = Program
        fields = ["id", "organization", "name", "name_zh", "budget_fen", "valid_from", "valid_until", "state",
                  "redemption_mode", "killed_at", "kill_reason", "created_at"]
        read_only_fields = ["id", "organization", "state", "killed_at", "kill_reason", "created_at"]


class ProgramDetailSerializer(ProgramSerializer):
    versions = RuleVersionSerializer(many=True, read_only=True)
    burn_down = serializers.SerializerMethodField()

    class Meta(ProgramSerializer.Meta):
        fields = [*ProgramSerializer.Meta.fields, "versions", "burn_down"]
        read_only_fields = fields

    def get_burn_down(self, program) -> BurnDownSerializer:
        from ..selectors import burn_down

        return BurnDownSerializer(burn_down(program)).data


class TransitionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=["open", "pause", "close", "kill"])
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ApplicationSerializer(serializers.ModelSerializer):
    program = serializers.PrimaryKeyRelatedField(queryset=Program.objects.all())
    organization = serializers.UUIDField(source="organization_id", read_only=True)
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    requested_fen = serializers.IntegerField(min_value=1, max_value=10**15)
    attachment = serializers.FileField(required=False, allow_null=True, write_only=True)
    has_attachment = serializers.SerializerMethodField()
    grant = serializers.SerializerMethodField()

    class Meta:
        model = Application
        fields = ["id", "program", "organization", "organization_name", "description", "requested_fen",
                  "attachment", "has_attachment", "state", "decision_reason", "decided_at", "created_at", "grant"]
        read_only_fields = ["id", "state", "decision_reason", "decided_at", "created_at"]

    def get_has_attachment(self, application) -> bool:
        return bool(application.attachment)

    def get_grant(self, application) -> str | None:
        grant = Grant.objects.filter(application=application).values_list("pk", flat=True).first()
        return str(grant) if grant else None


class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "request_info", "reject"])
    reason = serializers.CharField(max_length=2000)
    amount_fen = serializers.IntegerField(min_value=1, max_value=10**15, required=False)
    starts_on = serializers.DateField(required=False)


class GrantSerializer(serializers.Serializer):
    id = serializers.UUIDField(source="grant.pk")
    program = serializers.UUIDField(source="grant.program_id")
    program_name = serializers.CharField(source="grant.program.name")
    program_name_zh = serializers.CharField(source="grant.program.name_zh")
    amount_fen = serializers.IntegerField(source="grant.amount_fen")
    starts_on = serializers.DateField(source="grant.starts_on")
    state = serializers.CharField(source="grant.state")
    rate_bp = serializers.IntegerField(help_text=_("today's rate on imported chips"))
    next_step_at = serializers.DateTimeField(allow_null=True)
    next_rate_bp = serializers.IntegerField(allow_null=True)
    balance_fen = serializers.IntegerField()
    annual_cap_fen = serializers.IntegerField(allow_null=True)
    annual_left_fen = serializers.IntegerField(allow_null=True)


class VoucherLineSerializer(serializers.Serializer):
    transaction = serializers.UUIDField(source="pk")
    created_at = serializers.DateTimeField()
    memo = serializers.CharField()
    amount_fen = serializers.SerializerMethodField()
    voucher_fen = serializers.SerializerMethodField()
    copay_fen = serializers.SerializerMethodField()
    limited_by = serializers.SerializerMethodField()
    refused = serializers.SerializerMethodField()

    def get_amount_fen(self, txn) -> int:
        return txn.details.get("amount_fen", 0)

    def get_voucher_fen(self, txn) -> int:
        return txn.details.get("voucher", {}).get("share_fen", 0)

    def get_copay_fen(self, txn) -> int:
        return txn.details.get("copay_fen", 0)

    def get_limited_by(self, txn) -> str:
        return txn.details.get("voucher", {}).get("limited_by", "")

    def get_refused(self, txn) -> list[str]:
        return [item.get("message", "") for item in txn.details.get("voucher", {}).get("refused", [])]


class IdleFlagSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    state = serializers.CharField()
    program = serializers.UUIDField(source="grant.program_id")
    organization = serializers.UUIDField(source="grant.organization_id")
    organization_name = serializers.CharField(source="grant.organization.name")
    usage_record = serializers.UUIDField(source="usage_record_id")
    started_at = serializers.DateTimeField(source="usage_record.started_at")
    samples = serializers.IntegerField()
    idle_samples = serializers.IntegerField()
    mean_utilization_pct = serializers.FloatField()
    held_fen = serializers.SerializerMethodField()
    released_fen = serializers.IntegerField()
    decision_reason = serializers.CharField()
    created_at = serializers.DateTimeField()

    def get_held_fen(self, flag) -> int:
        from ..models import UsageSubsidy

        return (UsageSubsidy.objects.filter(usage_record_id=flag.usage_record_id)
                .values_list("held_fen", flat=True).first() or 0)


class FlagDecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["release", "reject"])
    reason = serializers.CharField(max_length=2000)


class ClaimSerializer(serializers.Serializer):
    id = serializers.UUIDField(read_only=True)
    grant = serializers.UUIDField(source="grant_id")
    program = serializers.UUIDField(source="grant.program_id", read_only=True)
    organization_name = serializers.CharField(source="grant.organization.name", read_only=True)
    period_start = serializers.DateField(help_text=_("first day of the month claimed"))
    requested_fen = serializers.IntegerField(read_only=True)
    approved_fen = serializers.IntegerField(read_only=True)
    state = serializers.CharField(read_only=True)
    decision_reason = serializers.CharField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class ClaimDecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=["approve", "reject"])
    reason = serializers.CharField(max_length=2000)


class EstimateSerializer(serializers.Serializer):
    hourly = serializers.DecimalField(max_digits=16, decimal_places=6, coerce_to_string=True,
                                      help_text=_("CNY per hour at your prices"))
    voucher_hourly = serializers.DecimalField(max_digits=16, decimal_places=6, coerce_to_string=True,
                                              help_text=_("what the voucher would pay per hour"))
    you_pay_hourly = serializers.DecimalField(max_digits=16, decimal_places=6, coerce_to_string=True)
    rate_bp = serializers.IntegerField()
    grant = serializers.UUIDField(source="grant.pk", allow_null=True, default=None)
    program_name = serializers.CharField(source="grant.program.name", allow_null=True, default=None)
    eligible_regions = serializers.ListField(child=serializers.CharField(),
                                             help_text=_("regions where your vouchers count"))
    refused = serializers.ListField(child=serializers.DictField())


class RevenueMonthSerializer(serializers.Serializer):
    month = serializers.DateField()
    charges = serializers.IntegerField()
    charged_fen = serializers.IntegerField()
    voucher_fen = serializers.IntegerField(help_text=_("what vouchers paid of those charges"))
    provider_share_fen = serializers.IntegerField()
    voucher_funded_share_fen = serializers.IntegerField(help_text=_("the part of your share funded by vouchers"))


class SpikeFlagSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    program = serializers.UUIDField(source="program_id")
    organization = serializers.UUIDField(source="organization_id")
    organization_name = serializers.CharField(source="organization.name")
    day = serializers.DateField()
    subsidy_fen = serializers.IntegerField()
    baseline_fen = serializers.IntegerField()
    state = serializers.CharField()
    decision_reason = serializers.CharField()
    created_at = serializers.DateTimeField()


class SpikeCloseSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)
