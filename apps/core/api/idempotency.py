"""Idempotency-Key: how long a client's key may be. Longer keys are a 400, never a database error."""

IDEMPOTENCY_KEY_MAX_LENGTH = 255
