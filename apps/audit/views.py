from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from apps.tenancy.access import active_organization
from apps.tenancy.models import Role

from .selectors import audit_events_for_organization


@login_required
@require_GET
def audit_log(request):
    organization = active_organization(request, min_role=Role.AUDITOR)
    if organization is None:
        return redirect("tenancy:organization_create")
    events = audit_events_for_organization(organization=organization)
    action = request.GET.get("action", "").strip()
    if action:
        events = events.filter(action__startswith=action)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(request, "audit/audit_log.html", {"organization": organization, "page": page, "action": action})
