"""The booking estimate: "you pay X, the voucher pays Y" per hour, and where the voucher counts."""

from datetime import date

import pytest

from tests.vouchers.conftest import make_enterprise, make_grant, make_program

pytestmark = pytest.mark.django_db


def test_the_estimate_splits_the_hourly_price_and_names_the_eligible_regions(gov, enterprise, api_as):
    program = make_program(gov)  # 50 % in the grant's first year
    grant = make_grant(program, enterprise, starts_on=date(2026, 6, 1))
    client = api_as(enterprise.member)
    url = f"/api/v1/organizations/{enterprise.organization.pk}/voucher-estimate/"
    response = client.get(url, {"accelerator_model": "nvidia-t4", "region": "cn-shanghai", "gpu_count": 1})
    assert response.status_code == 200, response.content
    body = response.json()
    # a whole T4 at ¥2.10/h: the voucher pays 50 % = ¥1.05, the customer ¥1.05
    assert (body["hourly"], body["voucher_hourly"], body["you_pay_hourly"]) == ("2.100000", "1.050000", "1.050000")
    assert body["grant"] == str(grant.pk) and body["eligible_regions"] == ["cn-shanghai"]
    # outside the jurisdiction the voucher pays nothing, and says why
    response = client.get(url, {"accelerator_model": "nvidia-t4", "region": "cn-ulanqab", "gpu_count": 1})
    body = response.json()
    assert response.status_code == 200 and body["voucher_hourly"] == "0.000000"
    assert body["refused"][0]["code"] == "region"


def test_estimate_input_errors_and_tenancy(gov, api_as):
    firm = make_enterprise("No Vouchers", 51)
    client = api_as(firm.member)
    url = f"/api/v1/organizations/{firm.organization.pk}/voucher-estimate/"
    assert client.get(url, {"accelerator_model": "nope", "region": "cn-shanghai"}).status_code == 400
    assert client.get(url, {"accelerator_model": "nvidia-t4", "region": "cn-shanghai",
                            "gpu_count": "many"}).status_code == 400
    body = client.get(url, {"accelerator_model": "nvidia-t4", "region": "cn-shanghai", "gpu_count": 1}).json()
    assert body["voucher_hourly"] == "0.000000" and body["grant"] is None
    assert api_as(gov.owner).get(url, {"accelerator_model": "nvidia-t4", "region": "cn-shanghai"}).status_code \
        == 404
