from django.contrib import admin

from .models import Workload


@admin.register(Workload)
class WorkloadAdmin(admin.ModelAdmin):
    list_display = ("name", "organization", "state", "preferred_region", "gpu_count", "gpu_milli", "profile",
                    "priority", "created_at")
    list_filter = ("state", "kind", "billing_mode")
    search_fields = ("name", "organization__name")
    readonly_fields = ("pending_reason", "placed_at")
