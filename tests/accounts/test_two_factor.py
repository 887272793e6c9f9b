"""TOTP two-factor authentication and recovery codes (allauth.mfa), driven through the real pages.

Codes are computed from the secret with allauth's own HOTP helpers. So that a 30-second boundary can never fall
between computing a code and posting it, the TOTP module's clock is pinned to one instant (mid-period, now); the
validation logic itself is untouched.
"""

import time
from dataclasses import dataclass
from types import SimpleNamespace
from urllib.parse import quote

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal import auth as totp_auth
from django.test import Client

from tests.accounts.helpers import (
    DASHBOARD_URL,
    LOGIN_URL,
    LOGOUT_URL,
    MFA_AUTHENTICATE_URL,
    MFA_INDEX_URL,
    REAUTHENTICATE_URL,
    RECOVERY_CODES_URL,
    TOTP_ACTIVATE_URL,
    is_authenticated,
    login,
    totp_code,
    totp_code_rejected_at,
)
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def now(monkeypatch) -> float:
    """The instant the TOTP module sees as 'now' for the whole test."""
    period = mfa_settings.TOTP_PERIOD
    pinned = (int(time.time()) // period) * period + period / 2
    monkeypatch.setattr(totp_auth, "time", SimpleNamespace(time=lambda: pinned))
    return pinned


def signed_in_client(user) -> Client:
    """A client that signed in through the real login form."""
    client = Client()
    assert login(client, user.email, PASSWORD)["Location"] == DASHBOARD_URL
    return client


def reauthenticated_client(user) -> Client:
    """A signed-in client that also re-entered its password, as allauth demands before changing 2FA."""
    client = signed_in_client(user)
    bounced = client.get(TOTP_ACTIVATE_URL)
    assert bounced["Location"].startswith(REAUTHENTICATE_URL)
    response = client.post(bounced["Location"], {"password": PASSWORD})
    assert response["Location"] == TOTP_ACTIVATE_URL
    return client


@dataclass
class TotpUser:
    user: object
    secret: str
    recovery_codes: list[str]


@pytest.fixture
def totp_user(now) -> TotpUser:
    """A user who activated TOTP through the real pages, noted the recovery codes shown next, and signed out."""
    user = UserFactory()
    client = reauthenticated_client(user)
    secret = client.get(TOTP_ACTIVATE_URL).context["form"].secret
    activated = client.post(TOTP_ACTIVATE_URL, {"code": totp_code(secret, now)})
    assert activated["Location"] == RECOVERY_CODES_URL
    recovery_codes = list(client.get(RECOVERY_CODES_URL).context["unused_codes"])
    client.post(LOGOUT_URL)
    return TotpUser(user, secret, recovery_codes)


def sign_in_with_totp(user: TotpUser, now: float) -> Client:
    client = Client()
    assert login(client, user.user.email, PASSWORD)["Location"] == MFA_AUTHENTICATE_URL
    assert client.post(MFA_AUTHENTICATE_URL, {"code": totp_code(user.secret, now)})["Location"] == DASHBOARD_URL
    return client


def test_activation_asks_for_the_password_again_first(now):
    # Given a user who signed in with their password a moment ago
    client = signed_in_client(UserFactory())

    # When they open the TOTP activation page
    response = client.get(TOTP_ACTIVATE_URL)

    # Then allauth first asks them to confirm their password, and comes back afterwards
    assert response.status_code == 302
    assert response["Location"] == f"{REAUTHENTICATE_URL}?next={quote(TOTP_ACTIVATE_URL, safe='')}"
    confirm = client.post(response["Location"], {"password": PASSWORD})
    assert confirm["Location"] == TOTP_ACTIVATE_URL
    assert client.get(TOTP_ACTIVATE_URL).status_code == 200


def test_reauthentication_with_a_wrong_password_is_refused(now):
    # Given a signed-in user asked to confirm their password before activating TOTP
    client = signed_in_client(UserFactory())
    reauth_url = client.get(TOTP_ACTIVATE_URL)["Location"]

    # When they type the wrong password
    response = client.post(reauth_url, {"password": "not-the-password"})

    # Then the confirmation form is shown again and the activation page stays closed
    assert response.status_code == 200
    assert response.context["form"].errors
    assert client.get(TOTP_ACTIVATE_URL)["Location"].startswith(REAUTHENTICATE_URL)


def test_activation_page_offers_a_secret_and_qr_code(now):
    # Given a signed-in, re-authenticated user without two-factor authentication
    client = reauthenticated_client(UserFactory())

    # When they open the activation page
    response = client.get(TOTP_ACTIVATE_URL)

    # Then it shows the secret, for manual entry and as an otpauth:// QR code naming TideGrid as issuer
    assert response.status_code == 200
    assert response.context["form"].secret in response.content.decode()
    assert response.context["totp_url"].startswith("otpauth://totp/")
    assert "issuer=TideGrid" in response.context["totp_url"]
    assert "<svg" in response.context["totp_svg"]


def test_activation_with_a_wrong_code_is_refused(now):
    # Given a signed-in, re-authenticated user on the activation page
    user = UserFactory()
    client = reauthenticated_client(user)
    secret = client.get(TOTP_ACTIVATE_URL).context["form"].secret

    # When they enter a code the secret does not produce now
    response = client.post(TOTP_ACTIVATE_URL, {"code": totp_code_rejected_at(secret, now)})

    # Then the form shows an error and no authenticator is stored
    assert response.status_code == 200
    assert response.context["form"].errors["code"] == ["Incorrect code."]
    assert not Authenticator.objects.filter(user=user).exists()


def test_activation_with_the_right_code_enables_totp_and_generates_recovery_codes(now):
    # Given a signed-in, re-authenticated user on the activation page
    user = UserFactory()
    client = reauthenticated_client(user)
    secret = client.get(TOTP_ACTIVATE_URL).context["form"].secret

    # When they enter the code their authenticator app shows
    response = client.post(TOTP_ACTIVATE_URL, {"code": totp_code(secret, now)})

    # Then TOTP is on, recovery codes were generated too, and the user is taken to them
    assert response.status_code == 302
    assert response["Location"] == RECOVERY_CODES_URL
    types = set(Authenticator.objects.filter(user=user).values_list("type", flat=True))
    assert types == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}


def test_recovery_codes_page_lists_the_codes_right_after_activation(now):
    # Given a user who has just activated TOTP
    user = UserFactory()
    client = reauthenticated_client(user)
    secret = client.get(TOTP_ACTIVATE_URL).context["form"].secret
    client.post(TOTP_ACTIVATE_URL, {"code": totp_code(secret, now)})

    # When they land on the recovery-codes page
    response = client.get(RECOVERY_CODES_URL)

    # Then it lists the configured number of unused codes
    assert response.status_code == 200
    codes = response.context["unused_codes"]
    assert len(codes) == mfa_settings.RECOVERY_CODE_COUNT
    html = response.content.decode()
    assert all(code in html for code in codes)


def test_recovery_codes_page_later_asks_for_the_password_again(totp_user, now):
    # Given a user with TOTP on, freshly signed in through both factors
    client = sign_in_with_totp(totp_user, now)

    # When they open the recovery-codes page
    response = client.get(RECOVERY_CODES_URL)

    # Then the codes are only shown after confirming their password
    assert response.status_code == 302
    assert response["Location"].startswith(REAUTHENTICATE_URL)
    confirm = client.post(response["Location"], {"password": PASSWORD})
    assert confirm["Location"] == RECOVERY_CODES_URL
    assert list(client.get(RECOVERY_CODES_URL).context["unused_codes"]) == totp_user.recovery_codes


def test_password_alone_leads_to_the_two_factor_step(totp_user):
    # Given a user with TOTP on
    user = totp_user.user
    client = Client()

    # When they sign in with the right password
    response = login(client, user.email, PASSWORD)

    # Then they are sent to the code step and are not signed in yet
    assert response.status_code == 302
    assert response["Location"] == MFA_AUTHENTICATE_URL
    assert not is_authenticated(client)
    page = client.get(MFA_AUTHENTICATE_URL)
    assert page.status_code == 200
    assert 'name="code"' in page.content.decode()


def test_two_factor_step_refuses_a_wrong_code(totp_user, now):
    # Given a user with TOTP on who passed the password step
    user, secret = totp_user.user, totp_user.secret
    client = Client()
    login(client, user.email, PASSWORD)

    # When they enter a wrong code
    response = client.post(MFA_AUTHENTICATE_URL, {"code": totp_code_rejected_at(secret, now)})

    # Then the step is shown again with an error and they are still not signed in
    assert response.status_code == 200
    assert response.context["form"].errors["code"] == ["Incorrect code."]
    assert not is_authenticated(client)


def test_two_factor_step_accepts_the_right_code_and_completes_login(totp_user, now):
    # Given a user with TOTP on who passed the password step
    user, secret = totp_user.user, totp_user.secret
    client = Client()
    login(client, user.email, PASSWORD)

    # When they enter the code their app shows
    response = client.post(MFA_AUTHENTICATE_URL, {"code": totp_code(secret, now)})

    # Then the login completes and the dashboard opens
    assert response.status_code == 302
    assert response["Location"] == DASHBOARD_URL
    assert is_authenticated(client)


def test_a_totp_code_cannot_be_replayed(totp_user, now):
    # Given a user who just completed login with a code
    user, secret = totp_user.user, totp_user.secret
    code = totp_code(secret, now)
    first = Client()
    login(first, user.email, PASSWORD)
    first.post(MFA_AUTHENTICATE_URL, {"code": code})

    # When someone else replays the same code within its validity window
    second = Client()
    login(second, user.email, PASSWORD)
    response = second.post(MFA_AUTHENTICATE_URL, {"code": code})

    # Then it is refused
    assert response.status_code == 200
    assert response.context["form"].errors["code"] == ["Incorrect code."]
    assert not is_authenticated(second)


def test_a_recovery_code_completes_login_once(totp_user):
    # Given a user with TOTP on who lost their phone but kept the recovery codes
    user, recovery_code = totp_user.user, totp_user.recovery_codes[0]

    # When they sign in with one recovery code, and later try the same code again
    client = Client()
    login(client, user.email, PASSWORD)
    first = client.post(MFA_AUTHENTICATE_URL, {"code": recovery_code})
    again = Client()
    login(again, user.email, PASSWORD)
    second = again.post(MFA_AUTHENTICATE_URL, {"code": recovery_code})

    # Then the first use signs them in and the second is refused
    assert first["Location"] == DASHBOARD_URL
    assert second.status_code == 200
    assert second.context["form"].errors["code"] == ["Incorrect code."]
    assert not is_authenticated(again)


def test_two_factor_step_is_not_reachable_without_the_password_step(totp_user):
    # Given a visitor who has not entered any password
    client = Client()

    # When they open the code step directly
    response = client.get(MFA_AUTHENTICATE_URL)

    # Then they are sent back to the sign-in page
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)


def test_two_factor_overview_shows_totp_as_active(totp_user, now):
    # Given a user with TOTP on, fully signed in
    client = sign_in_with_totp(totp_user, now)

    # When they open the two-factor overview
    response = client.get(MFA_INDEX_URL)

    # Then it reports the authenticator app as active
    assert response.status_code == 200
    assert response.context["authenticators"]["totp"] is not None
