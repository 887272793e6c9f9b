"""The portal under the production Content-Security-Policy, in Chromium: the policy production sends
(tests/security/test_csp.py reads it from the production settings) is put on every live-server response,
and the customer's pages load and work without a single violation."""

from __future__ import annotations

import contextlib

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from apps.ledger.services import fen_display
from tests.conftest import make_tenant
from tests.ledger.test_browser import _sign_in
from tests.ledger.test_pages import fund
from tests.security.test_csp import production_responses

pytestmark = pytest.mark.django_db(transaction=True)

VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation",
    (e) => window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


def test_customer_pages_raise_no_csp_violations_and_the_portal_scripts_work(page: Page, live_server):
    answers = production_responses()
    policy, docs_policy = answers["/accounts/login/"]["csp"], answers["/api/v1/docs/"]["csp"]
    customer = make_tenant(name="Strict Policy Ltd")
    fund(customer.organization, 20_000)

    def with_policy(route):
        """What production's CSPMiddleware does (the live server runs the test settings, without it)."""
        header = docs_policy if "/api/v1/docs/" in route.request.url else policy
        with contextlib.suppress(PlaywrightError):  # a request the page abandoned while navigating on
            response = route.fetch()
            route.fulfill(response=response, headers={**response.headers, "content-security-policy": header})

    page.route(f"{live_server.url}/**", with_policy)
    page.add_init_script(VIOLATIONS)
    console = []
    page.on("console", lambda message: console.append(message.text))
    _sign_in(page, live_server, customer.owner, customer.organization)

    for path in ("/", "/wallet/", "/wallet/payments/", "/market/", "/workloads/", "/workloads/new/",
                 "/billing/usage/", "/organization/", "/organization/members/", "/organization/api-keys/",
                 "/api/v1/docs/"):
        page.goto(path)
        page.wait_for_load_state("load")
        assert page.evaluate("window.__cspViolations") == [], path

    # data-autosubmit (static/js/portal.js, formerly an inline onchange): choosing a kind filters the list.
    page.goto("/wallet/transactions/")
    page.select_option("#kind", "top_up")
    page.wait_for_url("**kind=top_up**")
    expect(page.get_by_text(fen_display(20_000)).first).to_be_visible()
    assert page.evaluate("window.__cspViolations") == []
    assert not [text for text in console if "Content Security Policy" in text]
