"""Read-only views for platform staff: vouchers change only through the audited services (the portal and
the API), never by editing rows."""

from django.contrib import admin

from apps.core.admin import ReadOnlyAdmin

from .models import Application, Grant, Program, RuleVersion, TaperStep, UsageSubsidy, YearUse


class TaperStepInline(admin.TabularInline):
    model = TaperStep
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Program)
class ProgramAdmin(ReadOnlyAdmin):
    list_display = ["name", "organization", "state", "budget_fen", "valid_from", "valid_until", "killed_at"]
    list_filter = ["state", "redemption_mode"]


@admin.register(RuleVersion)
class RuleVersionAdmin(ReadOnlyAdmin):
    list_display = ["program", "number", "effective_from", "published_at", "taper_basis", "annual_cap_fen"]
    inlines = [TaperStepInline]


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = ["organization", "program", "requested_fen", "state", "created_at", "decided_at"]
    list_filter = ["state"]


@admin.register(Grant)
class GrantAdmin(ReadOnlyAdmin):
    list_display = ["organization", "program", "amount_fen", "starts_on", "state"]


@admin.register(YearUse)
class YearUseAdmin(ReadOnlyAdmin):
    list_display = ["program", "organization", "year", "used_fen"]


@admin.register(UsageSubsidy)
class UsageSubsidyAdmin(ReadOnlyAdmin):
    list_display = ["usage_record", "grant", "share_fen", "last_limited_by", "reason"]
