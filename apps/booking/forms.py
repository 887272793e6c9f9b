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
from .validation import gpu_shape_errors

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


SHAPE_KEYS = ("gpu_count", "gpu_milli", "gpu_memory_mib", "profile")
# Where the shape rule's field errors show on the form (the API's field → the form's), and where an error
# about the shape as a whole goes for each choice.
FORM_FIELD = {"gpu_milli": "gpu_percent", "gpu_memory_mib": "gpu_memory_gib", "profile": "profile"}
SHAPE_FIELD = {Shape.FRACTIONAL: "gpu_percent", Shape.PROFILE: "profile", Shape.WHOLE: "gpu_count"}


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
        if shape in SHAPE_FIELD:
            # The same rule, with the same messages, as the API's (booking.validation).
            errors = gpu_shape_errors(**{k: v for k, v in self._gpu_shape(data).items() if k in SHAPE_KEYS})
            for field, messages in errors.items():
                for message in messages:
                    self.add_error(FORM_FIELD.get(field, SHAPE_FIELD[shape]), message)
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
        fields = {
            "name": data["name"], "kind": data["kind"], "billing_mode": data["billing_mode"],
            "accelerator_models": [m.code for m in models], "preferred_region": data["region"],
            "allowed_regions": regions_near(region=data["region"]) if data.get("nearby") else [],
            "image": data["image"], "spec": {"command": data["command_argv"]} if data["command_argv"] else {},
            # Aware already: with USE_TZ, DateTimeField reads input in the current time zone.
            "window_start": data.get("window_start"), "window_end": data.get("window_end"),
        }
        fields.update(self._gpu_shape(data))
        return fields

    @staticmethod
    def _gpu_shape(data: dict) -> dict:
        """The GPU shape and host resources of the chosen slice (zeros where the form left them empty)."""
        shape = data.get("shape")
        if shape == Shape.WHOLE:
            cards = data.get("gpu_count") or 0
            return {"gpu_count": cards, "gpu_milli": 0, "gpu_memory_mib": 0, "profile": "",
                    "cpu_milli": 1000 * (data.get("cpu_cores") or CARD_CPU_CORES * max(cards, 1)),
                    "memory_mib": 1024 * (data.get("memory_gib") or CARD_MEMORY_GIB * max(cards, 1))}
        fields = {"gpu_count": 0, "gpu_milli": 0, "gpu_memory_mib": 0, "profile": "",
                  "cpu_milli": 1000 * (data.get("cpu_cores") or SLICE_CPU_CORES),
                  "memory_mib": 1024 * (data.get("memory_gib") or SLICE_MEMORY_GIB)}
        if shape == Shape.PROFILE:
            fields["profile"] = (data.get("profile") or "").strip()
            return fields
        milli = (data.get("gpu_percent") or 0) * 10
        if data.get("gpu_memory_gib"):
            memory = data["gpu_memory_gib"] * 1024
        else:
            # The same share of the smallest card it may land on, so the slice fits wherever it goes.
            card_memory = min((m.memory_mib for m in data.get("accelerator_models") or []), default=16 * 1024)
            memory = card_memory * milli // 1000
        fields.update(gpu_milli=milli, gpu_memory_mib=memory)
        return fields
