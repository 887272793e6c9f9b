"""Writes for a user's own account data: their SSH public keys."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from .models import SshKey, User
from .sshkeys import parse_public_key

MAX_SSH_KEYS_DEFAULT = 20


def ssh_key_add(*, user: User, public_key: str, name: str = "") -> SshKey:
    """Validate and store one of the user's public keys. Raises ValidationError (field ``public_key`` or
    ``name``) for a malformed, weak or duplicate key; nothing is stored then."""
    key = parse_public_key(public_key)
    name = (name or "").strip() or key.comment[:100] or key.key_type
    if len(name) > 100 or not name.isprintable():
        raise ValidationError({"name": [_("Use at most 100 printable characters.")]})
    limit = getattr(settings, "TIDEGRID_MAX_SSH_KEYS", MAX_SSH_KEYS_DEFAULT)
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()  # one add at a time per user
        if SshKey.objects.filter(user=user).count() >= limit:
            raise ValidationError({"public_key": [_("You have %(n)d keys already; remove one first.") % {"n": limit}]})
        if SshKey.objects.filter(user=user, fingerprint=key.fingerprint).exists():
            raise ValidationError({"public_key": [_("You have added this key already.")]})
        try:
            with transaction.atomic():
                return SshKey.objects.create(user=user, name=name, key_type=key.key_type, public_key=key.line,
                                             fingerprint=key.fingerprint, bits=key.bits)
        except IntegrityError:
            raise ValidationError({"public_key": [_("You have added this key already.")]}) from None


def ssh_key_delete(*, user: User, ssh_key: SshKey) -> None:
    """Remove one of the user's keys. Instances already running keep it until they are run again."""
    if ssh_key.user_id != user.pk:
        raise SshKey.DoesNotExist
    ssh_key.delete()
