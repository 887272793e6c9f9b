"""Reads of a user's account data."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from .models import SshKey


def ssh_key_list(*, user) -> QuerySet[SshKey]:
    return SshKey.objects.filter(user=user).order_by("created_at", "id")


def ssh_key_get(*, user, pk) -> SshKey:
    """One of the user's own keys; anyone else's key (or no key) is a 404."""
    key = SshKey.objects.filter(user=user, pk=pk).first() if user is not None and user.is_authenticated else None
    if key is None:
        raise Http404
    return key


def ssh_authorized_keys(*, user_id) -> list[str]:
    """The authorized_keys lines an instance booked by this user gets."""
    if user_id is None:
        return []
    keys = SshKey.objects.filter(user_id=user_id).order_by("created_at", "id")
    return list(keys.values_list("public_key", flat=True))
