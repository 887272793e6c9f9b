"""Provider portal: clusters, enrollment tokens, nodes with live telemetry and charts. These pages
combine the catalog (what is registered) with telemetry (tokens, live readings) and scheduling (what
runs where), so they sit in the portal layer above all three."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from apps.catalog import selectors, services
from apps.catalog.forms import (
    BootstrapTokenForm,
    ClusterAddressForm,
    ClusterForm,
    ClusterSharingForm,
    NodeActionForm,
    ProviderProfileForm,
)
from apps.catalog.models import Cluster, Device, Node, ProviderProfile
from apps.core.forms import apply_service_errors
from apps.telemetry import selectors as telemetry_selectors
from apps.telemetry import services as telemetry_services
from apps.telemetry.models import BootstrapToken
from apps.tenancy.access import access_object, active_organization, actor_from_request, role_at_least
from apps.tenancy.models import Organization, Role


def _provider(request, *, min_role: str = Role.VIEWER) -> Organization:
    return active_organization(request, kind=Organization.Kind.PROVIDER, min_role=min_role,
                               missing=_("Switch to a provider organization to manage a fleet."))


def _is_admin(request) -> bool:
    return role_at_least(request.active_membership.role, Role.ADMIN)


@login_required
@require_http_methods(["GET", "POST"])
def cluster_list(request):
    organization = _provider(request)
    form = ClusterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            cluster = services.cluster_create(actor=actor_from_request(request), organization=organization,
                                              **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Cluster “%(name)s” registered. Create an enrollment token to add nodes.")
                             % {"name": cluster.name})
            return redirect("fleet:cluster_detail", pk=cluster.pk)
    clusters = (Cluster.objects.filter(organization=organization).select_related("region")
                .annotate(node_count=Count("nodes", filter=~Q(nodes__state=Node.State.DECOMMISSIONED), distinct=True),
                          device_count=Count("nodes__devices", distinct=True)))
    return render(request, "catalog/cluster_list.html", {
        "clusters": clusters, "form": form, "can_manage": _is_admin(request),
        "vetting": selectors.provider_profile(organization=organization)})


@login_required
@require_http_methods(["GET", "POST"])
def cluster_detail(request, pk):
    organization = _provider(request)
    cluster = access_object(actor_from_request(request), Cluster.objects.select_related("region"), pk)
    if cluster.organization_id != organization.id:
        raise Http404
    form = BootstrapTokenForm(request.POST or None)
    new_token = None
    if request.method == "POST" and form.is_valid():
        try:
            _token, new_token = telemetry_services.bootstrap_token_create(
                actor=actor_from_request(request), cluster=cluster, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Enrollment token created. Run the command below on the node: "
                                        "the token is shown only once."))
            form = BootstrapTokenForm()
    return _cluster_page(request, cluster, form=form, new_token=new_token)


def _cluster_page(request, cluster: Cluster, *, form=None, new_token=None, address_form=None):
    context = {
        "cluster": cluster, "form": form if form is not None else BootstrapTokenForm(), "new_token": new_token,
        "can_manage": _is_admin(request),
        "server_url": settings.SITE_URL,
        "tokens": BootstrapToken.objects.filter(cluster=cluster).order_by("-created_at")[:20],
        "nodes": _nodes_with_usage(cluster),
        "sharing_form": ClusterSharingForm(initial={"gpu_sharing": cluster.gpu_sharing}),
        "address_form": address_form or ClusterAddressForm(initial={
            "public_host": cluster.public_host, "public_port_min": cluster.public_port_min,
            "public_port_max": cluster.public_port_max}),
    }
    return render(request, "catalog/cluster_detail.html", context, status=400 if address_form else 200)


def _nodes_with_usage(cluster: Cluster) -> list[Node]:
    nodes = list(Node.objects.filter(cluster=cluster).annotate(
        device_total=Count("devices", distinct=True),
        device_quarantined=Count("devices", filter=Q(devices__health=Device.Health.QUARANTINED), distinct=True),
    ).order_by("hostname"))
    utilization = telemetry_selectors.node_utilization_now(node_ids=[node.id for node in nodes])
    for node in nodes:
        node.utilization = utilization.get(node.id)
    return nodes


@login_required
@require_GET
def cluster_nodes_partial(request, pk):
    """htmx: the node table, refreshed every few seconds on the cluster page."""
    organization = _provider(request)
    cluster = access_object(actor_from_request(request), Cluster.objects.all(), pk)
    if cluster.organization_id != organization.id:
        raise Http404
    return render(request, "catalog/partials/node_table.html", {"nodes": _nodes_with_usage(cluster)})


@login_required
@require_POST
def cluster_sharing(request, pk):
    organization = _provider(request)
    actor = actor_from_request(request)
    cluster = access_object(actor, Cluster.objects.all(), pk, min_role=Role.ADMIN)
    if cluster.organization_id != organization.id:
        raise Http404
    form = ClusterSharingForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the listed sharing modes."))
        return redirect("fleet:cluster_detail", pk=cluster.pk)
    try:
        cluster = services.cluster_sharing_set(actor=actor, cluster=cluster, **form.cleaned_data)
    except ValidationError as error:
        messages.error(request, " ".join(error.message_dict.get("gpu_sharing", error.messages)))
    else:
        messages.success(request, _("Cards in “%(name)s” are now sold as: %(mode)s.")
                         % {"name": cluster.name, "mode": cluster.get_gpu_sharing_display()})
    return redirect("fleet:cluster_detail", pk=cluster.pk)


@login_required
@require_POST
def cluster_address(request, pk):
    """Declare the public host and port range through which the cluster's instances are reached."""
    organization = _provider(request)
    actor = actor_from_request(request)
    cluster = access_object(actor, Cluster.objects.all(), pk, min_role=Role.ADMIN)
    if cluster.organization_id != organization.id:
        raise Http404
    form = ClusterAddressForm(request.POST)
    if form.is_valid():
        try:
            cluster = services.cluster_address_set(actor=actor, cluster=cluster, **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("Instances in “%(name)s” are now shown at their public address.")
                             % {"name": cluster.name} if cluster.public_host else
                             _("Instances in “%(name)s” are shown at their nodes' own addresses.")
                             % {"name": cluster.name})
            return redirect("fleet:cluster_detail", pk=cluster.pk)
    return _cluster_page(request, cluster, address_form=form)


@login_required
@require_POST
def bootstrap_token_revoke(request, pk):
    actor = actor_from_request(request)
    token = access_object(actor, BootstrapToken.objects.select_related("cluster"), pk, min_role=Role.ADMIN)
    telemetry_services.bootstrap_token_revoke(actor=actor, token=token)
    messages.success(request, _("Enrollment token revoked."))
    return redirect("fleet:cluster_detail", pk=token.cluster_id)


@login_required
@require_GET
def node_detail(request, pk):
    _provider(request)
    node = access_object(actor_from_request(request), Node.objects.select_related("cluster__region"), pk)
    devices = list(Device.objects.filter(node=node).select_related("model").order_by("index"))
    latest = telemetry_selectors.device_latest_samples(node=node)
    for device in devices:
        device.latest = latest.get(device.id)
    return render(request, "catalog/node_detail.html", {
        "node": node, "devices": devices, "can_manage": _is_admin(request),
        "node_actions": services.node_actions_allowed(node=node),
        "assignments": node.assignments.order_by("-created_at")[:20],
    })


@login_required
@require_GET
def node_telemetry(request, pk):
    _provider(request)
    node = access_object(actor_from_request(request), Node.objects.all(), pk)
    range_key = request.GET.get("range", "1h")
    if range_key not in telemetry_selectors.RANGES:
        return JsonResponse({"error": {"code": "validation_error", "message": _("Unknown range."),
                                       "fields": {"range": [_("Choose 1h, 24h or 7d.")]}}}, status=400)
    return JsonResponse(telemetry_selectors.node_series(node=node, range_key=range_key))


@login_required
@require_POST
def node_action(request, pk):
    node = access_object(actor_from_request(request), Node.objects.all(), pk, min_role=Role.ADMIN)
    form = NodeActionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Unknown action."))
        return redirect("fleet:node_detail", pk=node.pk)
    try:
        services.node_set_state(actor=actor_from_request(request), node=node, action=form.cleaned_data["action"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        done = {"cordon": _("Node %(host)s is cordoned: it takes no new work."),
                "uncordon": _("Node %(host)s takes new work again."),
                "drain": _("Node %(host)s is draining: its workloads are being stopped."),
                "decommission": _("Node %(host)s is decommissioned; its agent credential no longer works.")}
        messages.success(request, done[form.cleaned_data["action"]] % {"host": node.hostname})
    return redirect("fleet:node_detail", pk=node.pk)


@login_required
@require_POST
def device_release(request, pk):
    device = access_object(actor_from_request(request), Device.objects.select_related("node"), pk, min_role=Role.ADMIN)
    try:
        services.device_release(actor=actor_from_request(request), device=device)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Device %(index)s is back in service.") % {"index": device.index})
    return redirect("fleet:node_detail", pk=device.node_id)


@login_required
@require_http_methods(["GET", "POST"])
def provider_vetting(request):
    """The provider's vetting record: fill it in, submit it for review, see the state (and why)."""
    organization = _provider(request)
    profile = selectors.provider_profile(organization=organization)
    can_edit = _is_admin(request) and profile.editable
    initial = {"credit_code": organization.credit_code,
               **{name: getattr(profile, name) for name in services.VETTING_FIELDS}}
    form = ProviderProfileForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied(_("Only owners and admins can change the record, and only until it is approved."))
        if form.is_valid():
            actor = actor_from_request(request)
            try:
                with transaction.atomic():
                    profile = services.provider_profile_save(actor=actor, organization=organization,
                                                             **form.cleaned_data)
                    if profile.state in (ProviderProfile.State.DRAFT, ProviderProfile.State.REJECTED):
                        profile = services.provider_profile_submit(actor=actor, organization=organization)
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("Submitted: TideGrid staff will review it. Your capacity goes on "
                                            "sale once it is approved."))
                return redirect("fleet:provider_vetting")
    return render(request, "catalog/provider_vetting.html",
                  {"profile": profile, "form": form, "can_edit": can_edit, "organization": organization})
