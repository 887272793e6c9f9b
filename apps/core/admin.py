"""Admin pieces several apps share."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records that are facts once written (audit events, ledger entries, usage, invoices): staff can
    look, never add, edit or delete here."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
