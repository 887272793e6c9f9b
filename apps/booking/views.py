"""Customer portal: the organization's workloads with their state, why they wait, and their timeline."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from apps.tenancy.access import Actor, access_object, access_organization, role_at_least
from apps.tenancy.models import Role

from . import services
from .models import Workload

LIVE_STATES = {Workload.State.PENDING, Workload.State.PLACED, Workload.State.STARTING, Workload.State.RUNNING,
               Workload.State.STOPPING}


@login_required
@require_GET
def workload_list(request):
    membership = request.active_membership
    if not membership:
        return redirect("tenancy:organization_create")
    organization = access_organization(Actor(user=request.user), membership.organization_id)
    workloads = (Workload.objects.filter(organization=organization).select_related("preferred_region")
                 .order_by("-created_at"))
    page = Paginator(workloads, 25).get_page(request.GET.get("page"))
    template = "booking/partials/workload_rows.html" if request.htmx else "booking/workload_list.html"
    return render(request, template, {
        "organization": organization, "page": page, "live_states": LIVE_STATES,
        "can_stop": role_at_least(membership.role, Role.MEMBER),
        "any_live": any(w.state in LIVE_STATES for w in page.object_list),
    })


@login_required
@require_GET
def workload_detail(request, pk):
    workload = access_object(Actor(user=request.user), Workload.objects.select_related("preferred_region"), pk)
    return render(request, "booking/workload_detail.html", {
        "workload": workload, "events": workload.events.all(), "live": workload.state in LIVE_STATES,
        "can_stop": role_at_least(request.active_membership.role, Role.MEMBER) if request.active_membership else False,
    })


@login_required
@require_POST
def workload_stop(request, pk):
    actor = Actor(user=request.user)
    workload = access_object(actor, Workload.objects.all(), pk, min_role=Role.MEMBER)
    workload = services.workload_stop(actor=actor, workload=workload)
    messages.success(request, _("“%(name)s” is %(state)s.") % {"name": workload.name,
                                                                "state": workload.get_state_display()})
    return redirect("booking:workload_detail", pk=workload.pk)
