from rest_framework import serializers

from oversight_verify.kpi import TARGETABLE

from ..periods import KINDS
from ..selectors import DIMENSIONS


class OversightQuerySerializer(serializers.Serializer):
    """Period and scope of every oversight endpoint (documentation: the selectors validate)."""

    period = serializers.ChoiceField(choices=KINDS, required=False, help_text="default: month")
    start = serializers.DateField(required=False, help_text="anchor date (first day for custom); default today")
    end = serializers.DateField(required=False, help_text="last day of a custom period")
    region = serializers.CharField(required=False, help_text="region code inside the jurisdiction")
    provider = serializers.UUIDField(required=False)
    cluster = serializers.UUIDField(required=False)
    node = serializers.UUIDField(required=False)
    vendor_class = serializers.ChoiceField(choices=["domestic", "imported"], required=False)
    model = serializers.CharField(required=False, help_text="accelerator model code")


class BreakdownQuerySerializer(OversightQuerySerializer):
    by = serializers.ChoiceField(choices=DIMENSIONS, required=False, help_text="default: the next drill-down level")


class ExportQuerySerializer(BreakdownQuerySerializer):
    format = serializers.ChoiceField(choices=["csv", "xlsx"], required=False, help_text="default: csv")


class TargetSerializer(serializers.Serializer):
    kpi = serializers.ChoiceField(choices=TARGETABLE)
    green_at = serializers.FloatField(help_text="rates as fractions: 0.6 = 60 %")
    amber_at = serializers.FloatField()
    status = serializers.CharField(read_only=True)
