"""The allauth pages render inside the TideGrid portal layout, in English and in Simplified Chinese."""

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.conf import settings
from django.test import Client
from django.urls import reverse

from tests.accounts.helpers import (
    LOGIN_URL,
    MFA_AUTHENTICATE_URL,
    MFA_INDEX_URL,
    PASSWORD_RESET_URL,
    REAUTHENTICATE_URL,
    SIGNUP_URL,
    TOTP_ACTIVATE_URL,
    login,
    main_content,
)
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

SET_LANGUAGE_URL = reverse("set_language")


def open_login(client: Client):
    return client.get(LOGIN_URL)


def open_signup(client: Client):
    return client.get(SIGNUP_URL)


def open_password_reset(client: Client):
    return client.get(PASSWORD_RESET_URL)


def open_verification_sent(client: Client):
    return client.get(reverse("account_email_verification_sent"))


def open_two_factor_step(client: Client):
    user = UserFactory()
    TOTP.activate(user, generate_totp_secret())  # activation itself is covered in test_two_factor.py
    assert login(client, user.email, PASSWORD)["Location"] == MFA_AUTHENTICATE_URL
    return client.get(MFA_AUTHENTICATE_URL)


def open_two_factor_overview(client: Client):
    login(client, UserFactory().email, PASSWORD)
    return client.get(MFA_INDEX_URL)


def open_reauthenticate(client: Client):
    login(client, UserFactory().email, PASSWORD)
    return client.get(client.get(TOTP_ACTIVATE_URL)["Location"])


def open_totp_activation(client: Client):
    login(client, UserFactory().email, PASSWORD)
    client.post(f"{REAUTHENTICATE_URL}?next={TOTP_ACTIVATE_URL}", {"password": PASSWORD})
    return client.get(TOTP_ACTIVATE_URL)


@dataclass(frozen=True)
class Page:
    open: Callable[[Client], object]
    english: str  # a heading from allauth's own templates
    chinese: str  # the same heading in allauth's zh_Hans catalogue


PAGES = {
    "login": Page(open_login, "Sign In", "登录"),
    "signup": Page(open_signup, "Sign Up", "注册"),
    "password-reset": Page(open_password_reset, "Password Reset", "密码重置"),
    "verification-sent": Page(open_verification_sent, "Verify Your Email Address", "验证您的Email地址"),
    "2fa-step": Page(open_two_factor_step, "Two-Factor Authentication", "双因素身份认证"),
    "2fa-overview": Page(open_two_factor_overview, "Two-Factor Authentication", "双因素身份认证"),
    "reauthenticate": Page(open_reauthenticate, "Confirm Access", "确认访问"),
    "totp-activate": Page(open_totp_activation, "Activate Authenticator App", "激活身份验证器应用"),
}


def assert_portal_layout(html: str) -> None:
    """The markers of templates/base.html: brand, language switcher, main content area, title suffix."""
    assert re.search(r'<a class="brand" href="/">.*TideGrid', html), "TideGrid brand missing"
    assert re.search(rf'<form action="{SET_LANGUAGE_URL}" method="post" class="lang-switch">', html), \
        "language switcher missing"
    for code, _name in settings.LANGUAGES:
        assert f'name="language" value="{code}"' in html
    assert '<main class="content' in html
    assert re.search(r"<title>.*· TideGrid</title>", html, re.S)


@pytest.mark.parametrize("page", PAGES.values(), ids=PAGES.keys())
def test_allauth_page_renders_inside_the_portal_layout_in_english(page):
    # Given a browser with no language preference
    client = Client()

    # When it opens the allauth page
    response = page.open(client)

    # Then the page is in the portal layout, marked as English, with allauth's English text in the main area
    assert response.status_code == 200
    html = response.content.decode()
    assert_portal_layout(html)
    assert '<html lang="en">' in html
    assert page.english in main_content(html)
    assert page.chinese not in html


@pytest.mark.parametrize("page", PAGES.values(), ids=PAGES.keys())
def test_allauth_page_renders_inside_the_portal_layout_in_chinese(page):
    # Given a browser whose language cookie is Simplified Chinese
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    # When it opens the allauth page
    response = page.open(client)

    # Then the page is in the portal layout, marked as Chinese, with allauth's own Chinese translation
    assert response.status_code == 200
    html = response.content.decode()
    assert_portal_layout(html)
    assert '<html lang="zh-hans">' in html
    assert page.chinese in main_content(html)
    assert page.english not in main_content(html)


def test_language_switcher_turns_the_login_page_chinese_and_back():
    # Given a visitor on the English login page
    client = Client()
    assert "登录" not in client.get(LOGIN_URL).content.decode()

    # When they pick 简体中文 in the topbar switcher, then English again
    to_chinese = client.post(SET_LANGUAGE_URL, {"language": "zh-hans", "next": LOGIN_URL})
    chinese = client.get(LOGIN_URL).content.decode()
    to_english = client.post(SET_LANGUAGE_URL, {"language": "en", "next": LOGIN_URL})
    english = client.get(LOGIN_URL).content.decode()

    # Then each choice redirects back to the login page, which follows the choice
    assert to_chinese.status_code == to_english.status_code == 302
    assert to_chinese["Location"] == to_english["Location"] == LOGIN_URL
    assert "登录" in main_content(chinese)
    assert '<html lang="zh-hans">' in chinese
    assert "登录" not in english
    assert "Sign In" in main_content(english)


def test_login_form_errors_are_translated_for_chinese_visitors():
    # Given a Chinese-speaking visitor and an existing account
    user = UserFactory()
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"

    # When they sign in with a wrong password
    response = login(client, user.email, "not-the-password")

    # Then allauth's error message comes in Chinese
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["您提供的电子邮件地址和/或密码不正确。"]
    assert "您提供的电子邮件地址和/或密码不正确。" in main_content(response.content.decode())
