from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Node, Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "name_zh", "province", "timezone")
    search_fields = ("code", "name", "name_zh")


class ClampedTimesFilter(admin.SimpleListFilter):
    title = _("clamped agent times")
    parameter_name = "clamped"

    def lookups(self, request, model_admin):
        return [("yes", _("Reported times outside what the server observed"))]

    def queryset(self, request, queryset):
        return queryset.filter(agent_time_flags__gt=0) if self.value() == "yes" else queryset


@admin.register(Node)
class NodeAdmin(admin.ModelAdmin):
    """Read-only fleet view for staff; providers manage their nodes in the portal. Nodes whose agents
    sent assignment times outside what the server observed (clamped before billing) sort first."""

    list_display = ("hostname", "organization", "cluster", "state", "liveness", "agent_time_flags",
                    "agent_time_flagged_at", "last_heartbeat_at")
    list_filter = (ClampedTimesFilter, "state", "liveness")
    search_fields = ("hostname", "organization__name")
    ordering = ("-agent_time_flags", "hostname")
    list_select_related = ("organization", "cluster")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
