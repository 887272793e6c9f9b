from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from apps.catalog.models import Region

from ..models import ApiKey, Invitation, Membership, Organization, Role


class OrganizationSerializer(serializers.ModelSerializer):
    registered_region = serializers.SlugRelatedField(
        slug_field="code", queryset=Region.objects.all(), required=False, allow_null=True
    )
    jurisdiction = serializers.SlugRelatedField(slug_field="code", many=True, read_only=True)
    my_role = serializers.SerializerMethodField()

    class Meta:
        model = Organization
        fields = ["id", "kind", "name", "credit_code", "registered_region", "industry", "size_class",
                  "invoice_title", "tax_id", "jurisdiction", "created_at", "my_role"]
        read_only_fields = ["id", "jurisdiction", "created_at", "my_role"]
        # Uniqueness is checked by the service (full_clean) so both API and portal share one rule.
        validators: list = []

    def get_my_role(self, organization) -> str | None:
        roles = self.context.get("roles") or {}
        return roles.get(organization.id)


class OrganizationCreateSerializer(OrganizationSerializer):
    kind = serializers.ChoiceField(choices=[Organization.Kind.CUSTOMER, Organization.Kind.PROVIDER])


class OrganizationUpdateSerializer(OrganizationSerializer):
    class Meta(OrganizationSerializer.Meta):
        read_only_fields = ["id", "kind", "jurisdiction", "created_at", "my_role"]
        extra_kwargs = {"name": {"required": False}}


class UserSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    email = serializers.EmailField(read_only=True)
    display_name = serializers.CharField(read_only=True)


class MembershipSerializer(serializers.ModelSerializer):
    user = UserSummarySerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "user", "role", "created_at"]
        read_only_fields = ["id", "user", "created_at"]


class MembershipRoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class InvitationSerializer(serializers.ModelSerializer):
    invited_by = serializers.EmailField(source="invited_by.email", read_only=True, default=None)

    class Meta:
        model = Invitation
        fields = ["id", "email", "role", "state", "invited_by", "created_at", "expires_at"]
        read_only_fields = ["id", "state", "invited_by", "created_at", "expires_at"]
        validators: list = []


class InvitationAcceptSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=200)


class ApiKeySerializer(serializers.ModelSerializer):
    created_by = serializers.EmailField(source="created_by.email", read_only=True)
    is_active = serializers.BooleanField(read_only=True)

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "role", "created_by", "created_at", "last_used_at", "revoked_at",
                  "is_active"]
        read_only_fields = ["id", "prefix", "created_by", "created_at", "last_used_at", "revoked_at", "is_active"]


class ApiKeyCreatedSerializer(ApiKeySerializer):
    key = serializers.CharField(read_only=True, help_text=_("The full key. It is shown only in this response."))

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


class MeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.EmailField()
    display_name = serializers.CharField()
    is_staff = serializers.BooleanField()
    memberships = serializers.SerializerMethodField()

    def get_memberships(self, user) -> list[dict]:
        return [{"organization_id": str(m.organization_id), "organization": m.organization.name,
                 "kind": m.organization.kind, "role": m.role} for m in self.context["memberships"]]
