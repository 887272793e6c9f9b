"""Small helpers shared by the account tests: they drive the real allauth views over HTTP."""

import re
from urllib.parse import urlsplit

from allauth.core.internal.ratelimit import Rate, parse_rates
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

LOGIN_URL = reverse("account_login")
LOGOUT_URL = reverse("account_logout")
SIGNUP_URL = reverse("account_signup")
PASSWORD_RESET_URL = reverse("account_reset_password")
DASHBOARD_URL = reverse("portal:dashboard")
MFA_INDEX_URL = reverse("mfa_index")
MFA_AUTHENTICATE_URL = reverse("mfa_authenticate")
TOTP_ACTIVATE_URL = reverse("mfa_activate_totp")
RECOVERY_CODES_URL = reverse("mfa_view_recovery_codes")
REAUTHENTICATE_URL = reverse("account_reauthenticate")

NEW_PASSWORD = "tidal-wave-over-the-grid-42"

_URL_RE = re.compile(r"https?://[^\s<>\"]+")


def login(client: Client, email: str, password: str, **extra):
    """POST the allauth login form, exactly as the browser does."""
    return client.post(LOGIN_URL, {"login": email, "password": password}, **extra)


def is_authenticated(client: Client) -> bool:
    """True when the client's session carries a signed-in user (checked against the real dashboard)."""
    return client.get(DASHBOARD_URL).status_code == 200


def sent_to(address: str) -> list:
    return [message for message in mail.outbox if address in message.to]


def link_path(message) -> str:
    """The path of the (only) link in an e-mail body, ready for the test client."""
    urls = _URL_RE.findall(message.body)
    assert len(urls) == 1, f"expected one link in the e-mail, found {urls!r}"
    return urlsplit(urls[0]).path


def main_content(html: str) -> str:
    """The page's own content: what templates/base.html puts inside <main class="content ...">."""
    return html.split('<main class="content', 1)[1].split("</main>", 1)[0]


def configured_rate(action: str, per: str) -> Rate:
    """The allauth rate configured in settings for `action`, limited `per` ("ip", "key" or "user")."""
    rates = [rate for rate in parse_rates(settings.ACCOUNT_RATE_LIMITS[action]) if rate.per == per]
    assert len(rates) == 1, f"expected one {per} rate for {action!r} in ACCOUNT_RATE_LIMITS"
    return rates[0]


def totp_code(secret: str, at: float) -> str:
    """The authenticator-app code for `secret` at unix time `at`, computed with allauth's own HOTP helpers."""
    return format_hotp_value(hotp_value(secret, int(at) // mfa_settings.TOTP_PERIOD))


def totp_code_rejected_at(secret: str, at: float) -> str:
    """A well-formed code that allauth's tolerance window around `at` does not accept."""
    counter = int(at) // mfa_settings.TOTP_PERIOD
    tolerance = mfa_settings.TOTP_TOLERANCE
    accepted = {hotp_value(secret, counter + i) for i in range(-tolerance, tolerance + 1)}
    candidate = hotp_value(secret, counter)
    while candidate in accepted:
        candidate = (candidate + 1) % 10**mfa_settings.TOTP_DIGITS
    return format_hotp_value(candidate)
