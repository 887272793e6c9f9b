from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from apps.tenancy import selectors as tenancy_selectors
from apps.tenancy.access import Actor, role_at_least
from apps.tenancy.models import Role


@require_GET
def home(request):
    if request.user.is_authenticated:
        return redirect("portal:dashboard")
    return render(request, "portal/home.html")


@login_required
@require_GET
def dashboard(request):
    """The persona's start page: what they can do next with the organization they are working in."""
    membership = request.active_membership
    if not membership:
        return render(request, "portal/dashboard_no_org.html", {
            "memberships": tenancy_selectors.membership_list_for_actor(actor=Actor(user=request.user)),
        })
    organization = membership.organization
    context = {
        "organization": organization,
        "role": membership.role,
        "is_admin": role_at_least(membership.role, Role.ADMIN),
        "member_count": tenancy_selectors.member_list(organization=organization).count(),
        "jurisdiction": list(organization.jurisdiction.all()) if organization.kind == "government" else [],
        "persona_label": settings.PERSONA_LABELS.get(organization.kind, ""),
    }
    return render(request, f"portal/dashboard_{organization.kind}.html", context)
