"""Login rate limits (ACCOUNT_RATE_LIMITS, counted in the Redis cache).

How allauth answers, read from allauth/account/adapter.py and allauth/core/internal/ratelimit.py:
* "login_failed" (per IP and per e-mail key) is consumed in ``pre_authenticate`` before the password is looked
  at; once used up, the login form is re-rendered (HTTP 200) with "Too many failed login attempts. Try again
  later." — not a 429. A successful login rolls its own consumption back, so only failures count.
* "login" (every POST to the login view, per IP) is a view decorator; past it allauth answers HTTP 429.

The "key" of the per-key limit is the e-mail address AND the client address (apps/accounts/adapter.py): a
source that failed too often on an account is refused there, the owner elsewhere is not. The limits are read
from settings, so the tests follow the configuration (TIDEGRID_LOGIN_FAILED_LIMIT).
"""

from collections.abc import Iterator
from http import HTTPStatus
from itertools import count, islice

import pytest
from django.test import Client

from tests.accounts.helpers import (
    DASHBOARD_URL,
    LOGIN_URL,
    NEW_PASSWORD,
    PASSWORD_RESET_URL,
    configured_rate,
    is_authenticated,
    link_path,
    login,
    sent_to,
)
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOO_MANY = "Too many failed login attempts. Try again later."
WRONG = "The email address and/or password you specified are not correct."
ATTACKER_IP = "198.51.100.7"
OTHER_IP = "203.0.113.9"


def botnet() -> Iterator[Client]:
    """Browsers at ever new addresses (10.0.0.0/8), so per-IP limits never trigger."""
    for n in count(1):
        yield Client(REMOTE_ADDR=f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}")


def fail_login(client: Client, email: str) -> None:
    response = login(client, email, "not-the-password")
    assert response.context["form"].non_field_errors() == [WRONG]


def lock_account(email: str) -> Client:
    """Fail as many logins for `email` from one address as the per-(account, address) limit allows.

    Returns that browser."""
    browser = Client(REMOTE_ADDR=ATTACKER_IP)
    for _ in range(configured_rate("login_failed", "key").amount):
        fail_login(browser, email)
    return browser


def test_a_source_is_refused_on_an_account_after_the_configured_number_of_failed_logins():
    # Given an address that has just failed as many logins on one account as the per-key limit allows
    victim = UserFactory()
    attacker = lock_account(victim.email)

    # When the right password is tried next from that address
    response = login(attacker, victim.email, PASSWORD)

    # Then the attempt is refused with allauth's "too many attempts" form error (a 200 re-render, not a 429)
    assert response.status_code == HTTPStatus.OK
    assert response.context["form"].non_field_errors() == [TOO_MANY]
    assert not is_authenticated(attacker)


def test_failed_logins_from_elsewhere_never_lock_the_owner_out():
    # Given an account that has seen many failed logins from many addresses, and one address refused on it
    victim = UserFactory()
    lock_account(victim.email)
    for browser in islice(botnet(), 2 * configured_rate("login_failed", "key").amount):
        fail_login(browser, victim.email)

    # When its owner signs in with the right password from their own address
    client = Client(REMOTE_ADDR=OTHER_IP)
    response = login(client, victim.email, PASSWORD)

    # Then they get in (slowed down by the progressive delay, not locked out)
    assert response["Location"] == DASHBOARD_URL
    assert is_authenticated(client)


def test_account_is_not_locked_one_failure_before_the_limit():
    # Given an account one failed login short of the per-account limit
    per_key = configured_rate("login_failed", "key")
    victim = UserFactory()
    for browser in islice(botnet(), per_key.amount - 1):
        fail_login(browser, victim.email)

    # When the right password is tried
    client = Client(REMOTE_ADDR=OTHER_IP)
    response = login(client, victim.email, PASSWORD)

    # Then the owner gets in
    assert response["Location"] == DASHBOARD_URL


def test_failed_login_lock_does_not_affect_other_accounts():
    # Given one account locked by failed logins
    victim, bystander = UserFactory(), UserFactory()
    attacker = lock_account(victim.email)

    # When another account signs in correctly, even from the browser that made the last failed attempt
    response = login(attacker, bystander.email, PASSWORD)

    # Then it gets in
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == DASHBOARD_URL
    assert is_authenticated(attacker)


def test_successful_logins_do_not_count_towards_the_failed_login_limit():
    # Given an account one failure short of its lock, that then signs in successfully as often as the limit
    per_key = configured_rate("login_failed", "key")
    user = UserFactory()
    browsers = botnet()
    for _ in range(per_key.amount - 1):
        fail_login(next(browsers), user.email)
    for _ in range(per_key.amount):
        assert login(next(browsers), user.email, PASSWORD)["Location"] == DASHBOARD_URL

    # When the right password is tried once more
    response = login(next(browsers), user.email, PASSWORD)

    # Then it still works: only failures are counted
    assert response["Location"] == DASHBOARD_URL


def test_failed_logins_spread_over_many_accounts_lock_out_the_ip():
    # Given one address that has failed as many logins as the per-IP limit allows, each on a different account
    per_ip = configured_rate("login_failed", "ip")
    attacker = Client(REMOTE_ADDR=ATTACKER_IP)
    for _ in range(per_ip.amount):
        fail_login(attacker, UserFactory().email)
    fresh = UserFactory()

    # When that address tries a correct password for yet another account
    response = login(attacker, fresh.email, PASSWORD)

    # Then it is refused
    assert response.status_code == HTTPStatus.OK
    assert response.context["form"].non_field_errors() == [TOO_MANY]
    assert not is_authenticated(attacker)


def test_ip_lockout_does_not_affect_other_addresses():
    # Given one address locked out by failed logins on many accounts
    per_ip = configured_rate("login_failed", "ip")
    attacker = Client(REMOTE_ADDR=ATTACKER_IP)
    for _ in range(per_ip.amount):
        fail_login(attacker, UserFactory().email)
    user = UserFactory()

    # When a user signs in from another address
    response = login(Client(REMOTE_ADDR=OTHER_IP), user.email, PASSWORD)

    # Then they get in
    assert response["Location"] == DASHBOARD_URL


def test_login_posts_beyond_the_per_ip_request_rate_get_http_429():
    # Given one address that has posted to the login view as often as the "login" rate allows
    per_ip = configured_rate("login", "ip")
    user = UserFactory()
    client = Client(REMOTE_ADDR=ATTACKER_IP)
    for _ in range(per_ip.amount):
        assert client.post(LOGIN_URL, {"login": "", "password": ""}).status_code == HTTPStatus.OK

    # When it posts once more, even with correct credentials
    response = login(client, user.email, PASSWORD)

    # Then allauth answers 429 Too Many Requests and does not sign in
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert not is_authenticated(client)


def test_http_429_for_one_address_does_not_affect_others():
    # Given one address that has used up the "login" request rate
    per_ip = configured_rate("login", "ip")
    user = UserFactory()
    client = Client(REMOTE_ADDR=ATTACKER_IP)
    for _ in range(per_ip.amount + 1):
        client.post(LOGIN_URL, {"login": "", "password": ""})

    # When a user signs in from another address
    response = login(Client(REMOTE_ADDR=OTHER_IP), user.email, PASSWORD)

    # Then they get in
    assert response["Location"] == DASHBOARD_URL


def test_resetting_the_password_lifts_the_failed_login_lock():
    # Given an account locked by failed logins
    victim = UserFactory()
    lock_account(victim.email)

    # When its owner resets the password through the e-mailed link and signs in with the new one, from the
    # address that was refused
    owner = Client(REMOTE_ADDR=ATTACKER_IP)
    owner.post(PASSWORD_RESET_URL, {"email": victim.email})
    form_url = owner.get(link_path(sent_to(victim.email)[-1]))["Location"]
    owner.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    response = login(owner, victim.email, NEW_PASSWORD)

    # Then they get in straight away
    assert response["Location"] == DASHBOARD_URL
    assert is_authenticated(owner)
