"""Portal pages for the active organization: profile, members and invitations, API keys."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from apps.core.forms import apply_service_errors

from . import selectors, services
from .access import access_object, access_organization, active_organization, actor_from_request, role_at_least
from .forms import ApiKeyForm, InvitationForm, MembershipRoleForm, OrganizationCreateForm, OrganizationProfileForm
from .middleware import SESSION_KEY
from .models import ApiKey, Invitation, Membership, Role


def _needs_organization(request):
    messages.info(request, _("Create an organization first, or accept an invitation to one."))
    return redirect("tenancy:organization_create")


@login_required
@require_http_methods(["GET", "POST"])
def organization_create(request):
    form = OrganizationCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            organization = services.organization_create(actor=actor_from_request(request), **data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            request.session[SESSION_KEY] = str(organization.id)
            messages.success(request, _("Organization “%(name)s” created. You are its owner.")
                             % {"name": organization.name})
            return redirect("portal:dashboard")
    return render(request, "tenancy/organization_create.html", {"form": form})


@login_required
@require_POST
def organization_switch(request):
    organization = access_organization(actor_from_request(request), request.POST.get("organization_id"))
    request.session[SESSION_KEY] = str(organization.id)
    messages.success(request, _("Now working in %(name)s.") % {"name": organization.name})
    next_url = request.POST.get("next") or reverse("portal:dashboard")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = reverse("portal:dashboard")
    return HttpResponseRedirect(next_url)


@login_required
@require_http_methods(["GET", "POST"])
def organization_settings(request):
    organization = active_organization(request)
    if organization is None:
        return _needs_organization(request)
    can_edit = role_at_least(request.active_membership.role, Role.ADMIN)
    form = OrganizationProfileForm(request.POST or None, instance=organization)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied(_("Only owners and admins can edit the organization profile."))
        if form.is_valid():
            try:
                services.organization_update_profile(actor=actor_from_request(request), organization=organization,
                                                     **form.cleaned_data)
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("Profile saved."))
                return redirect("tenancy:organization_settings")
    return render(request, "tenancy/organization_settings.html",
                  {"form": form, "organization": organization, "can_edit": can_edit})


@login_required
@require_http_methods(["GET", "POST"])
def members(request):
    organization = active_organization(request)
    if organization is None:
        return _needs_organization(request)
    can_manage = role_at_least(request.active_membership.role, Role.ADMIN)
    roles = services.roles_for_kind(organization.kind)
    form = InvitationForm(request.POST or None, roles=roles)
    if request.method == "POST":
        if not can_manage:
            raise PermissionDenied(_("Only owners and admins can invite people."))
        if form.is_valid():
            try:
                invitation, _token = services.invitation_create(
                    actor=actor_from_request(request), organization=organization, **form.cleaned_data)
            except ValidationError as error:
                apply_service_errors(form, error)
            else:
                messages.success(request, _("Invitation sent to %(email)s.") % {"email": invitation.email})
                return redirect("tenancy:members")
    context = {
        "organization": organization,
        "members": selectors.member_list(organization=organization),
        "invitations": selectors.invitation_list(organization=organization).filter(state=Invitation.State.PENDING)
        if can_manage else [],
        "form": form,
        "can_manage": can_manage,
        "roles": [(role.value, role.label) for role in Role if role in roles],
    }
    return render(request, "tenancy/members.html", context)


@login_required
@require_POST
def member_change_role(request, pk: int):
    actor = actor_from_request(request)
    membership = access_object(actor, Membership.objects.select_related("user", "organization"), pk,
                               min_role=Role.ADMIN)
    form = MembershipRoleForm(request.POST)
    if form.is_valid():
        try:
            services.membership_change_role(actor=actor, membership=membership, role=form.cleaned_data["role"])
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("%(user)s is now %(role)s.") % {"user": membership.user.email,
                                                                        "role": membership.get_role_display()})
    else:
        messages.error(request, _("Choose a valid role."))
    if request.htmx:
        return render(request, "tenancy/partials/member_row.html",
                      {"m": membership, "can_manage": True, "roles": _role_choices(membership)})
    return redirect("tenancy:members")


def _role_choices(membership):
    roles = services.roles_for_kind(membership.organization.kind)
    return [(role.value, role.label) for role in Role if role in roles]


@login_required
@require_POST
def member_remove(request, pk: int):
    actor = actor_from_request(request)
    membership = access_object(actor, Membership.objects.select_related("user", "organization"), pk)
    try:
        services.membership_remove(actor=actor, membership=membership)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("tenancy:members")
    if membership.user_id == request.user.pk:
        request.session.pop(SESSION_KEY, None)
        messages.success(request, _("You left %(name)s.") % {"name": membership.organization.name})
        return redirect("portal:dashboard")
    messages.success(request, _("%(user)s was removed.") % {"user": membership.user.email})
    return redirect("tenancy:members")


@login_required
@require_POST
def invitation_revoke(request, pk):
    actor = actor_from_request(request)
    invitation = access_object(actor, Invitation.objects.select_related("organization"), pk, min_role=Role.ADMIN)
    try:
        services.invitation_revoke(actor=actor, invitation=invitation)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Invitation to %(email)s withdrawn.") % {"email": invitation.email})
    return redirect("tenancy:members")


@login_required
@require_http_methods(["GET", "POST"])
def invitation_accept(request, token: str):
    invitation = services.invitation_by_token(token=token)
    if request.method == "POST":
        try:
            membership = services.invitation_accept(actor=actor_from_request(request), token=token)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return redirect("portal:dashboard")
        request.session[SESSION_KEY] = str(membership.organization_id)
        messages.success(request, _("Welcome to %(name)s.") % {"name": membership.organization.name})
        return redirect("portal:dashboard")
    # The invitee's address is shown only to its owner: a forwarded or leaked link reveals nothing.
    for_me = invitation is not None and invitation.email.lower() == request.user.email.lower()
    return render(request, "tenancy/invitation_accept.html", {"invitation": invitation, "token": token,
                                                              "for_me": for_me})


@login_required
@require_http_methods(["GET", "POST"])
def api_keys(request):
    organization = active_organization(request, min_role=Role.ADMIN)
    if organization is None:
        return _needs_organization(request)
    form = ApiKeyForm(request.POST or None)
    new_key = None
    if request.method == "POST" and form.is_valid():
        try:
            api_key, new_key = services.api_key_create(actor=actor_from_request(request), organization=organization,
                                                       **form.cleaned_data)
        except ValidationError as error:
            apply_service_errors(form, error)
        else:
            messages.success(request, _("API key “%(name)s” created. Copy it now: it will not be shown again.")
                             % {"name": api_key.name})
            form = ApiKeyForm()
    return render(request, "tenancy/api_keys.html", {
        "organization": organization, "form": form, "new_key": new_key,
        "keys": selectors.api_key_list(organization=organization),
        "api_base": request.build_absolute_uri("/api/v1/"),
    })


@login_required
@require_POST
def api_key_revoke(request, pk):
    actor = actor_from_request(request)
    api_key = access_object(actor, ApiKey.objects.select_related("organization", "created_by"), pk,
                            min_role=Role.ADMIN)
    services.api_key_revoke(actor=actor, api_key=api_key)
    messages.success(request, _("API key “%(name)s” revoked.") % {"name": api_key.name})
    if request.htmx:
        api_key.refresh_from_db()
        return render(request, "tenancy/partials/api_key_row.html", {"key": api_key})
    return redirect("tenancy:api_keys")
