from datetime import date
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from apps.catalog.models import AcceleratorModel
from apps.tenancy.models import Organization

from .models import HardwareClass, RedemptionMode, RuleVersion


def _yuan(label, required=True):
    return forms.DecimalField(label=label, required=required, min_value=Decimal("0.01"), max_digits=15,
                              decimal_places=2, widget=forms.NumberInput(attrs={"step": "0.01"}))


def yuan_to_fen(value):
    return None if value is None else int((value * 100).to_integral_value())


class ProgramForm(forms.Form):
    name = forms.CharField(label=_("Name (English)"), max_length=200)
    name_zh = forms.CharField(label=_("Name (Chinese)"), max_length=200)
    budget = _yuan(_("Budget (¥)"))
    valid_from = forms.DateField(label=_("Valid from"), widget=forms.DateInput(attrs={"type": "date"}))
    valid_until = forms.DateField(label=_("Valid until (first day it no longer pays)"),
                                  widget=forms.DateInput(attrs={"type": "date"}))
    redemption_mode = forms.ChoiceField(label=_("Redemption mode"), initial=RedemptionMode.DEDUCT, required=False,
                                        choices=[(RedemptionMode.DEDUCT, RedemptionMode.DEDUCT.label),
                                                 (RedemptionMode.CLAIM, RedemptionMode.CLAIM.label)])


STEPS_HELP = _("One step per line: the rate in percent, then the start — months of the grant's age (e.g. 12) "
               "or a date (2027-01-01) — then optionally domestic/imported and a size class (startup, sme, large). "
               "Example: “50 0”, “30 12”, “100 0 startup”.")


def parse_steps(text: str, basis: str) -> list[dict]:
    steps = []
    for number, line in enumerate([line for line in (text or "").splitlines() if line.strip()], start=1):
        parts = line.replace("%", " ").split()
        try:
            rate_bp = int(Decimal(parts[0]) * 100)
            start = parts[1]
        except (IndexError, ArithmeticError, ValueError) as exc:
            raise ValidationError(_("Line %(n)s: give a rate and a start.") % {"n": number}) from exc
        step = {"rate_bp": rate_bp, "hardware_class": "", "size_class": ""}
        try:
            if basis == RuleVersion.TaperBasis.CALENDAR:
                step["starts_on"] = date.fromisoformat(start)
            else:
                step["starts_after_months"] = int(start)
        except ValueError as exc:
            raise ValidationError(_("Line %(n)s: the start is a number of months or a date, as the taper basis "
                                    "says.") % {"n": number}) from exc
        for word in parts[2:]:
            if word in HardwareClass.values:
                step["hardware_class"] = word
            elif word in Organization.SizeClass.values:
                step["size_class"] = word
            else:
                raise ValidationError(_("Line %(n)s: unknown word “%(word)s”.") % {"n": number, "word": word})
        steps.append(step)
    return steps


class RuleVersionForm(forms.Form):
    effective_from = forms.DateTimeField(label=_("Effective from"),
                                         widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    taper_basis = forms.ChoiceField(label=_("Taper by"), choices=RuleVersion.TaperBasis.choices)
    steps = forms.CharField(label=_("Taper steps"), widget=forms.Textarea(attrs={"rows": 5}), help_text=STEPS_HELP,
                            max_length=3000)
    annual_cap = _yuan(_("Cap per enterprise per calendar year (¥)"), required=False)
    grant_cap = _yuan(_("Largest grant (¥)"), required=False)
    size_classes = forms.MultipleChoiceField(label=_("Size classes (none: all)"), required=False,
                                             choices=Organization.SizeClass.choices,
                                             widget=forms.CheckboxSelectMultiple)
    industries = forms.MultipleChoiceField(label=_("Industries (none: all)"), required=False,
                                           choices=Organization.Industry.choices, widget=forms.CheckboxSelectMultiple)
    vendors = forms.MultipleChoiceField(label=_("Chip vendors (none: all)"), required=False,
                                        choices=AcceleratorModel.Vendor.choices, widget=forms.CheckboxSelectMultiple)
    billing_modes = forms.MultipleChoiceField(label=_("Billing modes (none: all)"), required=False,
                                              choices=[("on_demand", _("On demand")), ("reserved", _("Reserved")),
                                                       ("spot", _("Spot (interruptible)"))],
                                              widget=forms.CheckboxSelectMultiple)

    def clean(self):
        data = super().clean()
        if "steps" in data and "taper_basis" in data:
            try:
                data["parsed_steps"] = parse_steps(data["steps"], data["taper_basis"])
            except ValidationError as error:
                self.add_error("steps", error)
        return data


class ApplicationForm(forms.Form):
    description = forms.CharField(label=_("Project description"), max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 6}))
    requested = _yuan(_("Requested amount (¥)"))
    attachment = forms.FileField(label=_("Attachment (PDF, image, ZIP, Word, Excel; at most 10 MB)"), required=False)


class AnswerForm(forms.Form):
    description = forms.CharField(label=_("Project description"), max_length=5000,
                                  widget=forms.Textarea(attrs={"rows": 6}))


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), choices=[("approve", _("Approve")),
                                                                ("request_info", _("Ask for more information")),
                                                                ("reject", _("Reject"))])
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}))
    amount = _yuan(_("Granted amount (¥)"), required=False)
    starts_on = forms.DateField(label=_("Grant starts on (the taper clock)"), required=False,
                                widget=forms.DateInput(attrs={"type": "date"}))


class ActionForm(forms.Form):
    action = forms.ChoiceField(choices=[("open", "open"), ("pause", "pause"), ("close", "close"), ("kill", "kill")])
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)
