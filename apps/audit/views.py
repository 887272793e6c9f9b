from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from apps.tenancy.access import Actor, access_organization
from apps.tenancy.models import Role

from .selectors import audit_events_for_organization


@login_required
@require_GET
def audit_log(request):
    membership = request.active_membership
    if not membership:
        return redirect("tenancy:organization_create")
    organization = access_organization(Actor(user=request.user), membership.organization_id, min_role=Role.AUDITOR)
    events = audit_events_for_organization(organization=organization)
    action = request.GET.get("action", "").strip()
    if action:
        events = events.filter(action__startswith=action)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "audit/audit_log.html", {"organization": organization, "page": page, "action": action})
