"""Atomic fixed-window counters in Redis (the default cache): one INCR per hit, so parallel requests
cannot slip past a limit the way read-then-write counters do."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache


@dataclass(frozen=True)
class Hit:
    count: int
    limit: int
    retry_after_s: int

    @property
    def allowed(self) -> bool:
        return self.count <= self.limit


def _window_key(key: str, window_s: int) -> tuple[str, int]:
    now = time.time()
    bucket = int(now // window_s)
    return f"rl:{key}:{bucket}", max(1, int((bucket + 1) * window_s - now))


def rate_limit_hit(*, key: str, limit: int, window_s: int) -> Hit:
    """Count one hit for ``key`` in the current window; ``allowed`` is False once past ``limit``."""
    cache_key, retry_after = _window_key(key, window_s)
    cache.add(cache_key, 0, timeout=window_s + 1)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr: this hit opens a new window
        cache.add(cache_key, 1, timeout=window_s + 1)
        count = 1
    return Hit(count=count, limit=limit, retry_after_s=retry_after)


def rate_limit_give_back(*, key: str, window_s: int) -> None:
    """Undo one hit (a reserved attempt that turned out not to count, e.g. a valid credential)."""
    cache_key, _retry = _window_key(key, window_s)
    with contextlib.suppress(ValueError):
        cache.decr(cache_key)


def client_ip(request) -> str:
    """The caller's address: REMOTE_ADDR, or the address the trusted proxies in front of us saw
    (``ALLAUTH_TRUSTED_PROXY_COUNT`` of them, counted from the right of X-Forwarded-For)."""
    proxies = getattr(settings, "ALLAUTH_TRUSTED_PROXY_COUNT", 0)
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")
