"""Login protection by account AND source, never a lockout a stranger can cause for the real owner.

* allauth's per-"key" failed-login limit (ACCOUNT_RATE_LIMITS["login_failed"]) counts per account and
  client address: a source that failed on an account too often is refused there, while the owner signing
  in from anywhere else is not; its per-IP limit still stops one source guessing across many accounts.
* Failures on an account from all sources together slow its logins down instead (a progressive delay
  before the password is checked, capped at TIDEGRID_LOGIN_DELAY_MAX_S); a successful login or a password
  reset ends the delay.
"""

from __future__ import annotations

import time

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings

from apps.core.ratelimit import client_ip, rate_limit_clear, rate_limit_count, rate_limit_hit

ACCOUNT_FAILURES_SCOPE = "login-failures-account"


def _login_of(credentials: dict) -> str:
    return str(credentials.get("email") or credentials.get("username") or "").strip().lower()


def login_delay_s(failures: int) -> float:
    """Seconds to wait before checking a password, given the account's recent failures (all sources)."""
    free = settings.TIDEGRID_LOGIN_DELAY_FREE_FAILURES
    if failures < free:
        return 0.0
    return min(settings.TIDEGRID_LOGIN_DELAY_BASE_S * 2 ** (failures - free), settings.TIDEGRID_LOGIN_DELAY_MAX_S)


class AccountAdapter(DefaultAccountAdapter):
    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        return f"{super()._get_login_attempts_cache_key(request, **credentials)}:{client_ip(request)}"

    def pre_authenticate(self, request, **credentials) -> None:
        login = _login_of(credentials)
        if login:
            failures = rate_limit_count(scope=ACCOUNT_FAILURES_SCOPE, ident=login,
                                        window_s=settings.TIDEGRID_LOGIN_DELAY_WINDOW_S)
            delay = login_delay_s(failures)
            if delay:
                time.sleep(delay)  # the progressive delay itself, not synchronization
        super().pre_authenticate(request, **credentials)

    def authenticate(self, request, **credentials):
        user = super().authenticate(request, **credentials)
        if user is not None and _login_of(credentials):
            rate_limit_clear(scope=ACCOUNT_FAILURES_SCOPE, ident=_login_of(credentials))
        return user

    def authentication_failed(self, request, **credentials) -> None:
        if _login_of(credentials):
            rate_limit_hit(scope=ACCOUNT_FAILURES_SCOPE, ident=_login_of(credentials), limit=1_000_000,
                           window_s=settings.TIDEGRID_LOGIN_DELAY_WINDOW_S)
        super().authentication_failed(request, **credentials)

    def _delete_login_attempts_cached_email(self, request, **credentials) -> None:
        super()._delete_login_attempts_cached_email(request, **credentials)
        if _login_of(credentials):
            rate_limit_clear(scope=ACCOUNT_FAILURES_SCOPE, ident=_login_of(credentials))
