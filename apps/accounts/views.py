"""The signed-in user's own settings pages: SSH public keys."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from apps.core.forms import apply_service_errors

from . import selectors, services
from .forms import SshKeyForm


@login_required
@require_http_methods(["GET", "POST"])
def ssh_keys(request):
    form = SshKeyForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                key = services.ssh_key_add(user=request.user, **form.cleaned_data)
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("SSH key “%(name)s” added. Instances you start from now on accept it.")
                                 % {"name": key.name})
                return redirect("accounts:ssh_keys")
        status = 400
    return render(request, "accounts/ssh_keys.html",
                  {"form": form, "keys": selectors.ssh_key_list(user=request.user)}, status=status)


@login_required
@require_POST
def ssh_key_delete(request, pk):
    key = selectors.ssh_key_get(user=request.user, pk=pk)
    services.ssh_key_delete(user=request.user, ssh_key=key)
    messages.success(request, _("SSH key “%(name)s” removed. Instances already running keep it until they are "
                                "run again.") % {"name": key.name})
    return redirect("accounts:ssh_keys")
