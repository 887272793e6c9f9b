"""Access helpers: the only way views and API endpoints fetch tenant-owned objects.

Every lookup is scoped to the organizations the actor belongs to; an object of another tenant is
indistinguishable from a missing one (404). Inside their own organization, an actor whose role is too
low gets 403, since they already know the object exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from .models import ROLE_RANK, ApiKey, Membership, Organization, Role

if TYPE_CHECKING:
    from apps.accounts.models import User

M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Actor:
    """Who is acting: a signed-in user, or a user acting through one of their organization's API keys
    (then limited to that organization and to the key's role)."""

    user: User
    api_key: ApiKey | None = None

    @property
    def label(self) -> str:
        if self.api_key is not None:
            return f"{self.user.email} via API key {self.api_key.prefix}"
        return self.user.email


def actor_from_request(request) -> Actor:
    api_key = request.auth if isinstance(getattr(request, "auth", None), ApiKey) else None
    return Actor(user=request.user, api_key=api_key)


def _rank(role: str) -> int:
    return ROLE_RANK[Role(role)]


def effective_role(actor: Actor, membership: Membership) -> str:
    """An API key never has more power than the member who created it, nor than its own role."""
    if actor.api_key is None:
        return membership.role
    return min(membership.role, actor.api_key.role, key=_rank)


def memberships_of(actor: Actor) -> QuerySet[Membership]:
    if not actor.user.is_authenticated:
        return Membership.objects.none()
    queryset = Membership.objects.filter(user=actor.user).select_related("organization")
    if actor.api_key is not None:
        queryset = queryset.filter(organization_id=actor.api_key.organization_id)
    return queryset


def organizations_of(actor: Actor) -> QuerySet[Organization]:
    return Organization.objects.filter(id__in=memberships_of(actor).values("organization_id"))


def role_in(actor: Actor, organization: Organization | str) -> str | None:
    org_id = getattr(organization, "id", organization)
    membership = memberships_of(actor).filter(organization_id=org_id).first()
    return effective_role(actor, membership) if membership else None


def role_at_least(role: str | None, min_role: str) -> bool:
    return role is not None and _rank(role) >= _rank(min_role)


def require_role(actor: Actor, organization, min_role: str, message: str | None = None) -> str:
    """For services: the actor's role in the organization (object or id), or PermissionDenied when it is
    below ``min_role``. Services re-check what views already checked: they are called from many places."""
    role = role_in(actor, organization)
    if not role_at_least(role, min_role):
        raise PermissionDenied(message or _("Your role in this organization does not allow this action."))
    return role  # type: ignore[return-value]


def _require(actor: Actor, organization_id, min_role: str) -> str:
    """404 outside the actor's organizations, 403 inside them when the role is too low."""
    if role_in(actor, organization_id) is None:
        raise Http404(_("Not found."))
    return require_role(actor, organization_id, min_role)


def access_organization(actor: Actor, organization_id, *, min_role: str = Role.VIEWER) -> Organization:
    try:
        organization = Organization.objects.get(pk=organization_id)
    except (Organization.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        # A malformed id is as unknown as someone else's: never a 500, never a hint.
        raise Http404(_("Not found.")) from exc
    _require(actor, organization.id, min_role)
    return organization


def active_organization(request, *, kind: str | None = None, min_role: str = Role.VIEWER,
                        missing: str | None = None) -> Organization | None:
    """The organization a portal page works in (the user's choice, kept in the session), fetched through
    :func:`access_organization` for ``min_role``. When there is none, or it is not of ``kind``: None — or,
    given ``missing`` (what the user should do instead), a 404 that says so. The one way pages pick it."""
    membership = request.active_membership
    if not membership or (kind is not None and membership.organization.kind != kind):
        if missing is not None:
            raise Http404(missing)
        return None
    return access_organization(actor_from_request(request), membership.organization_id, min_role=min_role)


def access_object(actor: Actor, queryset: QuerySet[M], pk, *, min_role: str = Role.VIEWER,
                  organization_field: str = "organization") -> M:
    """Fetch one tenant-owned object by primary key, scoped to the actor's organizations."""
    scoped = queryset.filter(**{f"{organization_field}__in": organizations_of(actor)})
    try:
        obj = scoped.get(pk=pk)
    except (queryset.model.DoesNotExist, ValueError, TypeError, ValidationError) as exc:
        raise Http404(_("Not found.")) from exc
    _require(actor, getattr(obj, f"{organization_field}_id"), min_role)
    return obj
