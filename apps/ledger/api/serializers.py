from rest_framework import serializers

from ..models import BankTransfer, Entry, LedgerTransaction, Payment, Refund


class BalanceSerializer(serializers.Serializer):
    mode = serializers.CharField(help_text="prepaid (wallet) or postpaid (credit line)")
    balance_fen = serializers.IntegerField(help_text="Cash in the wallet; postpaid: minus what is owed.")
    credit_limit_fen = serializers.IntegerField()
    available_fen = serializers.IntegerField(help_text="What can be spent now.")
    low_balance_threshold_fen = serializers.IntegerField(source="threshold_fen")
    low = serializers.BooleanField(help_text="Below the low-balance warning threshold.")
    card_payments_configured = serializers.BooleanField()
    remittance_reference = serializers.CharField(help_text="Write this in a corporate bank transfer's remark.")


class EntrySerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="account.kind")

    class Meta:
        model = Entry
        fields = ["account", "amount_fen", "balance_after_fen"]


class LedgerTransactionSerializer(serializers.ModelSerializer):
    entries = EntrySerializer(source="own_entries", many=True, read_only=True,
                              help_text="Only this organization's side of the transaction.")

    class Meta:
        model = LedgerTransaction
        fields = ["id", "kind", "memo", "created_at", "entries"]
        read_only_fields = fields


class RefundSerializer(serializers.ModelSerializer):
    class Meta:
        model = Refund
        fields = ["id", "amount_fen", "state", "created_at"]
        read_only_fields = fields


class PaymentSerializer(serializers.ModelSerializer):
    refunds = RefundSerializer(many=True, read_only=True)

    class Meta:
        model = Payment
        fields = ["id", "amount_fen", "currency", "method", "state", "failure_message", "refunded_fen",
                  "refundable_fen",
                  "created_at", "succeeded_at", "refunds"]
        read_only_fields = fields


class TopUpCreateSerializer(serializers.Serializer):
    amount_fen = serializers.IntegerField(help_text="Whole fen, ¥10 to ¥100,000 (1000 to 10000000).")
    method = serializers.ChoiceField(choices=Payment.Method.choices, default=Payment.Method.CARD,
                                     help_text="Stripe payment method type: card, alipay or wechat_pay.")


class TopUpSerializer(PaymentSerializer):
    client_secret = serializers.CharField(read_only=True,
                                          help_text="Confirm the PaymentIntent with Stripe.js using this.")
    publishable_key = serializers.SerializerMethodField()

    class Meta(PaymentSerializer.Meta):
        fields = [*PaymentSerializer.Meta.fields, "client_secret", "publishable_key"]
        read_only_fields = fields

    def get_publishable_key(self, payment) -> str:
        from django.conf import settings

        return settings.STRIPE_PUBLISHABLE_KEY


class RefundCreateSerializer(serializers.Serializer):
    amount_fen = serializers.IntegerField(min_value=1)


class BankTransferCreateSerializer(serializers.Serializer):
    remittance_reference = serializers.CharField(max_length=40, help_text="From the transfer's remark.")
    amount_fen = serializers.IntegerField(min_value=1, help_text="The amount received, in fen.")
    bank_reference = serializers.CharField(max_length=100, help_text="The bank's transaction number (流水号).")
    value_date = serializers.DateField()
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class BankTransferSerializer(serializers.ModelSerializer):
    organization = serializers.UUIDField(source="organization_id", read_only=True)

    class Meta:
        model = BankTransfer
        fields = ["id", "organization", "remittance_reference", "bank_reference", "amount_fen", "value_date",
                  "note", "created_at"]
        read_only_fields = fields
