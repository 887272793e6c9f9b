"""Writes for organizations, memberships, invitations and API keys. Every change is audited."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.audit.services import audit_record

from .access import Actor, require_role, role_at_least
from .models import ApiKey, Invitation, Membership, Organization, Role

PROFILE_FIELDS = ("name", "credit_code", "registered_region", "industry", "size_class", "invoice_title", "tax_id")
API_KEY_PREFIX = "tg"


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def roles_for_kind(kind: str) -> list[str]:
    """Auditor is a government role; everyone else has the usual four."""
    base = [Role.OWNER, Role.ADMIN, Role.MEMBER, Role.VIEWER]
    return [*base, Role.AUDITOR] if kind == Organization.Kind.GOVERNMENT else base


def _check_role_for(organization: Organization, role: str, field: str = "role") -> None:
    if role not in roles_for_kind(organization.kind):
        raise ValidationError({field: [_("This role does not exist for this kind of organization.")]})


# --- organizations -------------------------------------------------------------------------------


@transaction.atomic
def organization_create(*, actor: Actor, kind: str, name: str, jurisdiction: list | None = None,
                        **profile: Any) -> Organization:
    """Create an organization with the acting user as its owner."""
    if kind == Organization.Kind.GOVERNMENT and not actor.user.is_staff:
        raise ValidationError({"kind": [_("Government organizations are set up by TideGrid staff.")]})
    unknown = set(profile) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"unknown profile fields: {sorted(unknown)}")
    organization = Organization(kind=kind, name=name, **profile)
    if organization.credit_code:
        organization.credit_code = organization.credit_code.strip().upper()
    organization.full_clean()
    organization.save()
    if jurisdiction:
        organization.jurisdiction.set(jurisdiction)
    Membership.objects.create(organization=organization, user=actor.user, role=Role.OWNER)
    audit_record(actor=actor, action="organization.created", organization=organization, target=organization,
                 details={"kind": kind, "name": name})
    return organization


@transaction.atomic
def organization_update_profile(*, actor: Actor, organization: Organization, **changes: Any) -> Organization:
    require_role(actor, organization, Role.ADMIN)
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise ValueError(f"unknown profile fields: {sorted(unknown)}")
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    before = {field: getattr(organization, field) for field in changes}
    code = (changes.get("credit_code") or "").strip().upper()
    if "credit_code" in changes and code != organization.credit_code and _vetted(organization):
        raise ValidationError({"credit_code": [
            _("TideGrid staff checked this code when they approved the provider: ask them to change it.")]})
    for field, value in changes.items():
        setattr(organization, field, value.strip().upper() if field == "credit_code" and value else value)
    organization.full_clean()
    organization.save()
    changed = {
        field: {"from": str(before[field] or ""), "to": str(getattr(organization, field) or "")}
        for field in changes if before[field] != getattr(organization, field)
    }
    if changed:
        audit_record(actor=actor, action="organization.profile_updated", organization=organization,
                     target=organization, details={"changes": changed})
    return organization


def _vetted(organization: Organization) -> bool:
    """An approved (or suspended) provider: its USCC is what staff checked. The vetting record lives in
    catalog; read through the reverse relation so tenancy does not import it."""
    profile = getattr(organization, "provider_profile", None)
    return profile is not None and profile.state in ("approved", "suspended")


# --- memberships ---------------------------------------------------------------------------------


def _owners_left_after(membership: Membership, *, new_role: str | None) -> int:
    owners = Membership.objects.select_for_update().filter(organization_id=membership.organization_id,
                                                           role=Role.OWNER)
    remaining = [m for m in owners if m.pk != membership.pk]
    if new_role == Role.OWNER:
        return len(remaining) + 1
    return len(remaining)


@transaction.atomic
def membership_change_role(*, actor: Actor, membership: Membership, role: str) -> Membership:
    organization = membership.organization
    actor_role = require_role(actor, organization, Role.ADMIN)
    _check_role_for(organization, role)
    touches_owner = Role.OWNER in (role, membership.role)
    if touches_owner and actor_role != Role.OWNER:
        raise PermissionDenied(_("Only an owner can grant or take away the owner role."))
    if membership.role == Role.OWNER and _owners_left_after(membership, new_role=role) == 0:
        raise ValidationError({"role": [_("An organization needs at least one owner: make someone else owner first.")]})
    previous = membership.role
    membership.role = role
    membership.save(update_fields=["role"])
    audit_record(actor=actor, action="membership.role_changed", organization=organization, target=membership,
                 details={"user": membership.user.email, "from": previous, "to": role})
    return membership


@transaction.atomic
def membership_remove(*, actor: Actor, membership: Membership) -> None:
    organization = membership.organization
    leaving_self = membership.user_id == actor.user.pk and actor.api_key is None
    if not leaving_self:
        actor_role = require_role(actor, organization, Role.ADMIN)
        if membership.role == Role.OWNER and actor_role != Role.OWNER:
            raise PermissionDenied(_("Only an owner can remove another owner."))
    if membership.role == Role.OWNER and _owners_left_after(membership, new_role=None) == 0:
        raise ValidationError({"role": [_("An organization needs at least one owner: make someone else owner first.")]})
    audit_record(actor=actor, action="membership.removed", organization=organization, target=membership,
                 details={"user": membership.user.email, "role": membership.role, "self": leaving_self})
    membership.delete()


# --- invitations ---------------------------------------------------------------------------------


@transaction.atomic
def invitation_create(*, actor: Actor, organization: Organization, email: str, role: str) -> tuple[Invitation, str]:
    """Invite by e-mail. Returns the invitation and the one-time token (only its hash is stored)."""
    actor_role = require_role(actor, organization, Role.ADMIN)
    _check_role_for(organization, role)
    if role == Role.OWNER and actor_role != Role.OWNER:
        raise PermissionDenied(_("Only an owner can invite another owner."))
    email = email.strip().lower()
    if Membership.objects.filter(organization=organization, user__email__iexact=email).exists():
        raise ValidationError({"email": [_("This person is already a member of the organization.")]})
    token = secrets.token_urlsafe(32)
    invitation = Invitation(
        organization=organization, email=email, role=role, token_hash=_sha256(token), invited_by=actor.user,
        expires_at=timezone.now() + timedelta(days=settings.TIDEGRID_INVITATION_TTL_DAYS),
    )
    invitation.full_clean(exclude=["token_hash"], validate_constraints=False)  # the unique index answers below
    try:
        with transaction.atomic():
            invitation.save()
    except IntegrityError as exc:
        raise ValidationError({"email": [_("There is already a pending invitation for this address.")]}) from exc
    audit_record(actor=actor, action="invitation.created", organization=organization, target=invitation,
                 details={"email": email, "role": role})
    accept_url = settings.SITE_URL.rstrip("/") + reverse("tenancy:invitation_accept", args=[token])
    context = {"organization": organization, "inviter": actor.user, "role": invitation.get_role_display(),
               "accept_url": accept_url, "expires_at": invitation.expires_at}
    transaction.on_commit(lambda: send_mail(
        subject=_("You are invited to join %(org)s on TideGrid") % {"org": organization.name},
        message=render_to_string("tenancy/email/invitation.txt", context),
        from_email=None, recipient_list=[email],
    ))
    return invitation, token


def invitation_by_token(*, token: str) -> Invitation | None:
    return Invitation.objects.select_related("organization").filter(token_hash=_sha256(token)).first()


@transaction.atomic
def invitation_accept(*, actor: Actor, token: str) -> Membership:
    invitation = Invitation.objects.select_for_update().filter(token_hash=_sha256(token)).first()
    if invitation is None:
        raise ValidationError({"token": [_("This invitation link is not valid.")]})
    if invitation.state != Invitation.State.PENDING:
        raise ValidationError({"token": [_("This invitation was already used or withdrawn.")]})
    if invitation.expires_at <= timezone.now():
        invitation.state = Invitation.State.EXPIRED
        invitation.save(update_fields=["state"])
        raise ValidationError({"token": [_("This invitation has expired: ask for a new one.")]})
    if invitation.email.lower() != actor.user.email.lower():
        # Not which address: whoever holds a forwarded or leaked link learns nothing about the invitee.
        raise ValidationError({"token": [_("This invitation was sent to another e-mail address: sign in with "
                                           "the address it was sent to.")]})
    membership, created = Membership.objects.get_or_create(
        organization=invitation.organization, user=actor.user, defaults={"role": invitation.role}
    )
    invitation.state = Invitation.State.ACCEPTED
    invitation.accepted_by = actor.user
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["state", "accepted_by", "responded_at"])
    audit_record(actor=actor, action="invitation.accepted", organization=invitation.organization,
                 target=invitation, details={"email": invitation.email, "role": membership.role,
                                             "already_member": not created})
    return membership


@transaction.atomic
def invitation_revoke(*, actor: Actor, invitation: Invitation) -> Invitation:
    require_role(actor, invitation.organization, Role.ADMIN)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.state != Invitation.State.PENDING:
        raise ValidationError({"state": [_("Only a pending invitation can be withdrawn.")]})
    invitation.state = Invitation.State.REVOKED
    invitation.responded_at = timezone.now()
    invitation.save(update_fields=["state", "responded_at"])
    audit_record(actor=actor, action="invitation.revoked", organization=invitation.organization,
                 target=invitation, details={"email": invitation.email})
    return invitation


def invitations_expire_overdue(*, now=None) -> int:
    """Mark pending invitations past their expiry as expired (beat job). Returns how many."""
    now = now or timezone.now()
    count = 0
    overdue = Invitation.objects.filter(state=Invitation.State.PENDING, expires_at__lte=now)
    for invitation_id in overdue.values_list("id", flat=True):
        with transaction.atomic():
            invitation = Invitation.objects.select_for_update().get(pk=invitation_id)
            if invitation.state != Invitation.State.PENDING:
                continue
            invitation.state = Invitation.State.EXPIRED
            invitation.save(update_fields=["state"])
            audit_record(actor=None, action="invitation.expired", organization=invitation.organization_id,
                         target=invitation, details={"email": invitation.email})
            count += 1
    return count


# --- API keys ------------------------------------------------------------------------------------


@transaction.atomic
def api_key_create(*, actor: Actor, organization: Organization, name: str, role: str = Role.MEMBER
                   ) -> tuple[ApiKey, str]:
    """Create a key; return it with the plaintext secret, which is never stored nor shown again."""
    actor_role = require_role(actor, organization, Role.ADMIN)
    _check_role_for(organization, role)
    if not role_at_least(actor_role, role):
        raise ValidationError({"role": [_("A key cannot have a higher role than yours.")]})
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    plaintext = f"{API_KEY_PREFIX}_{prefix}_{secret}"
    api_key = ApiKey(organization=organization, name=name.strip(), prefix=prefix, key_hash=_sha256(plaintext),
                     role=role, created_by=actor.user)
    api_key.full_clean(exclude=["prefix", "key_hash"])
    api_key.save()
    audit_record(actor=actor, action="api_key.created", organization=organization, target=api_key,
                 details={"name": api_key.name, "prefix": prefix, "role": role})
    return api_key, plaintext


@transaction.atomic
def api_key_revoke(*, actor: Actor, api_key: ApiKey) -> ApiKey:
    require_role(actor, api_key.organization, Role.ADMIN)
    api_key = ApiKey.objects.select_for_update().get(pk=api_key.pk)
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="api_key.revoked", organization=api_key.organization_id, target=api_key,
                     details={"name": api_key.name, "prefix": api_key.prefix})
    return api_key


def api_key_authenticate(*, plaintext: str) -> ApiKey | None:
    """The active key for this secret whose creator is still a member of its organization, or None."""
    parts = plaintext.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX:
        return None
    api_key = (ApiKey.objects.select_related("created_by", "organization")
               .filter(prefix=parts[1], revoked_at__isnull=True).first())
    if api_key is None or not secrets.compare_digest(api_key.key_hash, _sha256(plaintext)):
        return None
    if not api_key.created_by.is_active or not Membership.objects.filter(
            organization_id=api_key.organization_id, user_id=api_key.created_by_id).exists():
        return None
    # Only touch last_used_at once a minute: a busy key must not turn every request into a write.
    now = timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at > timedelta(minutes=1):
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    return api_key
