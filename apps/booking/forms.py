"""The booking form: what a customer picks in the browser, turned into the fields of ``workload_submit``.

The form only translates choices into a request (percent → milli-GPU, GiB → MiB, "nearby regions" →
region codes); every rule about what may be booked stays in the model's validation
and the service (the billing mode's priority band: ``rules``), so the browser and the REST API store and
refuse the same things with the same messages.
"""

from __future__ import annotations

import shlex

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.catalog.forms import RegionChoiceField
from apps.catalog.models import AcceleratorModel
from apps.catalog.selectors import regions_near

from .images import image_choices
from .models import Workload

# Host resources that come with a slice or a card unless the customer asks for more (advanced fields).
SLICE_CPU_CORES, SLICE_MEMORY_GIB = 2, 8
CARD_CPU_CORES, CARD_MEMORY_GIB = 8, 32


class Shape:
    FRACTIONAL = "fractional"
    PROFILE = "profile"
    WHOLE = "whole"
    CHOICES = [
        (FRACTIONAL, _("A share of one card (compute % + memory)")),
        (PROFILE, _("A fixed partition (MIG / vNPU profile)")),
        (WHOLE, _("Whole cards")),
    ]


class ModelChoiceWithSpecs(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: AcceleratorModel) -> str:
        return f"{obj.name} · {obj.memory_mib // 1024} GB · {obj.fp16_tflops} TFLOPS"


class WorkloadBookingForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, initial="my-instance")
    kind = forms.ChoiceField(label=_("Kind"), choices=Workload.Kind.choices, initial=Workload.Kind.INSTANCE,
                             widget=forms.RadioSelect)
    accelerator_models = ModelChoiceWithSpecs(
        label=_("Accelerator"), queryset=AcceleratorModel.objects.order_by("vendor", "-fp16_tflops"),
        to_field_name="code", required=False, widget=forms.SelectMultiple(attrs={"size": 8}),
        help_text=_("Pick one model, or several to accept any of them (Ctrl/⌘-click). None picked: any model."))
    shape = forms.ChoiceField(label=_("Slice"), choices=Shape.CHOICES, initial=Shape.FRACTIONAL,
                              widget=forms.RadioSelect)
    gpu_percent = forms.IntegerField(label=_("Compute share (%)"), min_value=1, max_value=99, initial=25,
                                     required=False)
    gpu_memory_gib = forms.IntegerField(label=_("Card memory (GiB)"), min_value=1, max_value=256, required=False,
                                        help_text=_("Empty: the same share of the card's memory as of its compute."))
    profile = forms.CharField(label=_("Profile"), max_length=40, required=False,
                              help_text=_("e.g. 1g.10gb or 3g.40gb on A100, vir02 on Ascend 910B."))
    gpu_count = forms.IntegerField(label=_("Cards"), min_value=1, max_value=8, initial=1, required=False)
    region = RegionChoiceField(label=_("Region"))
    nearby = forms.BooleanField(label=_("Also run in nearby regions (round trip ≤ 30 ms) when this one is full"),
                                required=False, initial=True)
    billing_mode = forms.ChoiceField(label=_("Billing"), choices=Workload.BillingMode.choices,
                                     initial=Workload.BillingMode.ON_DEMAND, widget=forms.RadioSelect)
    window_start = forms.DateTimeField(label=_("Reserved from"), required=False,
                                       widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    window_end = forms.DateTimeField(label=_("Reserved until"), required=False,
                                     widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    image = forms.ChoiceField(label=_("Image"), choices=image_choices, initial="pytorch")
    command = forms.CharField(label=_("Command"), required=False, max_length=2000,
                              help_text=_("For a batch job: what to run, e.g. python train.py --epochs 3"))
    cpu_cores = forms.IntegerField(label=_("CPU cores"), min_value=1, max_value=256, required=False)
    memory_gib = forms.IntegerField(label=_("Host memory (GiB)"), min_value=1, max_value=2048, required=False)

    def clean(self):
        data = super().clean()
        shape = data.get("shape")
        if shape == Shape.FRACTIONAL and not data.get("gpu_percent"):
            self.add_error("gpu_percent", _("Give the share of the card's compute, from 1 to 99 %."))
        if shape == Shape.PROFILE and not data.get("profile"):
            self.add_error("profile", _("Give the profile, e.g. 1g.10gb."))
        if shape == Shape.WHOLE and not data.get("gpu_count"):
            self.add_error("gpu_count", _("Give the number of cards, from 1 to 8."))
        if data.get("kind") == Workload.Kind.BATCH and not (data.get("command") or "").strip():
            self.add_error("command", _("A batch job needs a command, e.g. python train.py."))
        try:
            data["command_argv"] = shlex.split(data.get("command") or "")
        except ValueError:
            self.add_error("command", _("The command has an unclosed quote."))
        return data

    def workload_fields(self) -> dict:
        """The keyword arguments of ``workload_submit`` for a valid form."""
        data = self.cleaned_data
        models = list(data["accelerator_models"])
        shape = data["shape"]
        fields = {
            "name": data["name"], "kind": data["kind"], "billing_mode": data["billing_mode"],
            "accelerator_models": [m.code for m in models], "preferred_region": data["region"],
            "allowed_regions": regions_near(region=data["region"]) if data.get("nearby") else [],
            "image": data["image"], "spec": {"command": data["command_argv"]} if data["command_argv"] else {},
            # Aware already: with USE_TZ, DateTimeField reads input in the current time zone.
            "window_start": data.get("window_start"), "window_end": data.get("window_end"),
        }
        if shape == Shape.WHOLE:
            cards = data["gpu_count"]
            fields.update(gpu_count=cards, cpu_milli=1000 * (data.get("cpu_cores") or CARD_CPU_CORES * cards),
                          memory_mib=1024 * (data.get("memory_gib") or CARD_MEMORY_GIB * cards))
            return fields
        fields.update(cpu_milli=1000 * (data.get("cpu_cores") or SLICE_CPU_CORES),
                      memory_mib=1024 * (data.get("memory_gib") or SLICE_MEMORY_GIB))
        if shape == Shape.PROFILE:
            fields["profile"] = data["profile"].strip()
            return fields
        milli = data["gpu_percent"] * 10
        if data.get("gpu_memory_gib"):
            memory = data["gpu_memory_gib"] * 1024
        else:
            # The same share of the smallest card it may land on, so the slice fits wherever it goes.
            card_memory = min((m.memory_mib for m in models), default=16 * 1024)
            memory = card_memory * milli // 1000
        fields.update(gpu_milli=milli, gpu_memory_mib=memory)
        return fields
