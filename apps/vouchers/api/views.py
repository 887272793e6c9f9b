"""Voucher API. The organization in the path decides the view: a government organization sees and runs
its programmes and the applications to them; a customer sees open programmes, applies, and sees its own
applications, grants and voucher lines. Everything else is a 404."""

from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.billing.api.serializers import QuoteQuerySerializer
from apps.tenancy.access import access_object
from apps.tenancy.api.scoping import OrganizationScopedMixin
from apps.tenancy.models import Organization, Role

from .. import selectors, services
from ..models import Application, Program, RuleVersion
from .serializers import (
    ApplicationSerializer,
    ClaimDecisionSerializer,
    ClaimSerializer,
    DecisionSerializer,
    EstimateSerializer,
    FlagDecisionSerializer,
    GrantSerializer,
    IdleFlagSerializer,
    ProgramDetailSerializer,
    ProgramSerializer,
    RevenueMonthSerializer,
    RuleVersionSerializer,
    SpikeCloseSerializer,
    SpikeFlagSerializer,
    TransitionSerializer,
    VoucherLineSerializer,
)


class _Government(OrganizationScopedMixin):
    def check_kind(self):
        if self.organization.kind != Organization.Kind.GOVERNMENT:
            raise Http404

    def program(self) -> Program:
        self.check_kind()
        program = access_object(self.actor, Program.objects.select_related("organization"), self.kwargs["pk"],
                                min_role=self.required_role())
        if program.organization_id != self.organization.pk:
            raise Http404
        return program


class ProgramListView(_Government, generics.ListCreateAPIView):
    """The government organization's voucher programmes; create a draft (deduct-at-charge only, yet)."""

    serializer_class = ProgramSerializer
    base_queryset = Program.objects.all()

    def get_queryset(self):
        if not getattr(self, "swagger_fake_view", False):
            self.check_kind()
        return super().get_queryset()

    def perform_create(self, serializer):
        self.check_kind()
        data = serializer.validated_data
        serializer.instance = services.program_create(
            actor=self.actor, organization=self.organization, name=data["name"], name_zh=data["name_zh"],
            budget_fen=data["budget_fen"], valid_from=data["valid_from"], valid_until=data["valid_until"],
            redemption_mode=data.get("redemption_mode", "deduct"))


class ProgramDetailView(_Government, APIView):
    """A programme with its rule versions and budget burn-down."""

    @extend_schema(responses=ProgramDetailSerializer)
    def get(self, request, organization_id, pk):
        return Response(ProgramDetailSerializer(self.program()).data)


class RuleVersionCreateView(_Government, APIView):
    """A draft rule version (steps, caps, eligibility); publish it to freeze it."""

    @extend_schema(request=RuleVersionSerializer, responses={201: RuleVersionSerializer})
    def post(self, request, organization_id, pk):
        program = self.program()
        serializer = RuleVersionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        version = services.rule_version_create(
            actor=self.actor, program=program, effective_from=data["effective_from"], taper_basis=data["taper_basis"],
            steps=[dict(step) for step in data["steps"]], annual_cap_fen=data.get("annual_cap_fen"),
            grant_cap_fen=data.get("grant_cap_fen"), industries=data.get("industries"),
            size_classes=data.get("size_classes"), compute_regions=data.get("compute_regions"),
            vendors=data.get("vendors"), accelerator_models=data.get("accelerator_models"),
            billing_modes=data.get("billing_modes"))
        return Response(RuleVersionSerializer(version).data, status=status.HTTP_201_CREATED)


class RuleVersionPublishView(_Government, APIView):
    """Freeze a draft version; it takes effect at its ``effective_from`` (now or later)."""

    @extend_schema(request=None, responses=RuleVersionSerializer)
    def post(self, request, organization_id, pk, number):
        program = self.program()
        version = RuleVersion.objects.filter(program=program, number=number).first()
        if version is None:
            raise Http404
        return Response(RuleVersionSerializer(services.rule_version_publish(actor=self.actor, version=version)).data)


class ProgramTransitionView(_Government, APIView):
    """open, pause, close, or kill (the kill switch: needs a reason, stops every redemption at once)."""

    @extend_schema(request=TransitionSerializer, responses=ProgramSerializer)
    def post(self, request, organization_id, pk):
        program = self.program()
        serializer = TransitionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        action, reason = serializer.validated_data["action"], serializer.validated_data["reason"]
        if action == "kill":
            program = services.program_kill(actor=self.actor, program=program, reason=reason)
        else:
            program = services.program_transition(actor=self.actor, program=program, action=action, reason=reason)
        return Response(ProgramSerializer(program).data)


class OpenProgramListView(OrganizationScopedMixin, generics.ListAPIView):
    """Programmes open for applications (for customers choosing where to apply)."""

    serializer_class = ProgramSerializer
    base_queryset = Program.objects.all()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Program.objects.none()
        self.organization  # noqa: B018  (404 for strangers)
        return selectors.open_programs()


class ApplicationListView(OrganizationScopedMixin, generics.ListCreateAPIView):
    """Government: applications to its programmes. Customer: its own; POST (multipart for an attachment)
    applies to an open programme."""

    serializer_class = ApplicationSerializer
    base_queryset = Application.objects.all()
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Application.objects.none()
        return selectors.applications_for(self.organization)

    def perform_create(self, serializer):
        data = serializer.validated_data
        program = data["program"]
        if program.state != Program.State.OPEN and program.organization_id != self.organization.pk:
            raise Http404  # a draft programme of someone else is not there
        serializer.instance = services.application_submit(
            actor=self.actor, program=program, organization=self.organization, description=data["description"],
            requested_fen=data["requested_fen"], attachment=data.get("attachment"))


class ApplicationDetailView(OrganizationScopedMixin, APIView):
    @extend_schema(responses=ApplicationSerializer)
    def get(self, request, organization_id, pk):
        return Response(ApplicationSerializer(_application(self)).data)


def _application(view) -> Application:
    application = selectors.applications_for(view.organization).filter(pk=view.kwargs["pk"]).first()
    if application is None:
        raise Http404
    return application


class ApplicationDecisionView(OrganizationScopedMixin, APIView):
    """The programme's operator decides: approve (amount, start of the taper clock), request_info, reject —
    always with a reason."""

    write_role = Role.ADMIN

    @extend_schema(request=DecisionSerializer, responses=ApplicationSerializer)
    def post(self, request, organization_id, pk):
        if self.organization.kind != Organization.Kind.GOVERNMENT:
            raise Http404
        application = _application(self)
        serializer = DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        application = services.application_decide(
            actor=self.actor, application=application, decision=data["decision"], reason=data["reason"],
            amount_fen=data.get("amount_fen"), starts_on=data.get("starts_on"))
        return Response(ApplicationSerializer(application).data)


class GrantListView(OrganizationScopedMixin, APIView):
    """The customer's grants: today's rate, the next taper step, what is left of the grant and this year's
    cap."""

    @extend_schema(responses=GrantSerializer(many=True))
    def get(self, request, organization_id):
        grants = [selectors.grant_status(grant) for grant in selectors.grants_of(self.organization)]
        return Response(GrantSerializer(grants, many=True).data)


class VoucherLineListView(OrganizationScopedMixin, APIView):
    """The customer's recent charges with their voucher line: voucher share, co-pay, what limited it."""

    @extend_schema(responses=VoucherLineSerializer(many=True))
    def get(self, request, organization_id):
        return Response(VoucherLineSerializer(selectors.voucher_charges(self.organization), many=True).data)


class IdleFlagListView(_Government, APIView):
    """Voucher-funded usage flagged idle (its subsidy held), open ones first."""

    @extend_schema(responses=IdleFlagSerializer(many=True))
    def get(self, request, organization_id):
        self.check_kind()
        return Response(IdleFlagSerializer(selectors.idle_flags_for(self.organization)[:200], many=True).data)


class IdleFlagDecisionView(_Government, APIView):
    """Release the held subsidy or reject it, with a reason."""

    @extend_schema(request=FlagDecisionSerializer, responses=IdleFlagSerializer)
    def post(self, request, organization_id, pk):
        self.check_kind()
        self.organization  # noqa: B018  (admins only: write_role)
        flag = selectors.idle_flags_for(self.organization).filter(pk=pk).first()
        if flag is None:
            raise Http404
        serializer = FlagDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        flag = services.idle_flag_decide(actor=self.actor, flag=flag, decision=serializer.validated_data["decision"],
                                         reason=serializer.validated_data["reason"])
        return Response(IdleFlagSerializer(flag).data)


class ClaimListView(OrganizationScopedMixin, APIView):
    """Claims after settlement. Customer: its claims; POST {grant, period_start} after the month's invoice.
    Government: the claims to its programmes."""

    @extend_schema(responses=ClaimSerializer(many=True))
    def get(self, request, organization_id):
        return Response(ClaimSerializer(selectors.claims_for(self.organization)[:200], many=True).data)

    @extend_schema(request=ClaimSerializer, responses={201: ClaimSerializer})
    def post(self, request, organization_id):
        serializer = ClaimSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        grant = selectors.grants_of(self.organization).filter(pk=serializer.validated_data["grant_id"]).first()
        if grant is None:
            raise Http404
        claim = services.claim_submit(actor=self.actor, grant=grant,
                                      period_start=serializer.validated_data["period_start"])
        return Response(ClaimSerializer(claim).data, status=status.HTTP_201_CREATED)


class ClaimDecisionView(_Government, APIView):
    """Approve (the customer's wallet is credited) or reject a claim, with a reason."""

    @extend_schema(request=ClaimDecisionSerializer, responses=ClaimSerializer)
    def post(self, request, organization_id, pk):
        self.check_kind()
        claim = selectors.claims_for(self.organization).filter(pk=pk).first()
        if claim is None:
            raise Http404
        serializer = ClaimDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        claim = services.claim_decide(actor=self.actor, claim=claim, decision=serializer.validated_data["decision"],
                                      reason=serializer.validated_data["reason"])
        return Response(ClaimSerializer(claim).data)


class EstimateView(OrganizationScopedMixin, APIView):
    """For the booking form: "you pay X, the voucher pays Y" per hour for a shape, and the regions where
    the organization's vouchers count (same query parameters as the price quote)."""

    @extend_schema(parameters=[QuoteQuerySerializer], responses=EstimateSerializer)
    def get(self, request, organization_id):
        from apps.billing.quotes import price_quote

        query = QuoteQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = dict(query.validated_data)
        quote = price_quote(organization=self.organization, **data)
        estimate = selectors.booking_estimate(organization=self.organization,
                                              accelerator_model=data["accelerator_model"], region=data["region"],
                                              billing_mode=data["billing_mode"], quote=quote)
        return Response(EstimateSerializer(estimate).data)


class ProviderRevenueView(OrganizationScopedMixin, APIView):
    """Providers: which of their revenue was voucher-funded, by month (last 12 months)."""

    @extend_schema(responses=RevenueMonthSerializer(many=True))
    def get(self, request, organization_id):
        if self.organization.kind != Organization.Kind.PROVIDER:
            raise Http404
        return Response(RevenueMonthSerializer(selectors.provider_voucher_revenue(self.organization), many=True).data)


class SpikeFlagListView(_Government, APIView):
    """Days on which an enterprise's subsidy was far above its history, open ones first."""

    @extend_schema(responses=SpikeFlagSerializer(many=True))
    def get(self, request, organization_id):
        self.check_kind()
        return Response(SpikeFlagSerializer(selectors.spike_flags_for(self.organization)[:200], many=True).data)


class SpikeFlagCloseView(_Government, APIView):
    """Close a spike flag with a reason."""

    @extend_schema(request=SpikeCloseSerializer, responses=SpikeFlagSerializer)
    def post(self, request, organization_id, pk):
        self.check_kind()
        flag = selectors.spike_flags_for(self.organization).filter(pk=pk).first()
        if flag is None:
            raise Http404
        serializer = SpikeCloseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        flag = services.spike_flag_close(actor=self.actor, flag=flag, reason=serializer.validated_data["reason"])
        return Response(SpikeFlagSerializer(flag).data)
