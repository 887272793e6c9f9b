from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from apps.catalog.models import AcceleratorModel, Region

from ..models import BillingMode, FapiaoRequest, Invoice, InvoiceLine

MONEY = {"max_digits": 16, "decimal_places": 6, "coerce_to_string": True}


class QuoteQuerySerializer(serializers.Serializer):
    accelerator_model = serializers.SlugRelatedField(slug_field="code", queryset=AcceleratorModel.objects.all())
    region = serializers.SlugRelatedField(slug_field="code", queryset=Region.objects.all())
    billing_mode = serializers.ChoiceField(choices=BillingMode.choices, default=BillingMode.ON_DEMAND)
    gpu_count = serializers.IntegerField(min_value=0, max_value=64, default=0)
    gpu_milli = serializers.IntegerField(min_value=0, max_value=999, default=0)
    gpu_memory_mib = serializers.IntegerField(min_value=0, max_value=4_194_304, default=0)
    profile = serializers.CharField(max_length=40, required=False, default="", allow_blank=True)


class PriceQuoteSerializer(serializers.Serializer):
    accelerator_model = serializers.CharField()
    region = serializers.CharField()
    billing_mode = serializers.CharField()
    currency = serializers.CharField()
    hourly = serializers.DecimalField(**MONEY, help_text=_("CNY per hour, your tier discount applied"))
    list_hourly = serializers.DecimalField(**MONEY)
    off_peak_hourly = serializers.DecimalField(**MONEY, allow_null=True)
    card_hourly = serializers.DecimalField(**MONEY)
    card_fraction = serializers.DecimalField(max_digits=12, decimal_places=6, coerce_to_string=True)
    compute_share = serializers.DecimalField(max_digits=12, decimal_places=6, coerce_to_string=True)
    memory_share = serializers.DecimalField(max_digits=12, decimal_places=6, coerce_to_string=True)
    customer_tier = serializers.CharField()
    tier_discount = serializers.DecimalField(max_digits=5, decimal_places=4, coerce_to_string=True)
    off_peak_discount = serializers.DecimalField(max_digits=5, decimal_places=4, coerce_to_string=True)
    off_peak_hours = serializers.ListField(child=serializers.ListField(child=serializers.IntegerField()))
    formula = serializers.CharField()
    price_book_id = serializers.IntegerField()


class PriceRowSerializer(serializers.Serializer):
    accelerator_model = serializers.CharField()
    accelerator_model_name = serializers.CharField()
    vendor = serializers.CharField()
    memory_mib = serializers.IntegerField()
    region = serializers.CharField()
    billing_mode = serializers.CharField()
    hourly = serializers.DecimalField(**MONEY)
    off_peak_hourly = serializers.DecimalField(**MONEY, allow_null=True)
    price_book_id = serializers.IntegerField()


class InvoiceLineSerializer(serializers.ModelSerializer):
    workload = serializers.UUIDField(source="workload_id", allow_null=True)

    class Meta:
        model = InvoiceLine
        fields = ["position", "kind", "description", "workload", "workload_name", "accelerator_model", "region",
                  "billing_mode", "price_book", "started_at", "ended_at", "card_fraction", "card_hours",
                  "peak_seconds", "off_peak_seconds", "hourly", "off_peak_hourly", "discount", "exact_fen",
                  "amount_fen"]
        read_only_fields = fields


class InvoiceSerializer(serializers.ModelSerializer):
    rounding = serializers.SerializerMethodField()

    class Meta:
        model = Invoice
        fields = ["id", "number", "period_start", "period_end", "issued_at", "customer_name", "invoice_title",
                  "tax_id", "customer_tier", "volume_scheme", "card_hours", "usage_fen", "volume_discount_fen",
                  "total_fen", "charged_fen", "outstanding_fen", "rounding"]
        read_only_fields = fields

    def get_rounding(self, invoice) -> str:
        return "each line to whole fen, half-up; the total is the sum of the lines"


class InvoiceDetailSerializer(InvoiceSerializer):
    lines = InvoiceLineSerializer(many=True, read_only=True)

    class Meta(InvoiceSerializer.Meta):
        fields = [*InvoiceSerializer.Meta.fields, "lines"]
        read_only_fields = fields


class MonthQuerySerializer(serializers.Serializer):
    month = serializers.RegexField(r"^\d{4}-(0[1-9]|1[0-2])$", required=False,
                                   error_messages={"invalid": _("Give the month as YYYY-MM, e.g. 2026-03.")})


class FapiaoRequestSerializer(serializers.ModelSerializer):
    invoice = serializers.UUIDField(source="invoice_id", read_only=True)

    class Meta:
        model = FapiaoRequest
        fields = ["id", "invoice", "kind", "title", "tax_id", "amount_fen", "state", "fapiao_number", "issued_on",
                  "reject_reason", "requested_at", "decided_at"]
        read_only_fields = fields


class FapiaoRequestCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=FapiaoRequest.Kind.choices,
                                   help_text="ordinary (普通发票) or special (专用发票)")
    title = serializers.CharField(max_length=200, required=False,
                                  help_text="Defaults to the organization's invoice title.")
    tax_id = serializers.CharField(max_length=30, required=False, help_text="Defaults to the organization's tax id.")


class FapiaoIssueSerializer(serializers.Serializer):
    fapiao_number = serializers.CharField(max_length=20)
    issued_on = serializers.DateField()


class FapiaoRejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)
