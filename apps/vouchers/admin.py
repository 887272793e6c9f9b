from django.contrib import admin

from .models import Application, Grant, Program, RuleVersion, TaperStep, UsageSubsidy, YearUse


class TaperStepInline(admin.TabularInline):
    model = TaperStep
    extra = 0


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ["name", "organization", "state", "budget_fen", "valid_from", "valid_until", "killed_at"]
    list_filter = ["state", "redemption_mode"]
    readonly_fields = ["killed_at", "kill_reason", "created_by", "created_at"]


@admin.register(RuleVersion)
class RuleVersionAdmin(admin.ModelAdmin):
    list_display = ["program", "number", "effective_from", "published_at", "taper_basis", "annual_cap_fen"]
    inlines = [TaperStepInline]
    readonly_fields = ["published_at"]


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    list_display = ["organization", "program", "requested_fen", "state", "created_at", "decided_at"]
    list_filter = ["state"]
    readonly_fields = ["decided_by", "decided_at", "created_by", "created_at"]


@admin.register(Grant)
class GrantAdmin(admin.ModelAdmin):
    list_display = ["organization", "program", "amount_fen", "starts_on", "state"]
    readonly_fields = ["application", "amount_fen", "created_at"]


@admin.register(YearUse)
class YearUseAdmin(admin.ModelAdmin):
    list_display = ["program", "organization", "year", "used_fen"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(UsageSubsidy)
class UsageSubsidyAdmin(admin.ModelAdmin):
    list_display = ["usage_record", "grant", "share_fen", "last_limited_by", "reason"]

    def has_change_permission(self, request, obj=None):
        return False
