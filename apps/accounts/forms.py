from django import forms
from django.utils.translation import gettext_lazy as _


class SshKeyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, required=False,
                           help_text=_("Optional; the key's comment is used when empty."))
    public_key = forms.CharField(label=_("Public key"), max_length=16 * 1024,
                                 widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false",
                                                              "placeholder": "ssh-ed25519 AAAA… you@laptop"}),
                                 help_text=_("The contents of your ~/.ssh/id_ed25519.pub (ed25519, ECDSA or RSA of "
                                             "at least 2048 bits)."))
