"""Voucher tenancy: an operator of jurisdiction A gets 404 for B's programmes and applications; customers
see only their own applications and grants; pages answer 404 the same way."""

import pytest

from apps.vouchers.models import Program
from tests.vouchers.conftest import make_enterprise, make_government, make_grant, make_program

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_worlds(db):
    shanghai = make_government("Shanghai", ["cn-shanghai"])
    beijing = make_government("Beijing", ["cn-beijing"])
    program_b = make_program(beijing, name="Beijing vouchers")
    firm = make_enterprise("Beijing Firm", 31, region_code="cn-beijing")
    rival = make_enterprise("Rival Firm", 32, region_code="cn-beijing")
    grant = make_grant(program_b, firm)
    return shanghai, beijing, program_b, firm, rival, grant


def test_an_operator_of_a_cannot_see_or_act_on_bs_programmes(two_worlds, api_as):
    shanghai, beijing, program_b, _firm, _rival, grant = two_worlds
    client = api_as(shanghai.owner)
    own = f"/api/v1/organizations/{shanghai.organization.pk}/"
    assert client.get(own + "voucher-programs/").json()["results"] == []
    assert client.get(own + f"voucher-programs/{program_b.pk}/").status_code == 404
    for suffix, body in (("transition/", {"action": "kill", "reason": "x"}),
                         ("versions/", {"effective_from": "2030-01-01T00:00:00Z", "taper_basis": "grant_age",
                                        "steps": [{"rate_bp": 1, "starts_after_months": 0}]}),
                         ("versions/1/publish/", {})):
        assert client.post(own + f"voucher-programs/{program_b.pk}/{suffix}", body, format="json").status_code == 404
    # through B's organization path: not a member → 404
    theirs = f"/api/v1/organizations/{beijing.organization.pk}/"
    assert client.get(theirs + "voucher-programs/").status_code == 404
    assert client.get(theirs + f"voucher-programs/{program_b.pk}/").status_code == 404
    application = grant.application
    assert client.get(own + f"voucher-applications/{application.pk}/").status_code == 404
    assert client.post(own + f"voucher-applications/{application.pk}/decision/",
                       {"decision": "reject", "reason": "x"}, format="json").status_code == 404
    program_b.refresh_from_db()
    assert program_b.killed_at is None and program_b.state == Program.State.OPEN


def test_customers_see_only_their_own_applications_and_grants(two_worlds, api_as):
    _shanghai, _beijing, _program_b, firm, rival, grant = two_worlds
    client = api_as(rival.owner)
    own = f"/api/v1/organizations/{rival.organization.pk}/"
    assert client.get(own + "voucher-grants/").json() == []
    assert client.get(own + "voucher-applications/").json()["results"] == []
    assert client.get(own + f"voucher-applications/{grant.application.pk}/").status_code == 404
    assert client.get(f"/api/v1/organizations/{firm.organization.pk}/voucher-grants/").status_code == 404
    # a customer cannot decide anything, even on its own application
    mine = f"/api/v1/organizations/{firm.organization.pk}/"
    assert api_as(firm.owner).post(mine + f"voucher-applications/{grant.application.pk}/decision/",
                                   {"decision": "approve", "reason": "me"}, format="json").status_code == 404
    # customers do not reach the programme management endpoints
    assert api_as(firm.owner).get(mine + "voucher-programs/").status_code == 404


def test_pages_answer_404_across_tenants(two_worlds, as_user):
    shanghai, _beijing, program_b, _firm, rival, grant = two_worlds
    client = as_user(shanghai.owner, shanghai.organization)
    assert client.get(f"/vouchers/programs/{program_b.pk}/").status_code == 404
    response = client.post(f"/vouchers/programs/{program_b.pk}/action/", {"action": "kill", "reason": "x"})
    assert response.status_code == 404
    assert client.get(f"/vouchers/applications/{grant.application.pk}/").status_code == 404
    client = as_user(rival.owner, rival.organization)
    assert client.get(f"/vouchers/applications/{grant.application.pk}/").status_code == 404
    assert client.get(f"/vouchers/programs/{program_b.pk}/").status_code == 404
