"""Customer portal: wallet balance, top-ups, the ledger and payments."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from apps.tenancy.access import Actor, access_organization

from .selectors import balance_get


@login_required
@require_GET
def wallet(request):
    membership = request.active_membership
    if not membership:
        return redirect("tenancy:organization_create")
    organization = access_organization(Actor(user=request.user), membership.organization_id)
    return render(request, "ledger/wallet.html", {"organization": organization,
                                                  "balance": balance_get(organization=organization)})
