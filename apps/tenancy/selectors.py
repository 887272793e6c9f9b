from __future__ import annotations

from django.db.models import QuerySet

from .access import Actor, memberships_of
from .models import ApiKey, Invitation, Membership, Organization


def membership_list_for_actor(*, actor: Actor) -> QuerySet[Membership]:
    return memberships_of(actor).order_by("organization__name")


def member_list(*, organization: Organization) -> QuerySet[Membership]:
    return Membership.objects.filter(organization=organization).select_related("user").order_by("created_at")


def invitation_list(*, organization: Organization) -> QuerySet[Invitation]:
    return Invitation.objects.filter(organization=organization).select_related("invited_by").order_by("-created_at")


def api_key_list(*, organization: Organization) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(organization=organization).select_related("created_by").order_by("-created_at")
