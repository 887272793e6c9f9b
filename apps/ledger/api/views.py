from dataclasses import asdict

from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.errors import error_response
from apps.tenancy.access import actor_from_request
from apps.tenancy.api.scoping import OrganizationScopedMixin
from apps.tenancy.models import Organization, Role

from .. import payments as payment_services
from ..bank_transfers import bank_transfer_record, remittance_reference_get
from ..gateway import PaymentsNotConfigured, payments_configured
from ..models import BankTransfer, LedgerTransaction, Payment
from ..selectors import account_statement, balance_get
from .serializers import (
    BalanceSerializer,
    BankTransferCreateSerializer,
    BankTransferSerializer,
    LedgerTransactionSerializer,
    PaymentSerializer,
    RefundCreateSerializer,
    RefundSerializer,
    TopUpCreateSerializer,
    TopUpSerializer,
)

IDEMPOTENCY = OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
                               description="Repeat a top-up request safely: the same key returns the same payment.")


def _not_configured():
    return error_response("payments_not_configured",
                          _("Card payments are not configured on this platform yet."),
                          http_status=status.HTTP_503_SERVICE_UNAVAILABLE)


class WalletView(OrganizationScopedMixin, APIView):
    """The organization's balance: prepaid wallet cash, or what is left of a postpaid credit line."""

    @extend_schema(responses=BalanceSerializer)
    def get(self, request, organization_id):
        balance = balance_get(organization=self.organization)
        data = {**asdict(balance), "low": balance.low, "card_payments_configured": payments_configured(),
                "remittance_reference": remittance_reference_get(organization=self.organization)
                if self.organization.kind == Organization.Kind.CUSTOMER else ""}
        return Response(BalanceSerializer(data).data)


class TransactionListView(OrganizationScopedMixin, generics.ListAPIView):
    """Ledger transactions that touched the organization's accounts, newest first (?kind= filters)."""

    serializer_class = LedgerTransactionSerializer
    base_queryset = LedgerTransaction.objects.all()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return LedgerTransaction.objects.none()
        kind = self.request.query_params.get("kind")
        return account_statement(organization=self.organization,
                                 kind=kind if kind in LedgerTransaction.Kind.values else None)


class PaymentListView(OrganizationScopedMixin, generics.ListAPIView):
    """Card top-ups, newest first, with their refunds."""

    serializer_class = PaymentSerializer
    base_queryset = Payment.objects.prefetch_related("refunds").order_by("-created_at")


class TopUpCreateView(OrganizationScopedMixin, APIView):
    """Start a top-up by card, Alipay or WeChat Pay: returns the PaymentIntent's client secret for Stripe.js
    (stripe.confirmPayment follows the redirect or QR code). The wallet is credited
    when Stripe's webhook confirms the payment."""

    write_role = Role.MEMBER

    @extend_schema(request=TopUpCreateSerializer, responses={201: TopUpSerializer, 200: TopUpSerializer},
                   parameters=[IDEMPOTENCY])
    def post(self, request, organization_id):
        serializer = TopUpCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            payment, created = payment_services.top_up_create(
                actor=self.actor, organization=self.organization, amount_fen=serializer.validated_data["amount_fen"],
                idempotency_key=request.headers.get("Idempotency-Key"), method=serializer.validated_data["method"])
        except PaymentsNotConfigured:
            return _not_configured()
        return Response(TopUpSerializer(payment).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class RefundCreateView(OrganizationScopedMixin, APIView):
    """Refund (part of) a paid top-up to the card; never more than the wallet still holds."""

    write_role = Role.ADMIN
    base_queryset = Payment.objects.all()

    @extend_schema(request=RefundCreateSerializer, responses={201: RefundSerializer})
    def post(self, request, organization_id, pk):
        payment = self.get_object()
        serializer = RefundCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            refund = payment_services.refund_create(actor=self.actor, payment=payment,
                                                    amount_fen=serializer.validated_data["amount_fen"])
        except PaymentsNotConfigured:
            return _not_configured()
        return Response(RefundSerializer(refund).data, status=status.HTTP_201_CREATED)


class BankTransferListView(OrganizationScopedMixin, generics.ListAPIView):
    """Corporate bank transfers staff recorded for the organization, newest value date first."""

    serializer_class = BankTransferSerializer
    base_queryset = BankTransfer.objects.order_by("-value_date", "-created_at")


class StaffBankTransferCreateView(APIView):
    """Platform staff only (404 for everyone else): record a received corporate bank transfer against a
    remittance reference. The same bank reference again returns the first transfer (200) and credits
    nothing; with another amount or reference it is a 400."""

    @extend_schema(request=BankTransferCreateSerializer, responses={
        201: BankTransferSerializer, 200: BankTransferSerializer,
        404: OpenApiResponse(OpenApiTypes.OBJECT, description="Not platform staff: this endpoint does not exist.")})
    def post(self, request):
        if not request.user.is_staff:
            raise Http404
        serializer = BankTransferCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        transfer, created = bank_transfer_record(actor=actor_from_request(request), **serializer.validated_data)
        return Response(BankTransferSerializer(transfer).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
