"""Password reset by e-mailed link."""

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from tests.accounts.helpers import (
    DASHBOARD_URL,
    NEW_PASSWORD,
    PASSWORD_RESET_URL,
    is_authenticated,
    link_path,
    login,
    sent_to,
)
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def request_reset(client: Client, email: str):
    return client.post(PASSWORD_RESET_URL, {"email": email})


def open_reset_form(client: Client, email: str) -> str:
    """Follow the e-mailed link; allauth moves the token into the session and redirects to the form."""
    response = client.get(link_path(sent_to(email)[-1]))
    assert response.status_code == 302
    form_url = response["Location"]
    assert client.get(form_url).status_code == 200
    return form_url


def test_reset_request_sends_an_email_with_a_reset_link():
    # Given a verified user who forgot their password
    user = UserFactory()
    client = Client()

    # When they ask for a reset
    response = request_reset(client, user.email)

    # Then they are told to check their inbox, and the e-mail holds a reset link
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")
    messages = sent_to(user.email)
    assert len(messages) == 1
    assert messages[0].subject.startswith("[TideGrid] ")
    assert link_path(messages[0]).startswith("/accounts/password/reset/key/")


def test_reset_request_for_an_unknown_email_looks_the_same_and_sends_nothing_useful():
    # Given no account for an address
    client = Client()

    # When someone asks for a reset for it
    response = request_reset(client, "ghost@example.com")

    # Then the answer is the same as for a real account, and no reset link is sent anywhere
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")
    assert all("/accounts/password/reset/key/" not in m.body for m in mail.outbox)


def test_following_the_link_and_setting_a_new_password_replaces_the_old_one():
    # Given a user who requested a reset and opened the link
    user = UserFactory()
    client = Client()
    request_reset(client, user.email)
    form_url = open_reset_form(client, user.email)

    # When they choose a new password
    response = client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    # Then the reset succeeds: the new password signs in, the old one no longer does
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_from_key_done")
    old = Client()
    assert login(old, user.email, PASSWORD).status_code == 200
    assert not is_authenticated(old)
    new = Client()
    assert login(new, user.email, NEW_PASSWORD)["Location"] == DASHBOARD_URL
    assert is_authenticated(new)


def test_reset_link_cannot_be_used_twice():
    # Given a user who already reset their password with an e-mailed link
    user = UserFactory()
    client = Client()
    request_reset(client, user.email)
    link = link_path(sent_to(user.email)[-1])
    form_url = open_reset_form(client, user.email)
    client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    # When the same link is opened again (say, by someone who got hold of the e-mail)
    attacker = Client()
    response = attacker.get(link, follow=True)

    # Then the token is rejected and no password form is offered
    assert response.status_code == 200
    assert response.context["token_fail"] is True
    assert login(Client(), user.email, NEW_PASSWORD)["Location"] == DASHBOARD_URL


def test_reset_form_rejects_mismatched_passwords():
    # Given a user on the reset form
    user = UserFactory()
    client = Client()
    request_reset(client, user.email)
    form_url = open_reset_form(client, user.email)

    # When they type two different passwords
    response = client.post(form_url, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD + "x"})

    # Then the form comes back with an error and the old password still works
    assert response.status_code == 200
    assert "password2" in response.context["form"].errors
    assert login(Client(), user.email, PASSWORD)["Location"] == DASHBOARD_URL
