from __future__ import annotations

from django.db.models import QuerySet

from .access import Actor, memberships_of
from .models import ApiKey, Invitation, Membership, Organization, Role


def membership_list_for_actor(*, actor: Actor) -> QuerySet[Membership]:
    return memberships_of(actor).order_by("organization__name")


def member_list(*, organization: Organization) -> QuerySet[Membership]:
    return Membership.objects.filter(organization=organization).select_related("user").order_by("created_at")


def organization_admin_emails(*, organization: Organization) -> list[str]:
    """E-mail addresses of the organization's owners and admins: who hears about its money and its work."""
    return list(Membership.objects.filter(organization=organization, role__in=[Role.OWNER, Role.ADMIN])
                .order_by("created_at").values_list("user__email", flat=True))


def invitation_list(*, organization: Organization) -> QuerySet[Invitation]:
    return Invitation.objects.filter(organization=organization).select_related("invited_by").order_by("-created_at")


def api_key_list(*, organization: Organization) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(organization=organization).select_related("created_by").order_by("-created_at")
