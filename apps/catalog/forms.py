from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from apps.tenancy.uscc import validate_uscc

from .models import Cluster, Region


class RegionChoiceField(forms.ModelChoiceField):
    """Regions listed in the reader's language: 上海 (cn-shanghai) / Shanghai (cn-shanghai)."""

    def __init__(self, **kwargs):
        super().__init__(queryset=Region.objects.order_by("code"), **kwargs)

    def label_from_instance(self, obj: Region) -> str:
        return f"{obj.display_name(get_language())} ({obj.code})"


class ClusterForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    region = RegionChoiceField(label=_("Region"))
    kind = forms.ChoiceField(label=_("Kind"), choices=Cluster.Kind.choices)
    gpu_sharing = forms.ChoiceField(label=_("GPU sharing"), choices=Cluster.GpuSharing.choices,
                                    initial=Cluster.GpuSharing.CHIP_DEFAULT, required=False,
                                    help_text=_("How your device plugin shares cards: MIG/vNPU partitions, "
                                                "fractional slices (e.g. HAMi) or whole cards."))


    def clean_gpu_sharing(self) -> str:
        return self.cleaned_data.get("gpu_sharing") or Cluster.GpuSharing.CHIP_DEFAULT


class ClusterAddressForm(forms.Form):
    public_host = forms.CharField(label=_("Public host"), max_length=253, required=False,
                                  help_text=_("Host name or IP address customers connect to, e.g. gpu.example.com. "
                                              "Leave all fields empty to show nodes' own addresses."))
    public_port_min = forms.IntegerField(label=_("First port"), min_value=1, max_value=65535, required=False)
    public_port_max = forms.IntegerField(label=_("Last port"), min_value=1, max_value=65535, required=False,
                                         help_text=_("Forward each port of the range to the same port on the node "
                                                     "and start agents with SSH/Jupyter port bases inside it."))


class ClusterSharingForm(forms.Form):
    gpu_sharing = forms.ChoiceField(label=_("GPU sharing"), choices=Cluster.GpuSharing.choices)


class BootstrapTokenForm(forms.Form):
    max_uses = forms.IntegerField(label=_("Nodes it may enroll"), min_value=1, max_value=100_000, initial=1,
                                  help_text=_("1 for one node; more for a fleet or a simulated demo."))
    ttl_hours = forms.IntegerField(label=_("Valid for (hours)"), min_value=1, max_value=720, initial=24)


class NodeActionForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in ("cordon", "uncordon", "drain", "decommission")])


class ProviderProfileForm(forms.Form):
    """The provider's vetting record; field checks here, the service re-checks and writes (and audits)."""

    credit_code = forms.CharField(label=_("Unified social credit code"), max_length=18,
                                  help_text=_("统一社会信用代码, 18 characters, printed on the business licence."))
    contact_name = forms.CharField(label=_("Contact name"), max_length=100)
    contact_phone = forms.CharField(label=_("Contact phone"), max_length=30)
    contact_email = forms.EmailField(label=_("Contact e-mail"))
    bank_name = forms.CharField(label=_("Bank"), max_length=100,
                                help_text=_("Bank and branch, e.g. 中国工商银行上海张江支行"))
    bank_account_name = forms.CharField(label=_("Account name"), max_length=200,
                                        help_text=_("As registered with the bank: usually the company's legal name."))
    bank_account_number = forms.CharField(label=_("Account number"), max_length=40)

    def clean_credit_code(self) -> str:
        code = self.cleaned_data["credit_code"].strip().upper()
        validate_uscc(code)
        return code
