from django.contrib import admin

from .models import ApiKey, Invitation, Membership, Organization


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ("user",)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "credit_code", "registered_region", "size_class", "created_at")
    list_filter = ("kind", "size_class", "industry")
    search_fields = ("name", "credit_code")
    filter_horizontal = ("jurisdiction",)
    inlines = [MembershipInline]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ("email", "organization", "role", "state", "created_at", "expires_at")
    list_filter = ("state", "role")
    exclude = ("token_hash",)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "organization", "role", "created_by", "last_used_at", "revoked_at")
    exclude = ("key_hash",)
    readonly_fields = ("prefix",)
