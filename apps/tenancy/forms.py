from django import forms
from django.utils.translation import gettext_lazy as _

from apps.catalog.forms import RegionChoiceField

from .models import Organization, Role
from .uscc import validate_uscc

PROFILE_FORM_FIELDS = ["name", "credit_code", "registered_region", "industry", "size_class", "invoice_title", "tax_id"]


class OrganizationProfileForm(forms.ModelForm):
    """Field validation only; the service does the write (and the audit)."""

    registered_region = RegionChoiceField(required=False, label=_("Registered region"))

    class Meta:
        model = Organization
        fields = PROFILE_FORM_FIELDS

    def clean_credit_code(self):
        code = (self.cleaned_data.get("credit_code") or "").strip().upper()
        if code:
            validate_uscc(code)
        return code

    def _post_clean(self):
        # Skip ModelForm's instance validation: the service runs full_clean inside its transaction.
        pass


class OrganizationCreateForm(OrganizationProfileForm):
    kind = forms.ChoiceField(
        label=_("What will you do on TideGrid?"),
        choices=[(Organization.Kind.CUSTOMER, _("Use GPU compute (customer)")),
                 (Organization.Kind.PROVIDER, _("Offer GPU capacity (provider)"))],
        widget=forms.RadioSelect,
    )

    class Meta(OrganizationProfileForm.Meta):
        fields = ["kind", *PROFILE_FORM_FIELDS]


class InvitationForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"))
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)

    def __init__(self, *args, roles=None, **kwargs):
        super().__init__(*args, **kwargs)
        if roles is not None:
            self.fields["role"].choices = [(role.value, role.label) for role in Role if role in roles]


class MembershipRoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100,
                           help_text=_("Where the key is used, e.g. “CI pipeline” or “training cluster”."))
    role = forms.ChoiceField(label=_("Role"), choices=[(Role.MEMBER, Role.MEMBER.label),
                                                       (Role.VIEWER, Role.VIEWER.label),
                                                       (Role.ADMIN, Role.ADMIN.label)])
