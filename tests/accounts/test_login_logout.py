"""Signing in with e-mail and password, and signing out."""

import re

import pytest
from django.test import Client

from tests.accounts.helpers import DASHBOARD_URL, LOGIN_URL, LOGOUT_URL, is_authenticated, login, main_content
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_login_with_correct_credentials_signs_in_and_redirects_to_dashboard():
    # Given a verified user
    user = UserFactory()
    client = Client()

    # When they sign in with their e-mail and password
    response = login(client, user.email, PASSWORD)

    # Then they are sent to the dashboard, which now opens
    assert response.status_code == 302
    assert response["Location"] == DASHBOARD_URL
    assert is_authenticated(client)


def test_login_email_is_case_insensitive():
    # Given a verified user
    user = UserFactory(email="grace@example.com")
    client = Client()

    # When they type their address in another letter case
    response = login(client, "Grace@Example.COM", PASSWORD)

    # Then they are still signed in
    assert response["Location"] == DASHBOARD_URL
    assert is_authenticated(client)
    assert client.session["_auth_user_id"] == str(user.pk)


def test_login_honours_a_safe_next_url():
    # Given a user who was bounced from a protected page to the sign-in page
    user = UserFactory()
    client = Client()
    bounced = client.get(DASHBOARD_URL)
    assert bounced["Location"] == f"{LOGIN_URL}?next={DASHBOARD_URL}"

    # When they sign in from there
    response = client.post(bounced["Location"], {"login": user.email, "password": PASSWORD})

    # Then they go back to the page they wanted
    assert response["Location"] == DASHBOARD_URL


def test_login_ignores_an_offsite_next_url():
    # Given a sign-in link that tries to send the user to another site afterwards
    user = UserFactory()
    client = Client()

    # When they sign in through it
    response = client.post(f"{LOGIN_URL}?next=https://evil.example/steal",
                           {"login": user.email, "password": PASSWORD})

    # Then they land on the TideGrid dashboard, not the foreign site
    assert response.status_code == 302
    assert response["Location"] == DASHBOARD_URL


def test_login_with_wrong_password_is_refused_with_a_form_error():
    # Given a verified user
    user = UserFactory()
    client = Client()

    # When someone signs in with the wrong password
    response = login(client, user.email, "not-the-password")

    # Then the form is shown again with an error and nobody is signed in
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "The email address and/or password you specified are not correct."
    ]
    assert not is_authenticated(client)


def test_login_for_an_unknown_email_gives_the_same_error_as_a_wrong_password():
    # Given no account for an address
    client = Client()

    # When someone tries to sign in with it
    response = login(client, "nobody@example.com", PASSWORD)

    # Then the error does not reveal whether the account exists
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        "The email address and/or password you specified are not correct."
    ]


def test_inactive_user_cannot_sign_in():
    # Given a user whose account was deactivated
    user = UserFactory(is_active=False)
    client = Client()

    # When they sign in with the right password
    login(client, user.email, PASSWORD)

    # Then the portal stays closed
    assert not is_authenticated(client)


def test_logout_by_post_signs_the_user_out():
    # Given a signed-in user
    user = UserFactory()
    client = Client()
    login(client, user.email, PASSWORD)

    # When they sign out (POST, as the topbar form does)
    response = client.post(LOGOUT_URL)

    # Then they are redirected away and the dashboard requires signing in again
    assert response.status_code == 302
    assert not is_authenticated(client)
    assert client.get(DASHBOARD_URL)["Location"].startswith(LOGIN_URL)


def test_logout_by_get_only_asks_for_confirmation():
    # Given a signed-in user
    user = UserFactory()
    client = Client()
    login(client, user.email, PASSWORD)

    # When a page merely links to the logout URL (GET)
    response = client.get(LOGOUT_URL)

    # Then a confirmation form is shown and the user is still signed in (no CSRF-able logout)
    assert response.status_code == 200
    assert re.search(rf'<form[^>]*method="post"[^>]*action="{LOGOUT_URL}"', main_content(response.content.decode()))
    assert is_authenticated(client)
