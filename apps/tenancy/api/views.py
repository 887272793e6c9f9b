from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.tenancy.api.scoping import ActorMixin, OrganizationScopedMixin

from .. import services
from ..access import effective_role, memberships_of, organizations_of
from ..models import ApiKey, Invitation, Membership, Organization, Role
from . import serializers as s


def _roles(actor) -> dict:
    return {m.organization_id: effective_role(actor, m) for m in memberships_of(actor)}


class MeView(ActorMixin, APIView):
    @extend_schema(responses=s.MeSerializer, summary="The signed-in user and their organizations")
    def get(self, request):
        memberships = memberships_of(self.actor).order_by("organization__name")
        return Response(s.MeSerializer(request.user, context={"memberships": memberships}).data)


class OrganizationListCreateView(ActorMixin, generics.ListCreateAPIView):
    """Organizations the caller belongs to (one, for an API key); create a customer or provider one."""

    def get_serializer_class(self):
        return s.OrganizationCreateSerializer if self.request.method == "POST" else s.OrganizationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Organization.objects.none()
        return organizations_of(self.actor).prefetch_related("jurisdiction").select_related("registered_region")

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False):
            context["roles"] = _roles(self.actor)
        return context

    def create(self, request, *args, **kwargs):
        if self.actor.api_key is not None:
            # A key belongs to one organization; creating new tenants is a human decision.
            return Response({"error": {"code": "permission_denied",
                                       "message": "API keys cannot create organizations; sign in to the portal."}},
                            status=status.HTTP_403_FORBIDDEN)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        organization = services.organization_create(actor=self.actor, **serializer.validated_data)
        data = s.OrganizationSerializer(organization, context={"roles": {organization.id: Role.OWNER}}).data
        return Response(data, status=status.HTTP_201_CREATED)


class OrganizationDetailView(OrganizationScopedMixin, APIView):
    write_role = Role.ADMIN

    @extend_schema(responses=s.OrganizationSerializer)
    def get(self, request, organization_id):
        return Response(s.OrganizationSerializer(self.organization, context={"roles": _roles(self.actor)}).data)

    @extend_schema(request=s.OrganizationUpdateSerializer, responses=s.OrganizationSerializer)
    def patch(self, request, organization_id):
        serializer = s.OrganizationUpdateSerializer(self.organization, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        organization = services.organization_update_profile(
            actor=self.actor, organization=self.organization, **serializer.validated_data
        )
        return Response(s.OrganizationSerializer(organization, context={"roles": _roles(self.actor)}).data)


class MemberListView(OrganizationScopedMixin, generics.ListAPIView):
    serializer_class = s.MembershipSerializer
    base_queryset = Membership.objects.select_related("user").order_by("created_at")


class MemberDetailView(OrganizationScopedMixin, APIView):
    base_queryset = Membership.objects.select_related("user", "organization")

    @extend_schema(request=s.MembershipRoleSerializer, responses=s.MembershipSerializer)
    def patch(self, request, organization_id, pk):
        membership = self.get_object()
        serializer = s.MembershipRoleSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.membership_change_role(actor=self.actor, membership=membership,
                                                     role=serializer.validated_data["role"])
        return Response(s.MembershipSerializer(membership).data)

    @extend_schema(responses={204: OpenApiResponse(description="Removed")})
    def delete(self, request, organization_id, pk):
        membership = self.get_object()
        services.membership_remove(actor=self.actor, membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)

    def required_role(self) -> str:
        # Leaving an organization yourself needs no admin role; the service checks the rest.
        if self.request.method == "DELETE":
            return Role.VIEWER
        return super().required_role()


class InvitationListCreateView(OrganizationScopedMixin, generics.ListCreateAPIView):
    serializer_class = s.InvitationSerializer
    read_role = Role.ADMIN
    base_queryset = Invitation.objects.select_related("invited_by").order_by("-created_at")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation, _token = services.invitation_create(
            actor=self.actor, organization=self.organization, **serializer.validated_data
        )
        return Response(s.InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)


class InvitationRevokeView(OrganizationScopedMixin, APIView):
    base_queryset = Invitation.objects.select_related("organization")

    @extend_schema(request=None, responses=s.InvitationSerializer)
    def post(self, request, organization_id, pk):
        invitation = services.invitation_revoke(actor=self.actor, invitation=self.get_object())
        return Response(s.InvitationSerializer(invitation).data)


class InvitationAcceptView(ActorMixin, APIView):
    @extend_schema(request=s.InvitationAcceptSerializer, responses=s.MembershipSerializer)
    def post(self, request):
        serializer = s.InvitationAcceptSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        membership = services.invitation_accept(actor=self.actor, token=serializer.validated_data["token"])
        return Response(s.MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)


class ApiKeyListCreateView(OrganizationScopedMixin, generics.ListCreateAPIView):
    read_role = Role.ADMIN
    base_queryset = ApiKey.objects.select_related("created_by").order_by("-created_at")

    def get_serializer_class(self):
        return s.ApiKeyCreatedSerializer if self.request.method == "POST" else s.ApiKeySerializer

    def create(self, request, *args, **kwargs):
        serializer = s.ApiKeySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        api_key, plaintext = services.api_key_create(
            actor=self.actor, organization=self.organization, **serializer.validated_data
        )
        api_key.key = plaintext
        return Response(s.ApiKeyCreatedSerializer(api_key).data, status=status.HTTP_201_CREATED)


class ApiKeyRevokeView(OrganizationScopedMixin, APIView):
    base_queryset = ApiKey.objects.select_related("organization", "created_by")

    @extend_schema(request=None, responses=s.ApiKeySerializer)
    def post(self, request, organization_id, pk):
        api_key = services.api_key_revoke(actor=self.actor, api_key=self.get_object())
        return Response(s.ApiKeySerializer(api_key).data)

