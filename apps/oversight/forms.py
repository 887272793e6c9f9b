from django import forms
from django.utils.translation import gettext_lazy as _

from oversight_verify.kpi import TARGETABLE

from .labels import DIMENSION_LABELS, KPI_LABELS
from .periods import KINDS

PERIOD_LABELS = {"day": _("Day"), "week": _("Week"), "month": _("Month"), "quarter": _("Quarter"),
                 "custom": _("Custom")}


class PeriodForm(forms.Form):
    """The period and scope of an oversight page, from the query string. Validation (what makes a period
    valid, what is inside the jurisdiction) is the selectors'; errors land on these fields."""

    period = forms.ChoiceField(label=_("Period"), choices=[(k, PERIOD_LABELS[k]) for k in KINDS], required=False)
    start = forms.CharField(label=_("Start"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.CharField(label=_("End (custom)"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    by = forms.ChoiceField(label=_("Break down by"), required=False,
                           choices=[("", _("Next level")), *DIMENSION_LABELS.items()])
    region = forms.CharField(required=False, widget=forms.HiddenInput)
    provider = forms.CharField(required=False, widget=forms.HiddenInput)
    cluster = forms.CharField(required=False, widget=forms.HiddenInput)
    node = forms.CharField(required=False, widget=forms.HiddenInput)
    vendor_class = forms.ChoiceField(label=_("Accelerators"), required=False, choices=[
        ("", _("All")), ("domestic", _("Domestic")), ("imported", _("Imported"))])
    model = forms.CharField(required=False, widget=forms.HiddenInput)


class TargetForm(forms.Form):
    kpi = forms.ChoiceField(label=_("KPI"), choices=[(k, KPI_LABELS[k]) for k in TARGETABLE])
    green_at = forms.FloatField(label=_("Green at or above"), help_text=_("Rates in %, e.g. 60"))
    amber_at = forms.FloatField(label=_("Amber at or above"), help_text=_("Below this: red"))
