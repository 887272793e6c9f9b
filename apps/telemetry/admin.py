from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from apps.tenancy.access import Actor

from .models import DeviceUuidConflict
from .services import device_uuid_conflict_resolve


@admin.register(DeviceUuidConflict)
class DeviceUuidConflictAdmin(admin.ModelAdmin):
    """Enrollments refused because another node holds the device UUID. Verify who has the card (ask both
    providers, check serial numbers), then release the UUID to the claimant or dismiss the claim."""

    list_display = ("uuid", "claimant_hostname", "claimant_cluster", "holder_node", "attempts", "last_attempt_at",
                    "resolution", "resolved_by")
    list_filter = ("resolution",)
    search_fields = ("uuid", "claimant_hostname")
    actions = ["release_uuid", "dismiss_claim"]
    readonly_fields = [field.name for field in DeviceUuidConflict._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _resolve(self, request, queryset, *, release: bool) -> None:
        done = 0
        for conflict in queryset.filter(resolved_at__isnull=True):
            try:
                device_uuid_conflict_resolve(actor=Actor(user=request.user), conflict=conflict, release=release)
                done += 1
            except (PermissionDenied, ValidationError) as error:
                self.message_user(request, str(error), messages.ERROR)
                return
        self.message_user(request, ngettext("%(n)d conflict resolved.", "%(n)d conflicts resolved.", done)
                          % {"n": done}, messages.SUCCESS)

    @admin.action(description=_("Release the UUID to the claiming node (verified: it has the card)"))
    def release_uuid(self, request, queryset):
        self._resolve(request, queryset, release=True)

    @admin.action(description=_("Dismiss the claim (the holding node keeps the UUID)"))
    def dismiss_claim(self, request, queryset):
        self._resolve(request, queryset, release=False)
