from django.contrib import admin
from django.db import transaction

from apps.audit.services import audit_record

from .models import OrganizationQuota, Workload


@admin.register(Workload)
class WorkloadAdmin(admin.ModelAdmin):
    list_display = ("name", "organization", "state", "preferred_region", "gpu_count", "gpu_milli", "profile",
                    "billing_mode", "priority", "restarts", "created_at")
    list_filter = ("state", "kind", "billing_mode", "restartable")
    search_fields = ("name", "organization__name")
    readonly_fields = ("pending_reason", "placed_at", "restarts", "auto_restarts")


@admin.register(OrganizationQuota)
class OrganizationQuotaAdmin(admin.ModelAdmin):
    """Staff raise or lower an organization's limits here; empty fields mean the platform default."""

    list_display = ("organization", "max_cards", "max_slices", "updated_at")
    search_fields = ("organization__name",)
    autocomplete_fields = ("organization",)

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        audit_record(actor=request.user, action="quota.set", organization=obj.organization_id, target=obj,
                     details={"max_cards": obj.max_cards, "max_slices": obj.max_slices})
