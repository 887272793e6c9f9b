"""Atomic sliding-window rate limits in Redis.

Each limited thing (a user's API requests; one source's failed API-key, node-credential or bootstrap-token
guesses; one account's failed logins; one node's heartbeats) is a sorted set of hit timestamps. One Lua
script drops the expired hits, counts and adds, so parallel requests on any number of web processes can
never pass more than the limit (a read-then-write counter lets about two thirds through under 16 threads).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.core.exceptions import PermissionDenied

# KEYS[1] the set; ARGV: now (s), window (s), limit, member, record (1 = add the hit when allowed, 0 = only count)
_HIT = """
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  if ARGV[5] == '1' then
    redis.call('ZADD', key, now, ARGV[4])
    redis.call('PEXPIRE', key, math.ceil(window * 1000))
    count = count + 1
  end
  return {1, count, '0'}
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {0, count, tostring(tonumber(oldest[2]) + window - now)}
"""


@dataclass(frozen=True)
class RateLimitResult:
    allowed: bool
    count: int  # hits in the window, this one included when it was recorded
    retry_after_s: float  # when refused: until the oldest hit leaves the window


def _client():
    return cache._cache.get_client(write=True)  # the django RedisCache's redis-py client


def _key(scope: str, ident: str) -> str:
    digest = hashlib.sha256(ident.encode()).hexdigest()[:32]  # e-mail addresses and IPs are not stored as such
    return cache.make_key(f"rl:{scope}:{digest}")


def _run(scope: str, ident: str, limit: int, window_s: float, *, record: bool) -> RateLimitResult:
    member = f"{time.time():.6f}:{secrets.token_hex(6)}"
    allowed, count, wait = _client().eval(_HIT, 1, _key(scope, ident), f"{time.time():.6f}", str(window_s),
                                          str(limit), member, "1" if record else "0")
    return RateLimitResult(bool(allowed), int(count), max(float(wait), 0.0))


def rate_limit_hit(*, scope: str, ident: str, limit: int, window_s: float) -> RateLimitResult:
    """Count one hit when fewer than ``limit`` happened in the last ``window_s`` seconds; else refuse it."""
    return _run(scope, ident, limit, window_s, record=True)


def rate_limit_check(*, scope: str, ident: str, limit: int, window_s: float) -> RateLimitResult:
    """Whether another hit would be allowed, without counting one (for limits on failures only)."""
    return _run(scope, ident, limit, window_s, record=False)


def rate_limit_count(*, scope: str, ident: str, window_s: float) -> int:
    """Hits in the last ``window_s`` seconds."""
    key = _key(scope, ident)
    client = _client()
    client.zremrangebyscore(key, "-inf", time.time() - window_s)
    return int(client.zcard(key))


def rate_limit_give_back(*, scope: str, ident: str) -> None:
    """Undo the latest hit: an attempt reserved before a credential was checked that turned out valid
    (counting first is what keeps parallel guessers to the limit)."""
    _client().zpopmax(_key(scope, ident))


def rate_limit_clear(*, scope: str, ident: str) -> None:
    _client().delete(_key(scope, ident))


def client_ip(request) -> str:
    """The client's address as the login limits see it (ALLAUTH_TRUSTED_PROXY_COUNT proxies trusted)."""
    from allauth.account.adapter import get_adapter

    try:
        return get_adapter().get_client_ip(getattr(request, "_request", request))
    except PermissionDenied:  # no address at all (a WSGI caller that sets no REMOTE_ADDR): one shared bucket
        return "unknown"
