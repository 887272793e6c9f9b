from django.contrib import admin

from .models import Allocation, PlacementDecision


@admin.register(Allocation)
class AllocationAdmin(admin.ModelAdmin):
    list_display = ("workload", "node", "device", "compute_milli", "memory_mib", "profile", "created_at",
                    "released_at")
    list_filter = ("released_at",)


@admin.register(PlacementDecision)
class PlacementDecisionAdmin(admin.ModelAdmin):
    list_display = ("workload", "region", "policy", "outcome", "node", "created_at")
    list_filter = ("outcome", "policy", "region")
