"""Sign-up with e-mail and password, and the mandatory e-mail verification that gates the portal."""

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from tests.accounts.helpers import (
    DASHBOARD_URL,
    LOGIN_URL,
    NEW_PASSWORD,
    SIGNUP_URL,
    is_authenticated,
    link_path,
    login,
    sent_to,
)
from tests.factories import PASSWORD, UserFactory

User = get_user_model()

pytestmark = pytest.mark.django_db

NEW_EMAIL = "ada@example.com"


def sign_up(client: Client, email: str = NEW_EMAIL, password1: str = NEW_PASSWORD, password2: str | None = None):
    return client.post(SIGNUP_URL, {
        "email": email,
        "password1": password1,
        "password2": password1 if password2 is None else password2,
    })


def test_signup_creates_an_unverified_account_and_sends_a_verification_email():
    # Given a visitor on the sign-up page
    client = Client()

    # When they sign up with an e-mail address and a good password
    response = sign_up(client)

    # Then they are told to check their inbox, an unverified account exists and one confirmation e-mail was sent
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get(email=NEW_EMAIL)
    assert not EmailAddress.objects.get(user=user, email=NEW_EMAIL).verified
    messages = sent_to(NEW_EMAIL)
    assert len(messages) == 1
    assert messages[0].subject.startswith("[TideGrid] ")
    assert "/accounts/confirm-email/" in link_path(messages[0])


def test_unverified_user_is_kept_out_of_the_dashboard_after_signup():
    # Given a visitor who has just signed up but not clicked the link
    client = Client()
    sign_up(client)

    # When they open the dashboard
    response = client.get(DASHBOARD_URL)

    # Then they are sent to the sign-in page instead
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN_URL)


def test_unverified_user_cannot_sign_in_with_the_right_password():
    # Given an account whose e-mail has not been verified yet
    sign_up(Client())
    client = Client()

    # When its owner signs in with the correct password
    response = login(client, NEW_EMAIL, NEW_PASSWORD)

    # Then allauth holds them at "verify your e-mail" and the dashboard stays closed
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert not is_authenticated(client)


def test_confirmation_page_asks_before_verifying():
    # Given a new account and its confirmation e-mail
    client = Client()
    sign_up(client)
    confirm_path = link_path(sent_to(NEW_EMAIL)[0])

    # When the link is merely opened (GET; ACCOUNT_CONFIRM_EMAIL_ON_GET is off)
    response = client.get(confirm_path)

    # Then a confirmation form is shown and nothing is verified yet
    assert response.status_code == 200
    assert f'action="{confirm_path}"' in response.content.decode()
    assert not EmailAddress.objects.get(email=NEW_EMAIL).verified
    assert not is_authenticated(client)


def test_confirming_the_email_verifies_it_and_signs_the_user_in_to_the_empty_dashboard():
    # Given a new account and the confirmation page opened from its e-mail
    client = Client()
    sign_up(client)
    confirm_path = link_path(sent_to(NEW_EMAIL)[0])
    client.get(confirm_path)

    # When the user confirms (POST)
    response = client.post(confirm_path)

    # Then the address is verified, they are signed in and land on the dashboard's "create an organization" state
    assert response.status_code == 302
    assert response["Location"] == DASHBOARD_URL
    assert EmailAddress.objects.get(email=NEW_EMAIL).verified
    dashboard = client.get(DASHBOARD_URL)
    assert dashboard.status_code == 200
    assert "portal/dashboard_no_org.html" in [t.name for t in dashboard.templates]
    html = dashboard.content.decode()
    assert "Create an organization" in html
    assert f'href="{reverse("tenancy:organization_create")}"' in html


def test_confirming_in_another_browser_verifies_but_does_not_sign_in():
    # Given a new account whose confirmation link is opened in a different browser (no sign-up session)
    sign_up(Client())
    confirm_path = link_path(sent_to(NEW_EMAIL)[0])
    other_browser = Client()
    other_browser.get(confirm_path)

    # When the link is confirmed there
    response = other_browser.post(confirm_path)

    # Then the address is verified but the user still has to sign in with their password
    assert response.status_code == 302
    assert response["Location"] == LOGIN_URL
    assert EmailAddress.objects.get(email=NEW_EMAIL).verified
    assert not is_authenticated(other_browser)
    assert login(other_browser, NEW_EMAIL, NEW_PASSWORD)["Location"] == DASHBOARD_URL


@pytest.mark.parametrize(
    ("email", "password1", "password2", "field"),
    [
        pytest.param("not-an-email", NEW_PASSWORD, NEW_PASSWORD, "email", id="invalid-email"),
        pytest.param(NEW_EMAIL, NEW_PASSWORD, "tidal-wave-over-the-grid-43", "password2", id="mismatched-passwords"),
        pytest.param(NEW_EMAIL, "short1x", "short1x", "password1", id="too-short-password"),
        pytest.param(NEW_EMAIL, "password123", "password123", "password1", id="common-password"),
        pytest.param(NEW_EMAIL, "8302749163", "8302749163", "password1", id="numeric-password"),
        pytest.param("", NEW_PASSWORD, NEW_PASSWORD, "email", id="missing-email"),
    ],
)
def test_signup_with_bad_input_rerenders_the_form_with_field_errors(email, password1, password2, field):
    # Given a visitor on the sign-up page
    client = Client()

    # When they submit bad input
    response = sign_up(client, email=email, password1=password1, password2=password2)

    # Then the form comes back with an error on the offending field, and no account or e-mail is created
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert field in errors, errors
    assert escape(errors[field][0]) in response.content.decode()
    assert not User.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize("typed", ["taken@example.com", "Taken@Example.COM"], ids=["same-case", "other-case"])
def test_signup_with_a_registered_email_creates_no_account_and_warns_the_owner(typed):
    # Given an existing account
    owner = UserFactory(email="taken@example.com")

    # When someone signs up again with that address (in any letter case)
    client = Client()
    response = sign_up(client, email=typed)

    # Then no second account is created; to avoid revealing which addresses are registered, allauth answers
    # exactly like a successful sign-up and e-mails the real owner instead of showing a form error
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1
    assert not is_authenticated(client)
    messages = sent_to(owner.email)
    assert len(messages) == 1
    assert "Account Already Exists" in messages[0].subject
    assert login(Client(), owner.email, PASSWORD)["Location"] == DASHBOARD_URL
