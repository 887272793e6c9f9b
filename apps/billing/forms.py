from django import forms
from django.utils.translation import gettext_lazy as _

from .models import FapiaoRequest


class FapiaoRequestForm(forms.Form):
    kind = forms.ChoiceField(label=_("Fapiao type"), choices=FapiaoRequest.Kind.choices, widget=forms.RadioSelect)
    title = forms.CharField(label=_("Invoice title"), max_length=200,
                            help_text=_("The company name exactly as registered."))
    tax_id = forms.CharField(label=_("Tax id"), max_length=30,
                             help_text=_("纳税人识别号, usually the unified social credit code."))


class FapiaoIssueForm(forms.Form):
    fapiao_number = forms.CharField(label=_("Fapiao number"), max_length=20)
    issued_on = forms.DateField(label=_("Issued on"), widget=forms.DateInput(attrs={"type": "date"}))


class FapiaoRejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=300)
