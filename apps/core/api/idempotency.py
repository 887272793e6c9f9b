"""Idempotency-Key: how long a client's key may be. Longer keys are a 400, never a database error."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

IDEMPOTENCY_KEY_MAX_LENGTH = 255


def idempotency_key_check(key: str | None) -> str | None:
    """The key as given (None or "" when absent); a ValidationError on the idempotency_key field when longer
    than IDEMPOTENCY_KEY_MAX_LENGTH."""
    if key and len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise ValidationError({"idempotency_key": [
            _("An Idempotency-Key has at most %(max)s characters.") % {"max": IDEMPOTENCY_KEY_MAX_LENGTH}]})
    return key
