"""Staff console pieces that combine several apps: provider vetting (catalog's record, with the ledger's
view of what the provider is owed)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.catalog import services
from apps.catalog.models import ProviderProfile
from apps.ledger.models import Account
from apps.ledger.services import fen_display
from apps.tenancy.access import Actor
from apps.tenancy.uscc import validate_uscc


class ReasonForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("Reason (shown to the provider)"), max_length=500,
                             widget=forms.Textarea(attrs={"rows": 3, "cols": 60}))


@admin.register(ProviderProfile)
class ProviderProfileAdmin(admin.ModelAdmin):
    """Provider vetting: staff read the record and approve, reject, suspend or reinstate through the
    actions (each a service call, audited). The record itself is the provider's to edit."""

    list_display = ("organization", "state", "credit_code", "credit_code_checked", "contact_name", "bank_name",
                    "payable", "submitted_at", "reviewed_at")
    list_filter = ("state",)
    search_fields = ("organization__name", "organization__credit_code", "contact_name")
    readonly_fields = ("organization", "state", "credit_code", "credit_code_checked", "contact_name",
                       "contact_phone", "contact_email", "bank_name", "bank_account_name", "bank_account_number",
                       "submitted_at", "reviewed_at", "reviewed_by", "reason")
    fields = readonly_fields
    actions = ["approve", "reject", "suspend", "reinstate"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("organization", "reviewed_by")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("USCC"))
    def credit_code(self, obj):
        return obj.organization.credit_code

    @admin.display(description=gettext_lazy("USCC check"), boolean=True)
    def credit_code_checked(self, obj):
        try:
            validate_uscc(obj.organization.credit_code)
        except ValidationError:
            return False
        return True

    @admin.display(description=gettext_lazy("Payable"))
    def payable(self, obj):
        """What the platform owes the provider; held (no payout) unless approved."""
        balance = (Account.objects.filter(organization_id=obj.organization_id, kind=Account.Kind.PROVIDER_PAYABLE)
                   .values_list("balance_fen", flat=True).first() or 0)
        return _("%(amount)s (held)") % {"amount": fen_display(balance)} if obj.payable_held else fen_display(balance)

    def _run(self, request, queryset, service, **kwargs):
        done = 0
        for profile in queryset.select_related("organization"):
            try:
                service(actor=Actor(user=request.user), organization=profile.organization, **kwargs)
            except (ValidationError, PermissionDenied) as error:
                text = " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
                self.message_user(request, f"{profile.organization.name}: {text}", messages.ERROR)
            else:
                done += 1
        if done:
            self.message_user(request, _("%(n)d provider(s) updated.") % {"n": done}, messages.SUCCESS)

    def _with_reason(self, request, queryset, service, title):
        """An intermediate page asking why (the provider sees it), then the service for each selected row."""
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            self._run(request, queryset, service, reason=form.cleaned_data["reason"])
            return None
        return TemplateResponse(request, "admin/catalog/providerprofile/reason.html", {
            **self.admin_site.each_context(request), "title": title, "form": form, "profiles": queryset,
            "action": request.POST.get("action", ""), "opts": self.model._meta,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        })

    @admin.action(description=gettext_lazy("Approve: sell their capacity"))
    def approve(self, request, queryset):
        self._run(request, queryset, services.provider_approve)

    @admin.action(description=gettext_lazy("Reject (with a reason)"))
    def reject(self, request, queryset):
        return self._with_reason(request, queryset, services.provider_reject, _("Reject providers"))

    @admin.action(description=gettext_lazy("Suspend: cordon their nodes, hold their payable"))
    def suspend(self, request, queryset):
        return self._with_reason(request, queryset, services.provider_suspend, _("Suspend providers"))

    @admin.action(description=gettext_lazy("Reinstate suspended providers"))
    def reinstate(self, request, queryset):
        self._run(request, queryset, services.provider_reinstate)
