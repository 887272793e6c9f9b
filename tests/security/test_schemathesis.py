"""A bounded schemathesis run over the REST API's OpenAPI schema (issue 10 acceptance): a few generated
requests per operation, sent through the WSGI application as a customer organization's admin API key, with
the customer's own organization id in the paths. No answer may be a 5xx, and every answer (status code,
content type, headers, body) must match the schema.

The schema is drf-spectacular's, generated at collection (the same document /api/v1/schema/ serves);
schemathesis's fixture-based lazy loader is not usable with pytest 9.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis import checks

from apps.tenancy.models import Role
from apps.tenancy.services import api_key_create
from tests.conftest import make_tenant
from tests.ledger import conftest as ledger_fixtures

# Card payments configured against a real localstripe server (tests/ledger/conftest.py): top-ups and refunds
# answer as in production instead of 503 "not configured".
localstripe_url = ledger_fixtures.localstripe_url
stripe_on = ledger_fixtures.stripe_on

# What the acceptance asks: no 5xx, and every answer as documented. (Business rules legitimately refuse
# schema-valid input with a 400, so positive_data_acceptance does not apply.)
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_headers_conformance, checks.response_schema_conformance]

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = get_wsgi_application()


@pytest.fixture
def customer_api(db, stripe_on):
    """(organization id, admin API key) of a fresh customer organization. Requests run inside this test's
    transaction, so Django must not close the connection after each one (django.test.Client does the same)."""
    tenant = make_tenant(name="Schemathesis Customer")
    _key, plaintext = api_key_create(actor=tenant.actor("owner"), organization=tenant.organization,
                                     name="schemathesis", role=Role.ADMIN)
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield str(tenant.organization.pk), plaintext
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=3, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
def test_the_api_never_answers_5xx_and_matches_its_schema(case, customer_api):
    organization_id, key = customer_api
    if "organization_id" in (case.path_parameters or {}):
        case.path_parameters["organization_id"] = organization_id
    case.call_and_validate(headers={"Authorization": f"Api-Key {key}"}, checks=CHECKS)
