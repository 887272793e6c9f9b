from decimal import Decimal, InvalidOperation

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Payment
from .payments import TOP_UP_MAX_FEN, TOP_UP_MIN_FEN, TOP_UP_PRESETS_FEN
from .services import fen_display


def _yuan_field(label, *, min_fen: int, max_fen: int | None = None, required: bool = True) -> forms.DecimalField:
    return forms.DecimalField(
        label=label, required=required, min_value=Decimal(min_fen) / 100,
        max_value=Decimal(max_fen) / 100 if max_fen is not None else None, max_digits=12, decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}))


def yuan_to_fen(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


class TopUpForm(forms.Form):
    CUSTOM = "custom"

    preset = forms.ChoiceField(
        label=_("Amount"), required=False, widget=forms.RadioSelect,
        choices=[(str(fen), fen_display(fen)) for fen in TOP_UP_PRESETS_FEN] + [(CUSTOM, _("Other amount"))])
    # Checked in clean(), and only when it is the chosen amount: a stale value typed before picking a
    # preset must not block the preset.
    custom_amount = forms.CharField(label=_("Other amount (¥)"), required=False, max_length=20,
                                    widget=forms.NumberInput(attrs={"step": "0.01", "inputmode": "decimal"}))

    method = forms.ChoiceField(label=_("Pay with"), choices=Payment.Method.choices, initial=Payment.Method.CARD,
                               required=False, widget=forms.RadioSelect)

    def clean(self):
        data = super().clean()
        data["method"] = data.get("method") or Payment.Method.CARD
        preset, custom = data.get("preset"), (data.get("custom_amount") or "").strip()
        if preset and preset != self.CUSTOM:
            data["amount_fen"] = int(preset)
            return data
        if not custom:
            self.add_error("custom_amount", _("Choose an amount or enter another one."))
            return data
        try:
            amount = Decimal(custom)
        except InvalidOperation:
            amount = None
        if amount is None or not amount.is_finite() or amount != amount.quantize(Decimal("0.01")) \
                or not TOP_UP_MIN_FEN <= amount * 100 <= TOP_UP_MAX_FEN:
            self.add_error("custom_amount", _("Enter an amount in yuan with at most two decimals, from %(min)s "
                                              "to %(max)s.") % {"min": fen_display(TOP_UP_MIN_FEN),
                                                                "max": fen_display(TOP_UP_MAX_FEN)})
            return data
        data["amount_fen"] = yuan_to_fen(amount)
        return data


class ThresholdForm(forms.Form):
    threshold = _yuan_field(_("Warn me below (¥)"), min_fen=0, max_fen=10**12)


class RefundForm(forms.Form):
    amount = _yuan_field(_("Refund (¥)"), min_fen=1, max_fen=TOP_UP_MAX_FEN)


class BankTransferForm(forms.Form):
    """Staff: a transfer that arrived on the platform's bank account."""

    remittance_reference = forms.CharField(label=_("Remittance reference"), max_length=40,
                                           help_text=_("From the transfer's remark, e.g. TG3F9A2C81D4."))
    amount = _yuan_field(_("Amount received (¥)"), min_fen=1, max_fen=100_000_000_000)
    bank_reference = forms.CharField(label=_("Bank reference"), max_length=100,
                                     help_text=_("The bank's transaction number (流水号) from the statement."))
    value_date = forms.DateField(label=_("Value date"), widget=forms.DateInput(attrs={"type": "date"}))
    note = forms.CharField(label=_("Note"), max_length=300, required=False)


class TestCardForm(forms.Form):
    """Test mode against the local Stripe stand-in: a test card, typed in the portal (never a real one)."""

    number = forms.CharField(label=_("Card number"), max_length=23,
                             widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}))
    expiry = forms.CharField(label=_("Expiry (MM/YY)"), max_length=5,
                             widget=forms.TextInput(attrs={"autocomplete": "off"}))
    cvc = forms.CharField(label=_("CVC"), max_length=4, widget=forms.TextInput(attrs={"autocomplete": "off"}))

    def clean_number(self):
        number = "".join(self.cleaned_data["number"].split())
        if not number.isdigit() or len(number) != 16:
            raise forms.ValidationError(_("Enter the 16 digits of the test card, e.g. 4242 4242 4242 4242."))
        return number

    def clean_expiry(self):
        month, _slash, year = (part.strip() for part in self.cleaned_data["expiry"].partition("/"))
        if not (month.isdigit() and year.isdigit() and 1 <= int(month) <= 12 and len(year) == 2):
            raise forms.ValidationError(_("Enter the expiry as MM/YY, e.g. 12/34."))
        return int(month), 2000 + int(year)

    def clean_cvc(self):
        cvc = self.cleaned_data["cvc"].strip()
        if not cvc.isdigit() or len(cvc) != 3:
            raise forms.ValidationError(_("Enter the three digits of the CVC."))
        return cvc
