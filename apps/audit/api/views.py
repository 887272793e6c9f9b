from rest_framework import generics, serializers

from apps.tenancy.api.scoping import OrganizationScopedMixin
from apps.tenancy.models import Role

from ..models import AuditEvent


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["seq", "occurred_at", "actor_label", "action", "object_type", "object_id", "details", "hash"]
        read_only_fields = fields


class AuditEventListView(OrganizationScopedMixin, generics.ListAPIView):
    """The organization's own audit events, newest first. Viewers don't see them; auditors do."""

    serializer_class = AuditEventSerializer
    read_role = Role.AUDITOR
    base_queryset = AuditEvent.objects.order_by("-seq")

    def get_queryset(self):
        queryset = super().get_queryset()
        action = self.request.query_params.get("action")
        return queryset.filter(action__startswith=action) if action else queryset
